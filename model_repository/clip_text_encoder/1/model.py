"""Triton python-backend model: CLIP text embeddings (L2-normalised) for free-text queries.

Dynamic batching hands ``execute`` several requests: their texts are tokenised and encoded as one batch
and the embeddings are split back per request.
"""

import numpy as np
import triton_python_backend_utils as pb_utils

from inference.triton_text_batch import embedding_responses, texts_of


class TritonPythonModel:
    def initialize(self, args):
        from inference.model_weights import load_clip
        from settings import Settings

        self.model, self.tokenizer, _ = load_clip(Settings.from_env())

    def execute(self, requests):
        import torch

        texts, sizes = texts_of(requests, pb_utils)
        with torch.inference_mode():
            embeddings = self.model.encode_text(self.tokenizer(texts), normalize=True).numpy().astype(np.float32)
        return embedding_responses(embeddings, sizes, pb_utils)

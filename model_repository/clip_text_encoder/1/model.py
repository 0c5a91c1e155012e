"""Triton python-backend model: CLIP text embeddings (L2-normalised) for free-text queries.

Dynamic batching hands ``execute`` several requests: their texts are tokenised and encoded as one batch
and the embeddings are split back per request.
"""

import sys
from pathlib import Path

sys.path.append(str(Path(__file__).resolve().parents[3] / "model_helpers"))  # beside model_repository/: shared helpers

import numpy as np  # noqa: E402
import triton_python_backend_utils as pb_utils  # noqa: E402
from clip_loader import load_clip  # noqa: E402
from model_parameters import model_parameters  # noqa: E402
from text_batching import embedding_responses, texts_of  # noqa: E402


class TritonPythonModel:
    def initialize(self, args):
        parameters = model_parameters(args)
        self.model, self.tokenizer, _ = load_clip(parameters["architecture"], parameters["weights"],
                                                  int(parameters["cpu_threads"]))

    def execute(self, requests):
        import torch

        texts, sizes = texts_of(requests, pb_utils)
        with torch.inference_mode():
            embeddings = self.model.encode_text(self.tokenizer(texts), normalize=True).numpy().astype(np.float32)
        return embedding_responses(embeddings, sizes, pb_utils)

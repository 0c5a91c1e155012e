"""Triton python-backend model: CLIP text embeddings (L2-normalised) for free-text queries.

Dynamic batching hands ``execute`` several requests: their texts are tokenised and encoded as one batch
and the embeddings are split back per request.
"""

import numpy as np
import triton_python_backend_utils as pb_utils


class TritonPythonModel:
    def initialize(self, args):
        from inference.model_weights import load_clip
        from settings import Settings

        self.model, self.tokenizer, _ = load_clip(Settings.from_env())

    def execute(self, requests):
        import torch

        texts, sizes = [], []
        for request in requests:
            raw = pb_utils.get_input_tensor_by_name(request, "TEXT").as_numpy().reshape(-1)
            decoded = [t.decode("utf-8", errors="replace") if isinstance(t, bytes) else str(t) for t in raw]
            texts.extend(decoded)
            sizes.append(len(decoded))
        with torch.inference_mode():
            embeddings = self.model.encode_text(self.tokenizer(texts), normalize=True).numpy().astype(np.float32)
        responses, start = [], 0
        for size in sizes:
            out = pb_utils.Tensor("EMBEDDING", embeddings[start:start + size])
            responses.append(pb_utils.InferenceResponse(output_tensors=[out]))
            start += size
        return responses

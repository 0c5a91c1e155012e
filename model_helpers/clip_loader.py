"""CLIP for the frame_encoder and clip_text_encoder models (runs inside Triton's python backend).

No registry ships CLIP weights: they come only from a local open_clip checkpoint (the ``clip_weights``
parameter). Without one the models refuse to load with a clear reason, and the pipeline runs without CLIP.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from torchvision_compat import make_torchvision_importable

# clip_weights value that builds the architecture with random weights: plumbing tests only.
UNTRAINED_CLIP = "untrained"


class WeightsUnavailable(RuntimeError):
    """The model cannot start because its weights are not configured or not found."""


def load_clip(architecture: str, weights: str, threads: int) -> tuple[Any, Any, dict[str, Any]]:
    """(model in eval mode, tokenizer, preprocess config) of open_clip ``architecture`` with ``weights``."""
    if not weights:
        raise WeightsUnavailable(
            "CLIP disabled: CLIP_WEIGHTS is not set. No registry ships CLIP weights; point CLIP_WEIGHTS at a "
            f"local open_clip checkpoint for {architecture}. The pipeline runs without CLIP features.")
    if weights != UNTRAINED_CLIP and not Path(weights).is_file():
        raise WeightsUnavailable(f"CLIP disabled: CLIP_WEIGHTS={weights} is not a file")
    import torch

    torch.set_num_threads(threads)
    make_torchvision_importable()
    import open_clip

    pretrained = None if weights == UNTRAINED_CLIP else weights
    model, _, _ = open_clip.create_model_and_transforms(architecture, pretrained=pretrained)
    model.eval()
    return model, open_clip.get_tokenizer(architecture), dict(model.visual.preprocess_cfg)

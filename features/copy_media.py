"""The copy stage's media work on one file, done in one decode inside the media budget's child process
(features/media_budget.py), so the decoded video never leaves it: the copy signature (PDQ, chromaprint), the
pictures the descriptor signal describes (features/descriptor_views.py) and, for its geometric verification, its
looked-up pictures as grey pictures for local features (features/local_features.py)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.signature import CopySignature
from features.copy_signature import copy_signature
from features.descriptor_views import DescriptorPictures, content_pictures, descriptor_pictures
from features.local_features import local_picture
from features.media import decode_video
from settings import Settings


@dataclass(frozen=True)
class CopyMedia:
    signature: CopySignature
    pictures: DescriptorPictures | None  # None when not asked for
    local_pictures: list[np.ndarray]  # grey, one per looked-up picture (pictures.looked_up); [] when not asked for
    damaged_packets: int  # skipped while decoding


def copy_media(path: Path, cfg: Settings, name: str, pictures: bool) -> CopyMedia:
    """Decode ``path`` (called ``name`` in errors) and compute its copy signature, and with ``pictures`` the
    pictures to describe at its index frames."""
    video = decode_video(path, cfg, name)
    signature = copy_signature(video, cfg)
    if not pictures:
        return CopyMedia(signature, None, [], video.damaged_packets)
    described = descriptor_pictures(video.frames, signature.index_frames)
    looked_up = [video.frames[described.frames[n]] for n in described.looked_up]
    return CopyMedia(signature, described, [local_picture(p) for p in content_pictures(looked_up)],
                     video.damaged_packets)

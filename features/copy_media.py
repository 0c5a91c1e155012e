"""The copy stage's media work on one file, done in one decode inside the media budget's child process
(features/media_budget.py), so the decoded pictures never leave it: the copy signature (PDQ, chromaprint) and the
pictures the descriptor signal describes (features/descriptor_views.py)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from core.signature import CopySignature
from features.copy_signature import copy_signature
from features.descriptor_views import DescriptorPictures, descriptor_pictures
from features.media import decode_video
from settings import Settings


@dataclass(frozen=True)
class CopyMedia:
    signature: CopySignature
    pictures: DescriptorPictures | None  # None when not asked for
    damaged_packets: int  # skipped while decoding


def copy_media(path: Path, cfg: Settings, name: str, pictures: bool) -> CopyMedia:
    """Decode ``path`` (called ``name`` in errors) and compute its copy signature, and with ``pictures`` the
    pictures to describe at its index frames."""
    video = decode_video(path, cfg, name)
    signature = copy_signature(video, cfg)
    return CopyMedia(signature, descriptor_pictures(video.frames, signature.index_frames) if pictures else None,
                     video.damaged_packets)

"""The pictures the image_features model describes for the descriptor copy signal (core/descriptor_match.py).

A video is described at its *index frames* (the frames its copy signature chose: the first usable one, every scene
change and every new look, at most INDEX_FRAMES_MAX; core.bits.select_key_frames), each standing for the stretch of
video until the next one. Every picture is first cut to its content inside black bars, so a letterboxed copy is
described like its original.

- **Indexed** by each index frame's whole picture (WHOLE_SIDE square).
- **Looked up** by each of up to QUERY_PICTURES index frames in views: the whole picture, and 18 parts where an
  inset, a grid cell or a zoomed-in copy may sit: the 3 x 3 half-size parts overlapping by a half (insets, 2 x 2
  cells, zooms) and the 3 x 3 third-size cells of a 3 x 3 grid. Parts are described at PART_SIDE: the network sees
  what it would of a picture that small anyway, at a third of the cost. No mirrored view: pooled over the picture,
  the descriptor of a mirrored picture is that of the picture (the network was trained on mirrored images too),
  and the parts cover mirrored places alike.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from core.bits import thin
from features.copy_signature import steady_content_boxes

WHOLE_SIDE = 224  # the network's training size
PART_SIDE = 128
INDEX_FRAMES_MAX = 8  # index frames described per video (Redis memory: storage/descriptor_index.py)
QUERY_PICTURES = 6  # of those, the pictures looked up in parts too (the model's cost: bench.copy_bench)
# (left, top, width, height) as shares of the picture: the half-size parts, then the third-size cells.
PARTS: tuple[tuple[float, float, float, float], ...] = (
    *((left, top, 0.5, 0.5) for top in (0.0, 0.25, 0.5) for left in (0.0, 0.25, 0.5)),
    *((left, top, 1 / 3, 1 / 3) for top in (0.0, 1 / 3, 2 / 3) for left in (0.0, 1 / 3, 2 / 3)),
)
WHOLE_PICTURE = "whole picture"
# The views of a looked-up picture, in order: what a match's ``view`` index names.
VIEW_NAMES: tuple[str, ...] = (WHOLE_PICTURE, *(
    f"{'half' if width == 0.5 else 'third'}-size part at {round(top * 100)}% down, {round(left * 100)}% across"
    for left, top, width, _ in PARTS))
VIEW_REGIONS: tuple[tuple[float, float, float, float] | None, ...] = (None, *PARTS)


@dataclass(frozen=True)
class DescriptorPictures:
    """A video's pictures for the model: ``wholes`` (one per described frame, WHOLE_SIDE) and ``parts`` (len(PARTS)
    per looked-up picture, PART_SIDE, the pictures in ``looked_up`` order)."""

    frames: list[int]  # the signature's frame numbers described
    looked_up: list[int]  # positions in ``frames`` of the pictures looked up in parts too
    wholes: np.ndarray  # (len(frames), WHOLE_SIDE, WHOLE_SIDE, 3) uint8
    parts: np.ndarray  # (len(looked_up) * len(PARTS), PART_SIDE, PART_SIDE, 3) uint8


def content_pictures(frames: list[np.ndarray]) -> list[np.ndarray]:
    """Each frame cut to its content inside black bars."""
    return [frame[top:bottom, left:right] for frame, (top, bottom, left, right)
            in zip(frames, steady_content_boxes(frames), strict=True)]


def _resized(picture: np.ndarray, side: int) -> np.ndarray:
    return cv2.resize(picture, (side, side), interpolation=cv2.INTER_AREA)


def _parts(picture: np.ndarray) -> list[np.ndarray]:
    height, width = picture.shape[:2]
    return [_resized(picture[int(top * height):int(top * height) + max(1, int(part_height * height)),
                             int(left * width):int(left * width) + max(1, int(part_width * width))], PART_SIDE)
            for left, top, part_width, part_height in PARTS]


def descriptor_pictures(frames: list[np.ndarray], index_frames: list[int]) -> DescriptorPictures:
    """The pictures to describe of a decoded video's ``frames``, at its index frames (thinned to
    INDEX_FRAMES_MAX), QUERY_PICTURES of them looked up in parts too."""
    chosen = thin(list(index_frames), INDEX_FRAMES_MAX)
    pictures = content_pictures(frames)
    looked_up = thin(list(range(len(chosen))), QUERY_PICTURES)
    empty = np.zeros((0, PART_SIDE, PART_SIDE, 3), np.uint8)
    return DescriptorPictures(
        frames=chosen, looked_up=looked_up,
        wholes=np.stack([_resized(pictures[i], WHOLE_SIDE) for i in chosen]) if chosen else np.zeros(
            (0, WHOLE_SIDE, WHOLE_SIDE, 3), np.uint8),
        parts=np.stack([part for n in looked_up for part in _parts(pictures[chosen[n]])]) if looked_up else empty)


def stacked_views(wholes: np.ndarray, parts: np.ndarray, looked_up: list[int]) -> np.ndarray:
    """The looked-up pictures' descriptors in views as (pictures, len(VIEW_NAMES), dims): each picture's whole
    (a row of ``wholes``) then its parts (rows of ``parts``, len(PARTS) per picture)."""
    return np.concatenate([wholes[looked_up][:, None], parts.reshape(len(looked_up), len(PARTS), -1)], axis=1)

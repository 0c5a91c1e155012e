"""The pictures the image_features model describes for copy detection (core/descriptor_match.py): a reference by its
whole pictures, a query by several views of each picture.

Every picture is first cut to its content inside black bars (features/copy_signature.steady_content_boxes), so a
letterboxed copy is described like its original. A query's views of one picture: the whole, the whole mirrored,
and 18 parts where an inset, a grid cell or a zoomed-in copy may sit: the 3 x 3 half-size parts overlapping by a
half (insets and 2 x 2 cells; a zoom) and the 3 x 3 third-size cells of a 3 x 3 grid. Parts are described at a
smaller size: the network sees what it would of a picture that small anyway, at a third of the cost.
"""

from __future__ import annotations

import cv2
import numpy as np

from features.copy_signature import steady_content_boxes

WHOLE_SIDE = 224  # the network's training size
PART_SIDE = 128
# (top, left, height, width) as shares of the picture: the half-size parts, then the third-size cells.
PARTS: tuple[tuple[float, float, float, float], ...] = (
    *((top, left, 0.5, 0.5) for top in (0.0, 0.25, 0.5) for left in (0.0, 0.25, 0.5)),
    *((top, left, 1 / 3, 1 / 3) for top in (0.0, 1 / 3, 2 / 3) for left in (0.0, 1 / 3, 2 / 3)),
)
# The views of a query picture, in order: what a match's ``view`` index names.
VIEW_NAMES: tuple[str, ...] = ("whole picture", "mirrored", *(
    f"{'half' if height == 0.5 else 'third'}-size part at {round(top * 100)}% down, {round(left * 100)}% across"
    for top, left, height, _ in PARTS))


def content_pictures(frames: list[np.ndarray]) -> list[np.ndarray]:
    """Each frame cut to its content inside black bars."""
    return [frame[top:bottom, left:right] for frame, (top, bottom, left, right)
            in zip(frames, steady_content_boxes(frames), strict=True)]


def _resized(picture: np.ndarray, side: int) -> np.ndarray:
    return cv2.resize(picture, (side, side), interpolation=cv2.INTER_AREA)


def whole_views(pictures: list[np.ndarray]) -> list[np.ndarray]:
    """The pictures at WHOLE_SIDE x WHOLE_SIDE: what a reference is described by."""
    return [_resized(picture, WHOLE_SIDE) for picture in pictures]


def query_views(pictures: list[np.ndarray]) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Each picture's views (VIEW_NAMES) as two lists for the model, one per size: the whole and mirrored pictures
    (2 per picture, WHOLE_SIDE), then the parts (len(PARTS) per picture, PART_SIDE)."""
    wholes, parts = [], []
    for picture in pictures:
        whole = _resized(picture, WHOLE_SIDE)
        wholes += [whole, np.ascontiguousarray(whole[:, ::-1])]
        height, width = picture.shape[:2]
        for top, left, part_height, part_width in PARTS:
            y, x = int(top * height), int(left * width)
            part = picture[y:y + max(1, int(part_height * height)), x:x + max(1, int(part_width * width))]
            parts.append(_resized(part, PART_SIDE))
    return wholes, parts


def stacked_views(wholes: np.ndarray, parts: np.ndarray) -> np.ndarray:
    """The model's descriptors of query_views' two lists as (pictures, views, dims), views in VIEW_NAMES order."""
    pictures = len(wholes) // 2
    return np.concatenate([wholes.reshape(pictures, 2, -1), parts.reshape(pictures, len(PARTS), -1)], axis=1)

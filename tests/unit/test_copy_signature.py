"""The copy signature's views on synthetic pictures: turned hashes and tiles (no server, no media files)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from core.bits import hamming
from core.signature import TURNS
from features.copy_signature import _turned, tile_boxes
from features.pdq import packed_pdq

RNG = np.random.default_rng(24)


def moving_picture(frames: int, height: int, width: int, seed: int) -> list[np.ndarray]:
    """Smooth random blobs drifting across the picture: ``frames`` RGB frames of natural-looking motion."""
    rng = np.random.default_rng(seed)
    canvas = cv2.GaussianBlur(rng.integers(0, 256, (height * 2, width * 2, 3)).astype(np.float32), (0, 0), 6)
    canvas = cv2.normalize(canvas, None, 0, 255, cv2.NORM_MINMAX).astype(np.uint8)
    step_y, step_x = rng.integers(2, 6, size=2)
    return [np.ascontiguousarray(canvas[n * step_y:n * step_y + height, n * step_x:n * step_x + width])
            for n in range(frames)]


def test_each_turn_undoes_one_way_of_turning_a_copy() -> None:
    """A copy rotated, flipped or transposed any of the seven ways hashes like the original in exactly one of
    its turned views (PDQ of the turned picture, not PDQ's own dihedral shortcut, which was 36-42 bits off)."""
    original = moving_picture(1, 120, 200, seed=1)[0]
    plain = packed_pdq(original)[0]
    copies = {"hflip": original[:, ::-1], "rot90 cw": np.rot90(original, -1), "rot180": np.rot90(original, 2),
              "rot90 ccw": np.rot90(original, 1), "vflip": original[::-1], "transpose": original.transpose(1, 0, 2),
              "anti-transpose": np.rot90(original, 2).transpose(1, 0, 2)}
    for name, copy in copies.items():
        distances = [hamming(packed_pdq(np.ascontiguousarray(view))[0], plain) for view in _turned(copy)]
        assert sorted(distances)[0] <= 8 < 100 <= sorted(distances)[1], (name, distances)
    assert len(_turned(original)) == len(TURNS)


def quadrant_grid(frames: int, size: tuple[int, int]) -> list[np.ndarray]:
    height, width = size
    tiles = [moving_picture(frames, height // 2, width // 2, seed) for seed in range(4)]
    return [np.vstack([np.hstack([tiles[0][n], tiles[1][n]]), np.hstack([tiles[2][n], tiles[3][n]])])
            for n in range(frames)]


@pytest.mark.parametrize("size", [(180, 320), (144, 176)])
def test_a_grid_of_four_videos_has_four_tiles_and_one_video_none(size: tuple[int, int]) -> None:
    height, width = size
    assert sorted(tile_boxes(quadrant_grid(12, size))) == [
        (0, height // 2, 0, width // 2), (0, height // 2, width // 2, width),
        (height // 2, height, 0, width // 2), (height // 2, height, width // 2, width)]
    assert tile_boxes(moving_picture(12, height, width, seed=9)) == []


def test_an_inset_is_one_tile_and_a_split_screen_two() -> None:
    background = moving_picture(12, 180, 320, seed=5)
    inset = moving_picture(12, 126, 224, seed=6)
    framed = []
    for back, front in zip(background, inset, strict=True):
        frame = back.copy()
        frame[27:153, 26:250] = front
        framed.append(frame)
    assert tile_boxes(framed) == [(27, 153, 26, 250)]
    top, bottom = moving_picture(12, 90, 320, seed=7), moving_picture(12, 90, 320, seed=8)
    stacked = [np.vstack([a, b]) for a, b in zip(top, bottom, strict=True)]
    assert sorted(tile_boxes(stacked)) == [(0, 90, 0, 320), (90, 180, 0, 320)]

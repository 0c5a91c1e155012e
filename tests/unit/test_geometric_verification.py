"""Geometric verification by local features (features/local_features.py, features/geometric_verification.py) on
scikit-learn's two packaged photos: a copy placed by a random transform (turn, scale, place, mirror, perspective)
over a textured background is verified and placed; the other photo, and a photo sharing only a caption with the
original, are not."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from sklearn.datasets import load_sample_image

from features.geometric_verification import best_geometry
from features.local_features import local_features, local_picture, query_features

WIDTH, HEIGHT = 640, 360


def photo(name: str) -> np.ndarray:
    return cv2.resize(load_sample_image(name), (WIDTH, HEIGHT), interpolation=cv2.INTER_AREA)


def placed(picture: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, dict]:
    """``picture`` turned, scaled, moved, perhaps mirrored and warped, over noise blurred into texture."""
    angle = float(rng.uniform(-20, 20))
    scale = float(rng.uniform(0.45, 0.9))
    mirrored = bool(rng.integers(2))
    source = picture[:, ::-1] if mirrored else picture
    centre = (float(rng.uniform(0.35, 0.65) * WIDTH), float(rng.uniform(0.35, 0.65) * HEIGHT))
    turn = cv2.getRotationMatrix2D((WIDTH / 2, HEIGHT / 2), angle, scale)
    turn[:, 2] += np.subtract(centre, (WIDTH / 2, HEIGHT / 2))
    warp = np.vstack([turn, [0, 0, 1]])
    warp[2, :2] = rng.uniform(-2e-4, 2e-4, 2)  # a little perspective, as filmed off a screen
    background = cv2.GaussianBlur(rng.integers(0, 256, (HEIGHT, WIDTH, 3), dtype=np.uint8), (0, 0), 3)
    mask = cv2.warpPerspective(np.full((HEIGHT, WIDTH), 255, np.uint8), warp, (WIDTH, HEIGHT))
    shown = cv2.warpPerspective(np.ascontiguousarray(source), warp, (WIDTH, HEIGHT))
    copy = np.where(mask[..., None] > 0, shown, background)
    corners = cv2.perspectiveTransform(np.float32([[0, 0], [WIDTH, 0], [WIDTH, HEIGHT], [0, HEIGHT]])[:, None],
                                       warp)[:, 0]
    corners = np.clip(corners / [WIDTH, HEIGHT], 0, 1)
    box = (*corners.min(axis=0), *(corners.max(axis=0) - corners.min(axis=0)))
    return copy, {"angle": angle, "mirrored": mirrored, "box": box}


def with_caption(picture: np.ndarray) -> np.ndarray:
    captioned = picture.copy()
    cv2.putText(captioned, "BREAKING NEWS", (40, 320), cv2.FONT_HERSHEY_DUPLEX, 1.6, (255, 255, 255), 4)
    return captioned


@pytest.mark.parametrize("seed", range(6))
def test_a_copy_placed_at_random_is_verified_and_placed(seed: int) -> None:
    original = photo("china.jpg" if seed % 2 else "flower.jpg")
    copy, truth = placed(original, np.random.default_rng(seed))
    geometry = best_geometry(*query_features([local_picture(copy)]), [local_features(local_picture(original))])
    assert geometry is not None
    assert geometry.mirrored == truth["mirrored"]
    assert abs(geometry.angle_deg - truth["angle"]) < 2.0, (geometry, truth)
    assert np.abs(np.subtract(geometry.box, truth["box"])).max() < 0.05, (geometry, truth)


def test_another_photo_is_not_verified() -> None:
    for seed in range(4):
        copy, _ = placed(photo("flower.jpg"), np.random.default_rng(seed))
        assert best_geometry(*query_features([local_picture(copy)]), [local_features(local_picture(
            photo("china.jpg")))]) is None


def test_a_shared_caption_alone_is_not_a_copy() -> None:
    """Two other photos with the same caption in the same place: the caption's keypoints agree on one transform,
    but over a small part of the picture."""
    query = with_caption(photo("flower.jpg"))
    reference = with_caption(photo("china.jpg"))
    assert best_geometry(*query_features([local_picture(query)]), [local_features(local_picture(reference))]) is None

"""Local features for geometric verification of descriptor copy candidates (features/geometric_verification.py): SIFT
keypoints of a picture (OpenCV: no model weights), their descriptors in the RootSIFT form (L1-normalised, square
root: compared by L2 they compare as the Hellinger kernel, which matches SIFT's histograms better).

A picture is cut to its content inside black bars (features/descriptor_views.content_pictures, as the descriptor
signal does) and scaled so its long side is LOCAL_SIDE. A mirrored copy has other SIFT descriptors than its original
(a descriptor's histogram is not symmetric), so a query picture is described mirrored too.

Nothing of this is stored: a query's pictures are kept from its one decode (features/copy_media.py), a candidate's
are decoded again from its media at its described pictures' times (``reference_features``), only for the few
candidates the descriptor signal ranks highest (pipeline/descriptor_detection.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from features.descriptor_views import content_pictures
from features.media import decode_key_frames
from settings import Settings

LOCAL_SIDE = 480  # long side of a picture described by local features: a 3 x 3 grid's cell keeps 160 px
MAX_KEYPOINTS = 300  # the strongest keypoints kept per picture


@dataclass(frozen=True)
class LocalFeatures:
    """One picture's keypoints: ``points`` (n, 2) in pixels of a ``width`` x ``height`` picture, and their RootSIFT
    ``descriptors`` (n, 128) float32."""

    points: np.ndarray
    descriptors: np.ndarray
    width: int
    height: int


def local_picture(picture: np.ndarray) -> np.ndarray:
    """An RGB picture (already cut to its content) as the grey picture local features are computed on."""
    height, width = picture.shape[:2]
    scale = LOCAL_SIDE / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return cv2.resize(cv2.cvtColor(picture, cv2.COLOR_RGB2GRAY), size,
                      interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)


def local_features(grey: np.ndarray) -> LocalFeatures:
    """The SIFT keypoints of a grey picture (local_picture), with RootSIFT descriptors."""
    keypoints, descriptors = cv2.SIFT_create(nfeatures=MAX_KEYPOINTS).detectAndCompute(grey, None)
    if descriptors is None or not keypoints:
        return LocalFeatures(np.zeros((0, 2), np.float32), np.zeros((0, 128), np.float32), grey.shape[1],
                             grey.shape[0])
    root = np.sqrt(descriptors / (descriptors.sum(axis=1, keepdims=True) + 1e-7)).astype(np.float32)
    return LocalFeatures(np.float32([k.pt for k in keypoints]), root, grey.shape[1], grey.shape[0])


def query_features(greys: list[np.ndarray]) -> tuple[list[LocalFeatures], list[LocalFeatures]]:
    """A query's looked-up pictures described as they are and mirrored (left to right)."""
    return [local_features(g) for g in greys], [local_features(np.ascontiguousarray(g[:, ::-1])) for g in greys]


def reference_features(path: Path, times_s: list[float], cfg: Settings, name: str) -> list[LocalFeatures]:
    """The local features of an indexed video's described pictures, decoded again from its media at ``times_s``
    (its sampled frames' times). For media_budget.within_budget: the file is decoded as any published file is."""
    frames = decode_key_frames(path, sorted(times_s), cfg, name, audio=False).frames
    return [local_features(local_picture(picture)) for picture in content_pictures(frames)]

"""Geometric verification of a copy candidate: do a query picture's local features (features/local_features.py) map
onto a reference picture's by one plane-to-plane transform (a homography, found by RANSAC)? Two pictures of one
kind share descriptor statistics; only a copy shares dozens of keypoints placed by one geometry. The transform
tells where the copy sits: the reference picture's box in the query's (an inset's, a grid cell's), its angle and
whether it is mirrored.

A transform counts when, beyond MIN_INLIERS keypoint pairs agreeing on it (each keypoint counted once), it is one
a picture can undergo: orientation kept (a mirror is found by the mirrored query's features, never by a reflecting
homography), scale within MAX_SCALE either way, perspective bounded, and its agreeing keypoints spread over at
least MIN_SPREAD of the reference picture: a copy shows much of the original's picture, where two videos that only
share a caption, a logo or a watermark agree on a small part of it.
"""

from __future__ import annotations

import cv2
import numpy as np

from core.geometry import Geometry
from features.local_features import LocalFeatures

RATIO = 0.75  # Lowe's ratio test: a keypoint's nearest match must be this much nearer than its second nearest
RANSAC_SHARE = 0.01  # reprojection tolerance, as a share of the picture's long side (4.8 px at LOCAL_SIDE 480)
MIN_INLIERS = 20  # keypoints agreeing on one transform for a verified copy
MAX_SCALE = 10.0
MAX_PERSPECTIVE = 2.0  # |h20|, |h21| of the transform on coordinates in long sides: a picture's far edge at most 3x
MIN_SPREAD = 0.1  # convex hull of the agreeing keypoints, as a share of the reference picture's area


def _unit(points: np.ndarray, features: LocalFeatures) -> np.ndarray:
    return points / max(features.width, features.height)


def verify_pair(query: LocalFeatures, reference: LocalFeatures) -> tuple[int, np.ndarray] | None:
    """(agreeing keypoints, transform from the reference's unit coordinates to the query's) when the pictures
    are one geometry apart, else None. Unit coordinates: pixels over the picture's long side."""
    if len(query.descriptors) < MIN_INLIERS or len(reference.descriptors) < MIN_INLIERS:
        return None
    # a matcher per call: OpenCV objects are not shared safely between the threads several events are judged on
    pairs = [m[0] for m in cv2.BFMatcher(cv2.NORM_L2).knnMatch(query.descriptors, reference.descriptors, k=2)
             if len(m) == 2 and m[0].distance < RATIO * m[1].distance]
    if len(pairs) < MIN_INLIERS:
        return None
    query_points = _unit(query.points[[p.queryIdx for p in pairs]], query)
    reference_points = _unit(reference.points[[p.trainIdx for p in pairs]], reference)
    transform, mask = cv2.findHomography(reference_points, query_points, cv2.RANSAC, RANSAC_SHARE)
    if transform is None or mask is None or abs(transform[2, 2]) < 1e-9:
        return None
    transform = transform / transform[2, 2]
    agreeing = mask.ravel().astype(bool)
    # each keypoint once: several reference keypoints may match one query keypoint, and the other way round
    inliers = min(len(np.unique(np.round(query_points[agreeing] * 1e4), axis=0)),
                  len(np.unique(np.round(reference_points[agreeing] * 1e4), axis=0)))
    if inliers < MIN_INLIERS or not _plausible(transform):
        return None
    long_side = max(reference.width, reference.height)
    area = reference.width * reference.height / long_side ** 2
    if cv2.contourArea(cv2.convexHull(reference_points[agreeing].astype(np.float32))) < MIN_SPREAD * area:
        return None
    return inliers, transform


def _plausible(transform: np.ndarray) -> bool:
    determinant = float(np.linalg.det(transform[:2, :2]))
    return (1 / MAX_SCALE ** 2 < determinant < MAX_SCALE ** 2
            and float(np.abs(transform[2, :2]).max()) <= MAX_PERSPECTIVE)


def best_geometry(query: list[LocalFeatures], mirrored: list[LocalFeatures],
                  reference: list[LocalFeatures]) -> Geometry | None:
    """The verified transform with the most agreeing keypoints between any query picture (as it is, or
    ``mirrored``) and any reference picture; None when no pair verifies."""
    best: tuple[int, np.ndarray, bool, int, int] | None = None
    for is_mirrored, pictures in ((False, query), (True, mirrored)):
        for q, query_picture in enumerate(pictures):
            for r, reference_picture in enumerate(reference):
                found = verify_pair(query_picture, reference_picture)
                if found is not None and (best is None or found[0] > best[0]):
                    best = (found[0], found[1], is_mirrored, q, r)
    if best is None:
        return None
    inliers, transform, is_mirrored, q, r = best
    return Geometry(inliers, _box(transform, reference[r], query[q], is_mirrored), _angle(transform, is_mirrored),
                    is_mirrored)


def _box(transform: np.ndarray, reference: LocalFeatures, query: LocalFeatures,
         is_mirrored: bool) -> tuple[float, float, float, float]:
    """The reference picture's corners taken into the query picture: their bounding box, clipped, as shares."""
    long_side = max(reference.width, reference.height)
    corners = np.float32([[0, 0], [reference.width, 0], [reference.width, reference.height],
                          [0, reference.height]])[:, None] / long_side
    placed = cv2.perspectiveTransform(corners, transform)[:, 0] * max(query.width, query.height)
    shares = np.clip(placed / [query.width, query.height], 0.0, 1.0)
    left, top = shares.min(axis=0)
    right, bottom = shares.max(axis=0)
    if is_mirrored:  # the box was found in the mirrored picture
        left, right = 1.0 - right, 1.0 - left
    return round(float(left), 3), round(float(top), 3), round(float(right - left), 3), round(float(bottom - top), 3)


def _angle(transform: np.ndarray, is_mirrored: bool) -> float:
    """The turn of the transform's linear part (image y points down: a counter-clockwise turn on screen is a
    negative angle in its coordinates)."""
    turned = float(np.degrees(np.arctan2(transform[1, 0], transform[0, 0])))
    return round(turned if is_mirrored else -turned, 1)

"""Where a copy's picture sits in the query's, as geometric verification of local features found it
(features/geometric_verification.py): what a verdict's match says of it (core/verdicts.py)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Geometry:
    inliers: int  # keypoints agreeing on the transform, each counted once
    box: tuple[float, float, float, float]  # (left, top, width, height) of the reference picture in the query's, as
    # shares of the query picture, clipped to it
    angle_deg: float  # how far the reference picture is turned in the query (counter-clockwise positive)
    mirrored: bool  # the query shows the reference mirrored left to right

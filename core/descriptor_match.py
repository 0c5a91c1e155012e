"""Matching a query video to a reference by CNN frame descriptors (the image_features model's GeM vectors): the
copy signal for edits a global hash cannot follow (a picture turned by any small angle, warped as if filmed off a
screen, shrunk into an inset or a grid cell).

The query is described in several *views* per frame (the whole picture, mirrored, and parts of it: where an inset
or a grid cell may sit); the reference by its whole pictures. A query frame's similarity to a reference frame is
its best view's cosine. Raw cosines of ImageNet features are high for any two pictures of one kind (two cartoons,
two crowds), so each query frame's similarities are taken relative to its *background*: how similar it is to the
videos it is not a copy of, estimated as its similarity to the k-th most similar indexed video. A copy then
stands out frame after frame, and its frames line up in time: the match is the line ``s = speed * t + offset``
(speeds 0.5x to 2x) through the query frames most above their background (core/alignment.best_line), scored by
how far above it they lie, summed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from core.alignment import best_line

# Speeds a copy may be played at, as a geometric ladder from half to double speed.
SPEEDS: tuple[float, ...] = tuple(float(s) for s in np.exp(np.linspace(np.log(0.5), np.log(2.0), 13)))
# Cosines are turned into "distances" for best_line's tie-break (it ranks equal frame counts by mean distance).
DISTANCE_SCALE = 256


@dataclass(frozen=True)
class DescriptorMatch:
    score: float  # the summed margins of the frames on the line (higher: surer)
    frames: int  # query frames on the line
    speed: float  # reference seconds per query second
    query_range_s: tuple[float, float]
    reference_range_s: tuple[float, float]
    view: int  # the query view that matched most of those frames (0: whole picture; see the caller's views)


def view_similarities(query_views: np.ndarray, reference: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For query views (frames, views, dims) and reference frames (frames, dims), all unit vectors: each pair of
    frames' best cosine over the query's views, and which view gave it; both (query frames, reference frames)."""
    cosines = np.einsum("qvd,rd->qvr", query_views, reference)
    return cosines.max(axis=1), cosines.argmax(axis=1)


def match(query_times: np.ndarray, similarities: np.ndarray, views: np.ndarray, background: np.ndarray,
          reference_times: np.ndarray, tolerance_s: float, speeds: Sequence[float] = SPEEDS) -> DescriptorMatch | None:
    """The best temporal line between a query and one reference, from ``similarities`` and ``views`` (query frames
    x reference frames, as view_similarities gives them) and each query frame's ``background`` similarity.
    A query frame counts when it lies within ``tolerance_s`` of the line (half the reference's frame spacing and
    some: its nearest described frame may be that far from the copied moment) and above its background. None when
    no query frame is above its background."""
    margins = similarities - background[:, None]
    best_reference = margins.argmax(axis=1)
    frames = np.flatnonzero(margins[np.arange(len(margins)), best_reference] > 0)
    if not len(frames):
        return None
    # every pair of a query frame above its background with a reference frame above it too
    query_frame, reference_frame = np.nonzero(margins[frames] > 0)
    query_frame = frames[query_frame]
    pair_margin = margins[query_frame, reference_frame]
    t, s = query_times[query_frame], reference_times[reference_frame]
    speed, offset = best_line(t, s, query_frame, DISTANCE_SCALE * (1.0 - pair_margin), speeds)
    on_line = np.abs(s - (speed * t + offset)) <= tolerance_s
    # each query frame counts once, with its best pair on the line
    best_on_line: dict[int, tuple[float, int]] = {}
    for frame, margin, reference_at in zip(query_frame[on_line], pair_margin[on_line], reference_frame[on_line],
                                           strict=True):
        if margin > best_on_line.get(int(frame), (-1.0, 0))[0]:
            best_on_line[int(frame)] = (float(margin), int(reference_at))
    chosen = sorted(best_on_line)
    chosen_references = [best_on_line[frame][1] for frame in chosen]
    matched_views = views[chosen, chosen_references]
    return DescriptorMatch(score=round(sum(margin for margin, _ in best_on_line.values()), 4), frames=len(chosen),
                           speed=round(speed, 3),
                           query_range_s=(float(query_times[chosen[0]]), float(query_times[chosen[-1]])),
                           reference_range_s=(float(reference_times[min(chosen_references)]),
                                              float(reference_times[max(chosen_references)])),
                           view=int(np.bincount(matched_views).argmax()))


def background_similarity(best_per_video: np.ndarray, rank: int) -> np.ndarray:
    """Each query frame's background: its similarity (best over views and frames) to the ``rank``-th most similar
    indexed video; ``best_per_video`` is (query frames, videos). With fewer videos, the least similar one."""
    ordered = np.sort(best_per_video, axis=1)
    return ordered[:, max(0, ordered.shape[1] - rank)]

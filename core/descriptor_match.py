"""Matching a query video to a reference by CNN frame descriptors (the image_features model's GeM vectors, compared as
codes: core/descriptor_codes.py): the copy signal for edits a global hash cannot follow (a picture turned by any
small angle, warped as if filmed off a screen, shrunk into an inset or a grid cell).

Both videos are described at their index frames, each standing for the *span* of video until the next one
(features/descriptor_views.py); the query's pictures in several views (the whole picture and parts of it: where an
inset or a grid cell may sit), the reference's by their whole pictures. A query picture's similarity to a reference
picture is its best view's cosine. Raw cosines of ImageNet features are high for any two pictures of one kind (two
cartoons, two crowds), so each query picture's similarities are taken relative to its *background*: how similar it
is to the videos it is not a copy of, estimated as its similarity to the k-th most similar indexed video. A copy
then stands out picture after picture, and its pictures line up in time: the match is the line
``s = speed * t + offset`` (speeds 0.5x to 2x) passing through the reference spans of the query pictures most above
their background, scored by how far above it they lie, summed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from core.descriptor_codes import code_similarities

# Speeds a copy may be played at, as a geometric ladder from half to double speed.
SPEEDS: tuple[float, ...] = tuple(float(s) for s in np.exp(np.linspace(np.log(0.5), np.log(2.0), 13)))


@dataclass(frozen=True)
class Spans:
    """Described pictures of one video, each standing for the video from ``starts`` to ``ends`` (seconds)."""

    starts: np.ndarray
    ends: np.ndarray

    @classmethod
    def of(cls, times_s: np.ndarray, duration_s: float) -> Spans:
        """Pictures at ``times_s`` (sorted), each standing for the video until the next one (the last: to the end)."""
        starts = np.asarray(times_s, np.float64)
        return cls(starts, np.append(starts[1:], max(duration_s, float(starts[-1]) if len(starts) else 0.0)))


@dataclass(frozen=True)
class DescriptorMatch:
    score: float  # the summed margins above the background of the query pictures on the line (higher: surer)
    pictures: int  # query pictures on the line
    segment_pictures: int  # query pictures from the first to the last on the line
    speed: float  # reference seconds per query second
    offset_s: float
    query_range_s: tuple[float, float]
    reference_range_s: tuple[float, float]
    view: int  # the query view that matched most of those pictures (features/descriptor_views.VIEW_NAMES)


def view_similarities(query_codes: np.ndarray, reference_codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For query codes (pictures, views, bytes) and reference codes (pictures, bytes): each pair of pictures'
    best estimated cosine over the query's views, and which view gave it; both (query pictures, reference pictures)."""
    pictures, views = query_codes.shape[:2]
    cosines = code_similarities(query_codes.reshape(pictures * views, -1), reference_codes)
    cosines = cosines.reshape(pictures, views, len(reference_codes))
    return cosines.max(axis=1), cosines.argmax(axis=1)


def _best_line(t: np.ndarray, picture: np.ndarray, starts: np.ndarray, ends: np.ndarray, margins: np.ndarray,
               tolerance_s: float, speeds: Sequence[float]) -> tuple[float, float, np.ndarray]:
    """(speed, offset, which pairs are on it) of the line ``s = speed * t + offset`` passing through the pairs'
    reference spans (``starts``, ``ends``, widened by ``tolerance_s``) with the most margin, each query picture
    counted once with its best pair. A pair is on the lines whose offset lies in ``[start - speed * t, end - speed *
    t]``: the best offset is found among those intervals' left edges. Of lines with equal margin, the one passing
    nearest the spans' starts (where a picture's look begins in both videos), then the speed nearest 1.0."""
    pictures = int(picture.max()) + 1
    best: tuple[float, float, float, float, np.ndarray] | None = None  # (score, -residual, speed, offset, on line)
    for speed in sorted(speeds, key=lambda s: abs(np.log(s))):
        low, high = starts - speed * t - tolerance_s, ends - speed * t + tolerance_s
        on = (low[None, :] <= low[:, None]) & (low[:, None] <= high[None, :])  # row c: the lines at offset low[c]
        per_picture = np.zeros((len(low), pictures))
        rows, pairs = np.nonzero(on)
        np.maximum.at(per_picture, (rows, picture[pairs]), margins[pairs])
        scores = per_picture.sum(axis=1)
        for c in np.flatnonzero(scores >= scores.max() - 1e-9):
            # the offset nearest its pairs' starts that they all allow, and how far from their starts it passes
            offset = float(np.clip(np.median(starts[on[c]] - speed * t[on[c]]), low[on[c]].max(), high[on[c]].min()))
            residual = float(np.mean(np.abs(starts[on[c]] - (speed * t[on[c]] + offset))))
            candidate = (float(scores[c]), -round(residual, 3), speed, offset, on[c])
            if best is None or candidate[:2] > best[:2]:
                best = candidate
    assert best is not None
    return best[2], best[3], best[4]


def match(query: Spans, similarities: np.ndarray, views: np.ndarray, background: np.ndarray, reference: Spans,
          tolerance_s: float, speeds: Sequence[float] = SPEEDS) -> DescriptorMatch | None:
    """The best temporal line between a query and one reference, from ``similarities`` and ``views`` (query pictures
    x reference pictures, as view_similarities gives them) and each query picture's ``background`` similarity. A
    query picture counts when it is above its background and the line, at its time, passes within ``tolerance_s``
    of its reference picture's span. None when no query picture is above its background."""
    margins = similarities - background[:, None]
    query_picture, reference_picture = np.nonzero(margins > 0)
    if not len(query_picture):
        return None
    pair_margin = margins[query_picture, reference_picture]
    speed, offset, on_line = _best_line(query.starts[query_picture], query_picture,
                                        reference.starts[reference_picture], reference.ends[reference_picture],
                                        pair_margin, tolerance_s, speeds)
    best_on_line: dict[int, tuple[float, int]] = {}  # each query picture once, with its best pair on the line
    for picture, margin, reference_at in zip(query_picture[on_line], pair_margin[on_line],
                                             reference_picture[on_line], strict=True):
        if margin > best_on_line.get(int(picture), (-1.0, 0))[0]:
            best_on_line[int(picture)] = (float(margin), int(reference_at))
    chosen = sorted(best_on_line)
    chosen_references = [best_on_line[picture][1] for picture in chosen]
    query_range = (float(query.starts[chosen[0]]), float(query.ends[chosen[-1]]))
    # where the line puts the query's range, within the reference pictures it passed through
    low, high = float(reference.starts[min(chosen_references)]), float(reference.ends[max(chosen_references)])
    mapped = sorted((speed * query_range[0] + offset, speed * query_range[1] + offset))
    reference_range = (max(low, mapped[0]), min(high, mapped[1]))
    if reference_range[0] > reference_range[1]:
        reference_range = (low, high)
    return DescriptorMatch(score=round(sum(margin for margin, _ in best_on_line.values()), 4), pictures=len(chosen),
                           segment_pictures=chosen[-1] - chosen[0] + 1, speed=round(speed, 3),
                           offset_s=round(offset, 3),
                           query_range_s=(round(query_range[0], 2), round(query_range[1], 2)),
                           reference_range_s=(round(reference_range[0], 2), round(reference_range[1], 2)),
                           view=int(np.bincount(views[chosen, chosen_references]).argmax()))


def background_similarity(best_per_video: np.ndarray, rank: int, floor: float) -> np.ndarray:
    """Each query picture's background: its similarity to the ``rank``-th most similar indexed video, from
    ``best_per_video`` (query pictures, videos; -inf where a video was not among a picture's neighbours), and at
    least ``floor``, a typical background: in a young index (few videos found, all unlike the picture) a lower one
    would let anything stand out, and a copy's margin would mean more there than in a full index."""
    found = np.where(np.isfinite(best_per_video), best_per_video, floor)
    if found.shape[1] < rank:
        found = np.concatenate([found, np.full((len(found), rank - found.shape[1]), floor)], axis=1)
    return np.maximum(-np.sort(-found, axis=1)[:, rank - 1], floor).astype(np.float32)

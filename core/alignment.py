"""Temporal alignment primitives shared by copy verification (core/copy_alignment.py) and recurring segments
(core/recurring_segments.py).

Both start from matching frame pairs: frame i of one video at time ``t[i]`` looks like frame j of the other
at time ``s[j]``. Pairs of one copied stretch lie on a line ``s = speed * t + offset``: ``best_line`` votes
for the line through the most distinct frames, and ``split_runs`` cuts the frames on it into runs where
they follow each other closely enough.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

# A frame this close (seconds) to the line counts as on it: 1 fps sampling puts the nearest sampled frame
# of the other video up to half a second away from the exact moment, plus decoder timing jitter.
ON_LINE_TOLERANCE_S = 0.6


def best_line(t: np.ndarray, s: np.ndarray, frames: np.ndarray, pair_distances: np.ndarray,
              speeds: Sequence[float] = (1.0,)) -> tuple[float, float]:
    """(speed, offset) of the line ``s = speed * t + offset`` through the most distinct ``frames`` (each pair's
    frame of the first video), among ``speeds``. Ties go to fewer differing bits (``pair_distances``; means
    within 2 bits count as equal), then to the speed nearest 1.0: short or static clips fit many speeds equally
    well. Offsets are binned at two phases so a line on a bin edge is not split; the offset returned is the
    median of the winning bin's pairs."""
    best: tuple[int, int, float, float, np.ndarray] | None = None  # (frames, -distance, -|speed-1|, speed, members)
    frames_total = int(frames.max()) + 1
    for speed in speeds:
        offsets = s - speed * t
        for phase in (0.0, 0.5):
            bins = np.floor(offsets / ON_LINE_TOLERANCE_S + phase).astype(np.int64)
            bins -= bins.min()
            frames_per_bin = np.bincount(np.unique(bins * frames_total + frames) // frames_total)
            pairs_per_bin = np.bincount(bins)
            mean_distance = np.bincount(bins, weights=pair_distances) / np.maximum(pairs_per_bin, 1)
            # Most frames first, then the lowest mean distance (in 2-bit steps).
            winner = int(np.lexsort((np.round(mean_distance / 2), -frames_per_bin))[0])
            key = (int(frames_per_bin[winner]), -int(np.round(mean_distance[winner] / 2)), -abs(float(speed) - 1.0))
            if best is None or key > best[:3]:
                best = (*key, float(speed), bins == winner)
    assert best is not None
    speed, members = best[3], best[4]
    return speed, float(np.median(s[members] - speed * t[members]))


def split_runs(frames: list[int], times: np.ndarray, max_gap_s: float) -> list[list[int]]:
    """Sorted frame indices split where consecutive frames are more than ``max_gap_s`` apart."""
    runs: list[list[int]] = []
    for i in frames:
        if not runs or times[i] - times[runs[-1][-1]] > max_gap_s:
            runs.append([])
        runs[-1].append(i)
    return runs

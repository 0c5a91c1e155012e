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
# Above any mean of rounded distances (256 bits / 2): what ranks frames before distance in one number.
ROUNDED_DISTANCE_LIMIT = 1 << 10


def best_line(t: np.ndarray, s: np.ndarray, frames: np.ndarray, pair_distances: np.ndarray,
              speeds: Sequence[float] = (1.0,)) -> tuple[float, float]:
    """(speed, offset) of the line ``s = speed * t + offset`` through the most distinct ``frames`` (each pair's
    frame of the first video), among ``speeds``. Ties go to fewer differing bits (``pair_distances``; means
    within 2 bits count as equal), then to the speed nearest 1.0: short or static clips fit many speeds equally
    well. Offsets are binned at two phases so a line on a bin edge is not split; the offset returned is the
    median of the winning bin's pairs."""
    # Every (speed, phase) at once: row c of ``bins`` is the offset bin of each pair on the c-th of them.
    speed_of = np.repeat(np.asarray(speeds, dtype=np.float64), 2)
    phase_of = np.tile([0.0, 0.5], len(speeds))
    offsets = s[None, :] - speed_of[:, None] * t[None, :]
    bins = np.floor(offsets / ON_LINE_TOLERANCE_S + phase_of[:, None]).astype(np.int64)
    bins -= bins.min(axis=1, keepdims=True)
    width = int(bins.max()) + 1
    cells = (np.arange(len(speed_of))[:, None] * width + bins).ravel()  # (speed and phase, bin) as one number
    frames_total = int(frames.max()) + 1
    frames_per_bin = np.bincount(np.unique(cells * frames_total + np.tile(frames, len(speed_of))) // frames_total,
                                 minlength=len(speed_of) * width)
    pairs_per_bin = np.bincount(cells, minlength=len(speed_of) * width)
    mean_distance = np.bincount(cells, weights=np.tile(pair_distances, len(speed_of)),
                                minlength=len(speed_of) * width) / np.maximum(pairs_per_bin, 1)
    frames_per_bin = frames_per_bin.reshape(len(speed_of), width)
    rounded = np.round(mean_distance / 2).astype(np.int64).reshape(len(speed_of), width)
    # Per (speed, phase), its winning bin: most frames, then the lowest mean distance (in 2-bit steps), then the
    # first bin. Empty bins (no frames) never win.
    order = (frames_per_bin * (ROUNDED_DISTANCE_LIMIT * width) - rounded * width - np.arange(width)[None, :])
    winners = np.argmax(order, axis=1)
    rows = np.arange(len(speed_of))
    # Then the (speed, phase) whose winner has most frames, the lowest mean distance, the speed nearest 1.0,
    # the first tried.
    best = int(np.lexsort((rows, np.abs(speed_of - 1.0), rounded[rows, winners], -frames_per_bin[rows, winners]))[0])
    speed = float(speed_of[best])
    members = bins[best] == winners[best]
    return speed, float(np.median(s[members] - speed * t[members]))


def split_runs(frames: list[int], times: np.ndarray, max_gap_s: float) -> list[list[int]]:
    """Sorted frame indices split where consecutive frames are more than ``max_gap_s`` apart."""
    runs: list[list[int]] = []
    for i in frames:
        if not runs or times[i] - times[runs[-1][-1]] > max_gap_s:
            runs.append([])
        runs[-1].append(i)
    return runs

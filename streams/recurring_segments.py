"""Recurring segments of a series (intro, end credits, recaps): the parts one episode shares with another,
found by aligning the two episodes' frame hashes. Pure functions; streams/series_detection.py runs them.

Two episodes share a segment where a run of frames of one matches frames of the other at one constant time
offset: an intro is spliced in at the same speed, so unlike copy alignment no speed search is needed, but
one pair of episodes can share several segments at different offsets (intro and credits). So offsets are
taken greedily: the offset with the most matching frames gives its runs of frames (gaps up to
``max_gap_s``), those pairs are removed, and the next offset is tried until too few frames match.

Edges: 1 fps sampling alone would put an edge anywhere within a second, but the decoder also samples the
first frame of every shot (inference/media.py), and a spliced intro starts and ends with a cut. An edge
is that cut when there is one, else half-way to the neighbouring frame outside the run.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from inference.copy_features import CopySignature
from inference.descriptors import hamming_matrix

# A frame of the other episode this close (seconds) to the offset line counts as on it (1 fps sampling
# puts the nearest sampled frame up to half a second from the exact moment, plus decoder jitter).
ON_LINE_TOLERANCE_S = 0.6
MIN_RUN_FRAMES = 3
# Intervals of one episode closer than this are one segment (e.g. shared with two episodes, edges a frame apart).
MERGE_GAP_S = 0.5
# Kinds, by where the segment sits in its episode: credits end in the last CREDITS_TAIL_SHARE and start
# after the middle; an intro starts in the first INTRO_HEAD_SHARE; anything else is "recurring" (a recap,
# a sponsor spot, a recurring jingle).
CREDITS_TAIL_SHARE = 0.15
INTRO_HEAD_SHARE = 0.35


@dataclass(frozen=True)
class EpisodeFrames:
    """What alignment needs of one episode: its sampled frames' times, whole-frame hashes and cuts."""

    times_s: np.ndarray  # float (frames,)
    bits: np.ndarray  # uint8 (frames, 32) packed PDQ of the whole frame
    usable: np.ndarray  # bool (frames,): enough detail to compare (flat frames match anything)
    cuts: np.ndarray  # bool (frames,): a new shot starts at this frame
    duration_s: float

    @classmethod
    def from_signature(cls, signature: CopySignature, min_quality: int) -> EpisodeFrames:
        return cls(times_s=signature.times_s.astype(np.float64), bits=signature.full_frame_bits,
                   usable=signature.quality >= min_quality, cuts=signature.cuts, duration_s=signature.duration_s)


@dataclass(frozen=True)
class SharedSegment:
    """A segment episode ``a`` shares with episode ``b``: where it is in each, and how well it matched."""

    start_s: float
    end_s: float
    other_start_s: float
    other_end_s: float
    frames: int  # frames of ``a`` aligned inside it
    mean_hamming: float


@dataclass(frozen=True)
class RecurringSegment:
    """One recurring segment of an episode, merged over every episode it was found shared with."""

    kind: str  # "intro", "credits" or "recurring"
    start_s: float
    end_s: float
    shared_with: tuple[str, ...]  # the other episodes' video ids


def _edge_start(episode: EpisodeFrames, first: int) -> float:
    if first == 0:
        return 0.0
    if episode.cuts[first]:
        return float(episode.times_s[first])
    return float(episode.times_s[first - 1] + episode.times_s[first]) / 2


def _edge_end(episode: EpisodeFrames, last: int) -> float:
    if last == len(episode.times_s) - 1:
        return episode.duration_s
    if episode.cuts[last + 1]:
        return float(episode.times_s[last + 1])
    return float(episode.times_s[last] + episode.times_s[last + 1]) / 2


def _best_offset(offsets: np.ndarray, a_frames: np.ndarray) -> float:
    """The offset shared by the most distinct frames of ``a`` (bins at two phases, so a line on a bin edge
    is not split), refined to the median of its pairs."""
    best_count, best_members = -1, np.zeros(0, dtype=bool)
    frames_total = int(a_frames.max()) + 1
    for phase in (0.0, 0.5):
        bins = np.floor(offsets / ON_LINE_TOLERANCE_S + phase).astype(np.int64)
        bins -= bins.min()
        frames_per_bin = np.bincount(np.unique(bins * frames_total + a_frames) // frames_total)
        winner = int(np.argmax(frames_per_bin))
        if frames_per_bin[winner] > best_count:
            best_count, best_members = int(frames_per_bin[winner]), bins == winner
    return float(np.median(offsets[best_members]))


def shared_segments(a: EpisodeFrames, b: EpisodeFrames, max_hamming: int, min_segment_s: float,
                    max_gap_s: float) -> list[SharedSegment]:
    """Every segment of ``a`` at least ``min_segment_s`` long that also appears in ``b``, by start time."""
    distances = hamming_matrix(a.bits, b.bits)
    close = (distances <= max_hamming) & a.usable[:, None] & b.usable[None, :]
    segments: list[SharedSegment] = []
    while True:
        ai, bj = np.nonzero(close)
        if len(np.unique(ai)) < MIN_RUN_FRAMES:
            break
        offsets = b.times_s[bj] - a.times_s[ai]
        offset = _best_offset(offsets, ai)
        on_line = np.abs(offsets - offset) <= ON_LINE_TOLERANCE_S
        best_match: dict[int, int] = {}  # frame of a -> its closest frame of b on the line
        for i, j in zip(ai[on_line].tolist(), bj[on_line].tolist(), strict=True):
            if i not in best_match or distances[i, j] < distances[i, best_match[i]]:
                best_match[i] = j
        close[ai[on_line], bj[on_line]] = False
        for run in _runs(sorted(best_match), a.times_s, max_gap_s):
            matched = [best_match[i] for i in run]
            # A static shot matches itself at nearby offsets too: clear the whole block this run covers.
            close[run[0]:run[-1] + 1, min(matched):max(matched) + 1] = False
            start, end = _edge_start(a, run[0]), _edge_end(a, run[-1])
            if len(run) < MIN_RUN_FRAMES or end - start < min_segment_s:
                continue
            segments.append(SharedSegment(
                start_s=round(start, 2), end_s=round(end, 2), other_start_s=round(_edge_start(b, min(matched)), 2),
                other_end_s=round(_edge_end(b, max(matched)), 2),
                frames=len(run), mean_hamming=round(float(np.mean([distances[i, best_match[i]] for i in run])), 2)))
    return sorted(segments, key=lambda s: s.start_s)


def _runs(frames: list[int], times: np.ndarray, max_gap_s: float) -> list[list[int]]:
    """Split sorted frame indices where consecutive frames are more than ``max_gap_s`` apart."""
    runs: list[list[int]] = []
    for i in frames:
        if not runs or times[i] - times[runs[-1][-1]] > max_gap_s:
            runs.append([])
        runs[-1].append(i)
    return runs


def segment_kind(start_s: float, end_s: float, duration_s: float) -> str:
    if end_s >= duration_s * (1 - CREDITS_TAIL_SHARE) and start_s > duration_s / 2:
        return "credits"
    if start_s <= duration_s * INTRO_HEAD_SHARE:
        return "intro"
    return "recurring"


def merge_shared(shared: Iterable[tuple[str, float, float]], duration_s: float) -> list[RecurringSegment]:
    """An episode's recurring segments from its (other video id, start, end) intervals shared with other
    episodes: overlapping or nearly touching intervals become one segment."""
    merged: list[tuple[float, float, set[str]]] = []
    for other, start, end in sorted(shared, key=lambda item: (item[1], item[2])):
        if merged and start <= merged[-1][1] + MERGE_GAP_S:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end), merged[-1][2] | {other})
        else:
            merged.append((start, end, {other}))
    return [RecurringSegment(segment_kind(start, end, duration_s), start, end, tuple(sorted(others)))
            for start, end, others in merged]

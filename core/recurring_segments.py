"""Recurring segments of a series (intro, end credits, recaps): the parts one episode shares with another,
found by aligning the two episodes' frame hashes and, as a second signal, their chromaprint audio
fingerprints. Pure functions; pipeline/series_detection.py runs them.

Pictures: two episodes share a segment where a run of frames of one matches frames of the other at one
constant time offset: an intro is spliced in at the same speed, so unlike copy alignment no speed search is
needed, but one pair of episodes can share several segments at different offsets (intro and credits). So
offsets are taken greedily: the offset with the most matching frames gives its runs of frames (gaps up to
``max_gap_s``), those pairs are removed, and the next offset is tried until too few frames match. Two frames
match on the nearer of two hashes, of the picture inside its bars and of the whole frame: the signature crops
every frame to its episode's usual bars, so an intro without bars spliced into a mostly letterboxed episode
is hashed cropped there, and only its whole frame still matches the other episodes'.

Sound: at 1 fps two episodes are sampled at different phases of a spliced intro, and fast-moving frames
0.1-0.2 s apart can differ by 80-120 bits, so a moving intro may match in only a few frames. Chromaprint has a
sub-fingerprint every ~0.124 s, and one sound matches itself at any phase of that grid. A shared sound is a
dense run of matching sub-fingerprints on one diagonal (one grid offset) of the two fingerprints. It counts
only where at least one pair of frames inside it matches at the same offset (the same music under other
pictures is not a shared segment), and silence or a steady tone, which matches any other, never counts.

Edges: 1 fps sampling alone would put an edge anywhere within a second, but the decoder also samples the
first frame of a shot (features/media.py; not one less than 0.25 s after the frame sampled before it), and a
spliced intro starts and ends with a cut. A picture edge is a cut, or the episode's start or end, when there
is one next to the run, in this episode or, through the offset, in the other; else half-way to the
neighbouring frame outside the run. Sound places starts better than that (see AUDIO_EDGE_BITS) and ends worse,
so a sound segment ends conservatively early. Both kinds of interval are kept per pair and merged per episode
(merge_shared): the sound's start and the picture's end complement each other.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from core.alignment import ON_LINE_TOLERANCE_S, best_line, split_runs
from core.bits import hamming_matrix, popcount
from core.signature import SECONDS_PER_SUBFINGERPRINT, WHOLE_FRAME, CopySignature

MIN_RUN_FRAMES = 3
# Intervals of one episode closer than this are one segment (e.g. shared with two episodes, edges a frame apart).
MERGE_GAP_S = 0.5
# Kinds, by where the segment sits in its episode: credits end in the last CREDITS_TAIL_SHARE and start
# after the middle; an intro starts in the first INTRO_HEAD_SHARE; anything else is "recurring" (a recap,
# a sponsor spot, a recurring jingle).
CREDITS_TAIL_SHARE = 0.15
INTRO_HEAD_SHARE = 0.35

# Sound. Two sub-fingerprints of the same sound match within AUDIO_MATCH_BITS of 32 (measured on the series
# corpus: 99% within 6, all within 8, re-encoded at 48 kb/s and at any grid phase included); two of
# different sounds differ by ~16, but 1.7% of them are within 8 too, so a shared sound must also be a run
# (gaps up to AUDIO_MAX_GAP_S) in which at least AUDIO_MIN_DENSITY of the sub-fingerprints match.
AUDIO_MATCH_BITS = 8
AUDIO_MAX_GAP_S = 1.0
AUDIO_MIN_DENSITY = 0.6
# A sub-fingerprint counts only where the sound changes: it differs by AUDIO_MIN_CHANGE_BITS or more from
# the one AUDIO_CHANGE_LAG_S before or after it (silence and a steady tone repeat one value: 0 bits; speech
# and music differ by 5 or more in 95% of cases).
AUDIO_CHANGE_LAG_S = 1.0
AUDIO_MIN_CHANGE_BITS = 4
# A sub-fingerprint depends on ~2.7 s of sound from its time on, the start weighing most: within
# AUDIO_MATCH_BITS it still matches up to 1.3 s before a shared sound starts (when both episodes have other
# sound before it), and it stops matching 1-3 s before the sound ends. So the edges are the first and last
# sub-fingerprints of the run within AUDIO_EDGE_BITS (as are 75% of those of one sound): on the corpus such
# starts land -0.33..+0.2 s from the truth and ends 1.5-3 s early, to which one analysis frame (4096 samples
# at chromaprint's 11025 Hz) is added; conservative, the pictures place ends.
AUDIO_EDGE_BITS = 2
AUDIO_END_AFTER_LAST_S = 4096 / 11025


@dataclass(frozen=True)
class EpisodeSignals:
    """What alignment needs of one episode: its sampled frames' times, hashes and cuts, and its chromaprint."""

    times_s: np.ndarray  # float (frames,)
    bits: np.ndarray  # uint8 (2, frames, 32) packed PDQ of the picture inside its bars, then of the whole frame
    usable: np.ndarray  # bool (frames,): enough detail to compare (flat frames match anything)
    cuts: np.ndarray  # bool (frames,): a new shot starts at this frame
    audio: np.ndarray  # int32 (sub-fingerprints,) raw chromaprint, one per SECONDS_PER_SUBFINGERPRINT; may be empty
    duration_s: float

    @classmethod
    def from_signature(cls, signature: CopySignature, min_quality: int) -> EpisodeSignals:
        return cls(times_s=signature.times_s.astype(np.float64),
                   bits=np.stack([signature.bits[0], signature.framing_bits(WHOLE_FRAME)]),
                   usable=signature.quality >= min_quality, cuts=signature.cuts,
                   audio=signature.audio_fingerprint, duration_s=signature.duration_s)


@dataclass(frozen=True)
class SharedSegment:
    """A segment episode ``a`` shares with episode ``b``: where it is in each, and how well it matched."""

    start_s: float
    end_s: float
    other_start_s: float
    other_end_s: float
    signal: str  # "picture" (frame hashes) or "sound" (chromaprint): which alignment found it
    frames: int  # frames (or sub-fingerprints) of ``a`` aligned inside it
    mean_hamming: float  # differing bits of the aligned ones: of 256 (PDQ) or of 32 (chromaprint)


@dataclass(frozen=True)
class RecurringSegment:
    """One recurring segment of an episode, merged over every episode it was found shared with."""

    kind: str  # "intro", "credits" or "recurring"
    start_s: float
    end_s: float
    shared_with: tuple[str, ...]  # the other episodes' video ids


def shared_segments(a: EpisodeSignals, b: EpisodeSignals, max_hamming: int, min_segment_s: float,
                    max_gap_s: float) -> list[SharedSegment]:
    """Every segment of ``a`` at least ``min_segment_s`` long that also appears in ``b``, by start time: those
    the pictures show and those the sound shows (often one segment twice, with different edges; a sound
    segment's interval is reported with its conservative end, so it can be shorter)."""
    frame_distances = hamming_matrix(a.bits, b.bits).min(axis=0)  # per frame pair, the nearer of the two framings
    frames_match = (frame_distances <= max_hamming) & a.usable[:, None] & b.usable[None, :]
    found = _picture_segments(a, b, frame_distances, frames_match.copy(), min_segment_s, max_gap_s)
    found += _sound_segments(a, b, frames_match, min_segment_s)
    return sorted(found, key=lambda s: (s.start_s, s.end_s))


# --- pictures ---------------------------------------------------------------------------------------------

Bounds = tuple[float, float]  # the earliest and the latest time an edge can be at; equal when it is pinned


def _start_bounds(episode: EpisodeSignals, first: int) -> Bounds:
    """A run from frame ``first`` starts after the frame before it; exactly at the episode's start or a cut."""
    if first == 0:
        return 0.0, 0.0
    time = float(episode.times_s[first])
    return (time, time) if episode.cuts[first] else (float(episode.times_s[first - 1]), time)


def _end_bounds(episode: EpisodeSignals, last: int) -> Bounds:
    """A run to frame ``last`` ends before the frame after it; exactly at the episode's end or a cut."""
    if last == len(episode.times_s) - 1:
        return episode.duration_s, episode.duration_s
    time = float(episode.times_s[last + 1])
    return (time, time) if episode.cuts[last + 1] else (float(episode.times_s[last]), time)


def _edge(own: Bounds, other: Bounds) -> float:
    """An edge from this episode's bounds and the other episode's (moved onto this episode's time line): where
    this episode pins it, else where the other one does (kept within this episode's bounds), else half-way."""
    low, high = own
    if low == high:
        return low
    if other[0] == other[1]:
        return float(np.clip(other[0], low, high))
    return (low + high) / 2


def _picture_segments(a: EpisodeSignals, b: EpisodeSignals, distances: np.ndarray, close: np.ndarray,
                      min_segment_s: float, max_gap_s: float) -> list[SharedSegment]:
    """Greedy offset voting over the matching frame pairs ``close`` (consumed)."""
    segments: list[SharedSegment] = []
    while True:
        ai, bj = np.nonzero(close)
        if len(np.unique(ai)) < MIN_RUN_FRAMES:
            break
        offsets = b.times_s[bj] - a.times_s[ai]
        _, offset = best_line(a.times_s[ai], b.times_s[bj], ai, distances[ai, bj])
        on_line = np.abs(offsets - offset) <= ON_LINE_TOLERANCE_S
        best_match: dict[int, int] = {}  # frame of a -> its closest frame of b on the line
        for i, j in zip(ai[on_line].tolist(), bj[on_line].tolist(), strict=True):
            if i not in best_match or distances[i, j] < distances[i, best_match[i]]:
                best_match[i] = j
        close[ai[on_line], bj[on_line]] = False
        for run in split_runs(sorted(best_match), a.times_s, max_gap_s):
            matched = [best_match[i] for i in run]
            # A static shot matches itself at nearby offsets too: clear the whole block this run covers.
            close[run[0]:run[-1] + 1, min(matched):max(matched) + 1] = False
            run_offset = float(np.median(b.times_s[matched] - a.times_s[run]))
            a_start, a_end = _start_bounds(a, run[0]), _end_bounds(a, run[-1])
            b_start, b_end = _start_bounds(b, min(matched)), _end_bounds(b, max(matched))
            start = _edge(a_start, (b_start[0] - run_offset, b_start[1] - run_offset))
            end = _edge(a_end, (b_end[0] - run_offset, b_end[1] - run_offset))
            if len(run) < MIN_RUN_FRAMES or end - start < min_segment_s:
                continue
            segments.append(SharedSegment(
                start_s=round(start, 2), end_s=round(end, 2),
                other_start_s=round(_edge(b_start, (a_start[0] + run_offset, a_start[1] + run_offset)), 2),
                other_end_s=round(_edge(b_end, (a_end[0] + run_offset, a_end[1] + run_offset)), 2),
                signal="picture", frames=len(run),
                mean_hamming=round(float(np.mean([distances[i, best_match[i]] for i in run])), 2)))
    return segments


# --- sound ------------------------------------------------------------------------------------------------

def _bit_errors(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Differing bits of int32 sub-fingerprints ``a`` and ``b``, elementwise (a[:, None], b[None, :]: every
    pair)."""
    return popcount(np.bitwise_xor(a, b, dtype=np.int32))


def informative_audio(fingerprint: np.ndarray) -> np.ndarray:
    """Per sub-fingerprint, whether the sound changes around it (see AUDIO_MIN_CHANGE_BITS)."""
    lag = round(AUDIO_CHANGE_LAG_S / SECONDS_PER_SUBFINGERPRINT)
    change = np.zeros(len(fingerprint), dtype=np.int64)
    if len(fingerprint) > lag:
        steps = _bit_errors(fingerprint[lag:], fingerprint[:-lag])
        change[:-lag] = steps
        change[lag:] = np.maximum(change[lag:], steps)
    return change >= AUDIO_MIN_CHANGE_BITS


def _densest_sound_run(close: np.ndarray, min_segment_s: float, informative: np.ndarray) -> tuple[int, list[int]]:
    """(grid offset, sub-fingerprints of ``a``) of the run with the most matches on one diagonal of ``close``
    (gaps up to AUDIO_MAX_GAP_S) that lasts ``min_segment_s`` and is dense enough; (0, []) if there is none."""
    step = SECONDS_PER_SUBFINGERPRINT
    ai, bj = np.nonzero(close)
    if len(ai) == 0:
        return 0, []
    diagonals = bj - ai
    order = np.lexsort((ai, diagonals))  # diagonal by diagonal, in time order
    ai, diagonals = ai[order], diagonals[order]
    new_run = np.ones(len(ai), dtype=bool)
    new_run[1:] = (diagonals[1:] != diagonals[:-1]) | ((ai[1:] - ai[:-1]) * step > AUDIO_MAX_GAP_S)
    starts = np.flatnonzero(new_run)
    ends = np.append(starts[1:], len(ai)) - 1
    matches, first, last = ends - starts + 1, ai[starts], ai[ends]
    informative_before = np.concatenate([[0], np.cumsum(informative)])  # informative ones before each index
    long_enough = (last - first) * step + AUDIO_END_AFTER_LAST_S >= min_segment_s
    dense = matches >= AUDIO_MIN_DENSITY * (informative_before[last + 1] - informative_before[first])
    candidates = np.flatnonzero(long_enough & dense)
    if len(candidates) == 0:
        return 0, []
    best = candidates[np.argmax(matches[candidates])]
    return int(diagonals[starts[best]]), ai[starts[best]:ends[best] + 1].tolist()


def _sound_segments(a: EpisodeSignals, b: EpisodeSignals, frames_match: np.ndarray,
                    min_segment_s: float) -> list[SharedSegment]:
    """Dense runs of matching sub-fingerprints, densest first, where the pictures agree (``frames_match``: the
    frame pairs that match)."""
    if len(a.audio) == 0 or len(b.audio) == 0:
        return []
    distances = _bit_errors(a.audio[:, None], b.audio[None, :])
    a_informative = informative_audio(a.audio)
    close = (distances <= AUDIO_MATCH_BITS) & a_informative[:, None] & informative_audio(b.audio)[None, :]
    step = SECONDS_PER_SUBFINGERPRINT
    segments: list[SharedSegment] = []
    while True:
        offset, run = _densest_sound_run(close, min_segment_s, a_informative)
        if not run:
            return segments
        # A sustained sound matches itself one or two steps off too: clear the whole block this run covers.
        close[run[0]:run[-1] + 1, run[0] + offset:run[-1] + offset + 1] = False
        run_distances = distances[run, np.array(run) + offset]
        edges = [k for k, bits in zip(run, run_distances.tolist(), strict=True) if bits <= AUDIO_EDGE_BITS]
        run_span = (run[0] * step, run[-1] * step + AUDIO_END_AFTER_LAST_S)
        if not edges or not _pictures_agree(a, b, frames_match, run_span, offset * step):
            continue
        start, end = edges[0] * step, edges[-1] * step + AUDIO_END_AFTER_LAST_S
        segments.append(SharedSegment(
            start_s=round(start, 2), end_s=round(end, 2), other_start_s=round(start + offset * step, 2),
            other_end_s=round(end + offset * step, 2), signal="sound", frames=len(run),
            mean_hamming=round(float(np.mean(run_distances)), 2)))


def _pictures_agree(a: EpisodeSignals, b: EpisodeSignals, frames_match: np.ndarray, span: tuple[float, float],
                    offset_s: float) -> bool:
    """Whether a pair of frames within ``span`` of ``a`` matches at ``offset_s``: two episodes playing the same
    music (a score cue, one song) under different pictures share no segment."""
    inside = (a.times_s >= span[0]) & (a.times_s <= span[1])
    on_line = np.abs(b.times_s[None, :] - a.times_s[inside, None] - offset_s) <= ON_LINE_TOLERANCE_S
    return bool(np.any(frames_match[inside] & on_line))


# --- per episode ------------------------------------------------------------------------------------------

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

"""Verification of a candidate copy: temporal alignment of two frame-hash sequences, then the audio check.

Alignment: every (query frame, reference frame) pair within ``max_hamming`` bits votes for a line
``reference_time = speed * query_time + offset``; speeds from 0.75x to 1.35x are tried, so sped-up or
slowed-down copies align too. The line with the most distinct query frames on it wins; its longest run
of aligned frames (gaps up to ``max_gap_s``), or the line's whole span if at least SPAN_MIN_DENSITY of
its frames aligned, is the copied segment in both videos. At least MIN_ALIGNED_FRAMES must align, or every
usable frame of a clip that has fewer (a clip of 1-2 s at one frame a second is matched by the frames it has).

A *still* (``is_still``: one picture held, every usable frame's hash within STILL_MAX_HAMMING bits of the first,
over at least STILL_MIN_FRAMES frames) shows one moment of a video that moves: it is aligned at speed 0
(STILL_SPEEDS), every query frame onto that one moment, not onto a stretch of the reference's time.

Audio check: the chromaprint fingerprints compared along that same line, as a bit error rate.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.alignment import ON_LINE_TOLERANCE_S, best_line, split_runs
from core.bits import hamming_matrix, popcount
from core.signature import PITCH_SHIFTS, SECONDS_PER_SUBFINGERPRINT, pitch_factor

SPEEDS = np.round(np.arange(0.75, 1.351, 0.025), 3)
STILL_SPEEDS = np.array([0.0])
MIN_ALIGNED_FRAMES = 3
# In bench/verdict_cases.py every held picture, re-encoded, stayed within 4 bits of its first frame; every video
# that moves (Ken Burns pans included) of 4 frames or more had one at 120 bits or more from its first.
STILL_MIN_FRAMES = 4
STILL_MAX_HAMMING = 12
SPAN_MIN_DENSITY = 0.6

# Chromaprint bit error rates along the alignment. Unrelated audio is ~0.5. In bench/copy_eval.py the
# same soundtrack re-encoded, resampled or sped up (atempo) stayed <= 0.22 (one sped-up speech track:
# 0.32), while replaced soundtracks and voice-overs over the ducked original gave 0.35-0.46.
AUDIO_SAME_MAX_BER = 0.25
AUDIO_DIFFERENT_MIN_BER = 0.30
AUDIO_MIN_OVERLAP_S = 2.0
AUDIO_SHIFT_SEARCH_S = 1.0


@dataclass(frozen=True)
class Alignment:
    speed: float  # reference seconds per query second
    offset_s: float
    aligned_frames: int  # distinct query frames on the line inside the segment
    segment_frames: int  # usable query frames inside the segment
    mean_hamming: float
    exact: bool  # every query frame aligned at 0 bits and the segment spans both videos
    query_start_s: float
    query_end_s: float
    reference_start_s: float
    reference_end_s: float

    @property
    def segment_s(self) -> float:
        return self.query_end_s - self.query_start_s

    @property
    def confidence(self) -> float:
        """0..1: how sure this is a visual copy (many frames, densely aligned, few differing bits)."""
        density = self.aligned_frames / max(1, self.segment_frames)
        return round(min(1.0, self.aligned_frames / 6) * density * (1.0 - self.mean_hamming / 128), 4)


@dataclass(frozen=True)
class AudioCheck:
    status: str  # an AudioMatch symbol: SAME, DIFFERENT, INCONCLUSIVE, QUERY_SILENT, REFERENCE_SILENT, NOT_CHECKED
    bit_error_rate: float | None
    pitch_shift: int = 0  # semitones the copy's audio is raised by (negative: lowered) where that compared best


def _segment_bounds(times: np.ndarray, first: int, last: int, duration_s: float) -> tuple[float, float]:
    """Segment edges half-way to the neighbouring frames that are not in it (the video's ends otherwise)."""
    start = 0.0 if first == 0 else float(times[first - 1] + times[first]) / 2
    end = duration_s if last == len(times) - 1 else float(times[last] + times[last + 1]) / 2
    return start, max(end, start)


def is_still(hashes: np.ndarray, usable: np.ndarray) -> bool:
    """Do the usable frames of ``hashes`` (packed PDQ, one per frame) hold one picture: at least STILL_MIN_FRAMES
    of them, each within STILL_MAX_HAMMING bits of the first?"""
    frames = hashes[usable]
    return len(frames) >= STILL_MIN_FRAMES and int(hamming_matrix(frames[:1], frames).max()) <= STILL_MAX_HAMMING


def align(distances: np.ndarray, query_times: np.ndarray, query_usable: np.ndarray, query_duration_s: float,
          reference_times: np.ndarray, reference_usable: np.ndarray, reference_duration_s: float,
          max_hamming: int, max_gap_s: float, speeds: np.ndarray = SPEEDS) -> Alignment | None:
    """The best temporal alignment of the query's frames onto the reference's at one of ``speeds``, or None if
    too few agree.

    ``distances`` are the PDQ Hamming distances of every (query frame, reference frame) pair (see
    core.bits.hamming_matrix); ``*_usable`` masks frames with enough detail to compare.
    """
    needed = max(1, min(MIN_ALIGNED_FRAMES, int(np.count_nonzero(query_usable))))
    close = (distances <= max_hamming) & query_usable[:, None] & reference_usable[None, :]
    qi, rj = np.nonzero(close)
    if len(np.unique(qi)) < needed:
        return None
    t, s = query_times[qi].astype(np.float64), reference_times[rj].astype(np.float64)
    speed, offset = best_line(t, s, qi, distances[qi, rj], speeds)
    on_line = np.abs(s - speed * t - offset) <= ON_LINE_TOLERANCE_S
    # Per aligned query frame, its closest reference frame on the line.
    per_frame: dict[int, int] = {}
    for i, j in zip(qi[on_line], rj[on_line], strict=True):
        if i not in per_frame or distances[i, j] < distances[i, per_frame[i]]:
            per_frame[int(i)] = int(j)
    aligned = sorted(per_frame)
    runs = split_runs(aligned, query_times, max_gap_s)
    # The whole span of the line when it is dense enough (a copy with some noisy frames), else the
    # longest run (a segment of one video inside another).
    span_usable = int(np.count_nonzero(query_usable[aligned[0]:aligned[-1] + 1]))
    run = aligned if len(aligned) >= SPAN_MIN_DENSITY * span_usable else max(runs, key=len)
    if len(run) < needed:
        return None
    query_start, query_end = _segment_bounds(query_times, run[0], run[-1], query_duration_s)
    reference_start = float(np.clip(speed * query_start + offset, 0.0, reference_duration_s))
    reference_end = float(np.clip(speed * query_end + offset, reference_start, reference_duration_s))
    segment_frames = int(np.count_nonzero(query_usable[run[0]:run[-1] + 1]))
    run_distances = [int(distances[i, per_frame[i]]) for i in run]
    exact = (max(run_distances) == 0 and len(run) == int(np.count_nonzero(query_usable))
             and len(set(per_frame[i] for i in run)) == int(np.count_nonzero(reference_usable)))
    return Alignment(
        speed=float(speed), offset_s=round(offset, 3), aligned_frames=len(run), segment_frames=segment_frames,
        mean_hamming=round(float(np.mean(run_distances)), 2), exact=exact,
        query_start_s=round(query_start, 2), query_end_s=round(query_end, 2),
        reference_start_s=round(reference_start, 2), reference_end_s=round(reference_end, 2))


def _bit_error_rates(query_fp: np.ndarray, reference_fp: np.ndarray, alignment: Alignment,
                     shifts_s: np.ndarray, query_step_s: float = SECONDS_PER_SUBFINGERPRINT) -> np.ndarray:
    """Per shift of the line (seconds), the mean share of differing bits between the query's sub-fingerprints
    inside the segment (one every ``query_step_s`` of the query) and the reference's along the line; NaN where
    they overlap by less than AUDIO_MIN_OVERLAP_S."""
    step = SECONDS_PER_SUBFINGERPRINT
    first = int(np.ceil(alignment.query_start_s / query_step_s))
    last = min(len(query_fp), int(alignment.query_end_s / query_step_s))
    if (last - first) * query_step_s < AUDIO_MIN_OVERLAP_S:
        return np.full(len(shifts_s), np.nan)
    k = np.arange(first, last)
    reference_k = np.round((alignment.speed * k[None, :] * query_step_s + alignment.offset_s + shifts_s[:, None])
                           / step).astype(np.int64)  # (shifts, k)
    inside = (reference_k >= 0) & (reference_k < len(reference_fp))
    overlap = np.count_nonzero(inside, axis=1)
    along = reference_fp[np.clip(reference_k, 0, len(reference_fp) - 1)]
    differing = popcount(np.bitwise_xor(query_fp[k][None, :], along))
    rates = np.sum(differing * inside, axis=1) / np.maximum(32 * overlap, 1)
    return np.where(overlap < AUDIO_MIN_OVERLAP_S / step, np.nan, rates)


def check_audio(query_fp: np.ndarray, reference_fp: np.ndarray, alignment: Alignment,
                shift_search_s: float = AUDIO_SHIFT_SEARCH_S,
                pitch_fingerprints: tuple[np.ndarray, ...] = ()) -> AudioCheck:
    """Does the copied segment carry the reference's audio? Shifts of up to ``shift_search_s`` around the visual line
    are tried, because audio and picture are not cut at exactly the same instant; where the audio is not the same
    as it is, the query's ``pitch_fingerprints`` (core.signature.CopySignature: one per PITCH_SHIFTS) too, so a copy
    whose sound was raised or lowered a few semitones still carries the original's audio."""
    if alignment.speed == 0.0:  # a still: no stretch of the reference's time to compare along
        return AudioCheck("NOT_CHECKED", None)
    if query_fp.size == 0:
        return AudioCheck("QUERY_SILENT", None)
    if reference_fp.size == 0:
        return AudioCheck("REFERENCE_SILENT", None)
    step = SECONDS_PER_SUBFINGERPRINT
    shifts = np.arange(-shift_search_s, shift_search_s + step / 2, step)
    rates = _bit_error_rates(query_fp, reference_fp, alignment, shifts)
    if np.isnan(rates).all():
        return AudioCheck("INCONCLUSIVE", None)
    best = (round(float(np.nanmin(rates)), 3), 0)
    if best[0] > AUDIO_SAME_MAX_BER:
        for semitones, fingerprint in zip(PITCH_SHIFTS, pitch_fingerprints, strict=False):
            shifted = _bit_error_rates(fingerprint, reference_fp, alignment, shifts, step / pitch_factor(semitones))
            if not np.isnan(shifted).all():
                best = min(best, (round(float(np.nanmin(shifted)), 3), semitones), key=lambda found: found[0])
    ber, semitones = best
    if ber <= AUDIO_SAME_MAX_BER:
        return AudioCheck("SAME", ber, semitones)
    if ber >= AUDIO_DIFFERENT_MIN_BER:
        return AudioCheck("DIFFERENT", ber, semitones)
    return AudioCheck("INCONCLUSIVE", ber, semitones)

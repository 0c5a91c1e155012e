"""Pure tests of recurring-segment alignment (streams/recurring_segments.py) on synthetic frame hashes and
chromaprints.

Episodes are sampled like the decoder does: one frame per second plus a frame at every cut, and one
sub-fingerprint every SECONDS_PER_SUBFINGERPRINT. The real-media test is tests/stack/test_series.py; the evaluation
is bench/series_eval.py.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from core.recurring_segments import (
    AUDIO_END_AFTER_LAST_S,
    EpisodeSignals,
    SharedSegment,
    informative_audio,
    merge_shared,
    segment_kind,
    shared_segments,
)
from core.signature import FRAMINGS, TURNS, WHOLE_FRAME, CopySignature
from core.signature import SECONDS_PER_SUBFINGERPRINT as STEP

RNG = np.random.default_rng(11)


def random_hashes(n: int) -> np.ndarray:
    return RNG.integers(0, 256, size=(n, 32), dtype=np.uint8)


def noisy(hashes: np.ndarray, flipped_bits: int) -> np.ndarray:
    unpacked = np.unpackbits(hashes, axis=1)
    for row in unpacked:
        row[RNG.choice(256, size=flipped_bits, replace=False)] ^= 1
    return np.packbits(unpacked, axis=1)


def random_sound(n: int) -> np.ndarray:
    """``n`` int32 sub-fingerprints of a sound unlike any other."""
    return RNG.integers(-2**31, 2**31, size=n, dtype=np.int64).astype(np.int32)


def noisy_sound(fingerprint: np.ndarray, flipped_bits: int) -> np.ndarray:
    flips = [sum(1 << int(bit) for bit in RNG.choice(32, size=flipped_bits, replace=False)) for _ in fingerprint]
    return (fingerprint.view(np.uint32) ^ np.array(flips, dtype=np.uint32)).view(np.int32)


def episode(pieces: list[tuple[float, np.ndarray]], audio: np.ndarray | None = None) -> EpisodeSignals:
    """Concatenated pieces (seconds, hashes of the piece at 1 per second from its start, the first at a cut);
    the whole frame hashes like the picture; silent unless ``audio`` is given."""
    times, bits, cuts = [], [], []
    start = 0.0
    for seconds, hashes in pieces:
        for k in range(int(np.ceil(seconds))):
            times.append(start + k)
            bits.append(hashes[k])
            cuts.append(k == 0 and start > 0)
        start += seconds
    return EpisodeSignals(times_s=np.array(times), bits=np.array([bits, bits]), usable=np.ones(len(times), bool),
                          cuts=np.array(cuts), audio=np.zeros(0, np.int32) if audio is None else audio,
                          duration_s=start)


def edges(found: list[SharedSegment]) -> list[tuple[float, float, float, float]]:
    return [(s.start_s, s.end_s, s.other_start_s, s.other_end_s) for s in found]


def test_an_episode_is_aligned_on_its_picture_and_whole_frame_hashes_and_its_chromaprint() -> None:
    bits = np.stack([random_hashes(4) for _ in range(FRAMINGS)])
    signature = CopySignature(
        times_s=np.arange(4, dtype=np.float32), cuts=np.zeros(4, bool), quality=np.array([100, 10, 100, 100], np.int16),
        bits=bits, turned_bits=np.stack([random_hashes(4)] * len(TURNS)), tile_bits=np.zeros((0, 4, 32), np.uint8),
        index_frames=[0],
        audio_fingerprint=random_sound(20), duration_s=4.0)
    signals = EpisodeSignals.from_signature(signature, min_quality=50)
    assert np.array_equal(signals.bits, bits[[0, WHOLE_FRAME]]) and signals.usable.tolist() == [True, False, True, True]
    assert signals.audio is signature.audio_fingerprint


def test_an_intro_at_other_offsets_is_found_with_its_cut_edges_in_both() -> None:
    intro, credits = random_hashes(8), random_hashes(5)
    first = episode([(8, intro), (20, random_hashes(20)), (5, credits)])
    second = episode([(4.5, random_hashes(5)), (8, noisy(intro, 12)), (15, random_hashes(15)), (5, noisy(credits, 8))])
    found = shared_segments(first, second, max_hamming=48, min_segment_s=3, max_gap_s=3)
    assert edges(found) == [(0.0, 8.0, 4.5, 12.5), (28.0, 33.0, 27.5, 32.5)]
    assert all(s.signal == "picture" and s.mean_hamming <= 12 for s in found)
    reverse = shared_segments(second, first, max_hamming=48, min_segment_s=3, max_gap_s=3)
    assert [(s.start_s, s.end_s) for s in reverse] == [(4.5, 12.5), (27.5, 32.5)]


def test_a_cut_the_decoder_missed_in_one_episode_is_taken_from_the_other() -> None:
    intro = random_hashes(8)
    first = episode([(8, intro), (20, random_hashes(20))])  # the intro ends with a cut at 8.0
    second = episode([(4.5, random_hashes(5)), (8, intro), (20, random_hashes(20))])
    unsampled = replace(second, cuts=second.cuts & (second.times_s != 12.5))  # no frame at its cut at 12.5
    [found] = shared_segments(unsampled, first, max_hamming=48, min_segment_s=3, max_gap_s=3)
    assert (found.end_s, found.other_end_s) == (12.5, 8.0)  # not half-way between 11.5 and 12.5


def test_frames_match_on_the_whole_frame_when_one_episode_crops_them() -> None:
    intro = random_hashes(6)
    first = episode([(6, intro), (20, random_hashes(20))])
    second = episode([(3, random_hashes(3)), (6, intro), (20, random_hashes(20))])
    # The second episode is mostly letterboxed: its intro frames were hashed cropped to those bars.
    cropped = second.bits.copy()
    cropped[0, 3:9] = noisy(intro, 90)
    assert edges(shared_segments(first, replace(second, bits=cropped), 48, 3, 3)) == [(0.0, 6.0, 3.0, 9.0)]


def test_a_static_intro_is_one_segment_and_unrelated_episodes_share_nothing() -> None:
    card = np.repeat(random_hashes(1), 6, axis=0)  # a title card held for 6 s matches itself at many offsets
    first = episode([(6, card), (20, random_hashes(20))])
    second = episode([(3, random_hashes(3)), (6, card), (20, random_hashes(20))])
    found = shared_segments(first, second, max_hamming=48, min_segment_s=3, max_gap_s=3)
    assert edges(found) == [(0.0, 6.0, 3.0, 9.0)]
    assert shared_segments(first, episode([(30, random_hashes(30))]), 48, 3, 3) == []


def test_shared_parts_shorter_than_the_minimum_are_ignored() -> None:
    jingle = random_hashes(2)
    first = episode([(2, jingle), (20, random_hashes(20))])
    second = episode([(5, random_hashes(5)), (2, jingle), (20, random_hashes(20))])
    assert shared_segments(first, second, max_hamming=48, min_segment_s=3, max_gap_s=3) == []


def moving_intro_pair(first_shared: int = 1) -> tuple[EpisodeSignals, EpisodeSignals, int]:
    """Two episodes with an 8 s intro, the second after a 4.5 s cold open, sampled at phases where only one
    frame of the intro matches (a fast-moving intro), and its sound shared (``first_shared`` frames of the
    second episode's intro match the first's). Also the grid offset of the second's intro sound."""
    intro, sound = random_hashes(8), random_sound(round(8 / STEP))
    other_phase = np.array([intro[0] if k < first_shared else noisy(intro[k:k + 1], 100)[0] for k in range(8)])
    offset = round(4.5 / STEP)
    first = episode([(8, intro), (20, random_hashes(20))], np.concatenate([sound, random_sound(160)]))
    second = episode([(4.5, random_hashes(5)), (8, other_phase), (20, random_hashes(20))],
                     np.concatenate([random_sound(offset), noisy_sound(sound, 1), random_sound(160)]))
    return first, second, offset


def test_the_sound_finds_an_intro_whose_frames_hardly_match() -> None:
    first, second, offset = moving_intro_pair()
    [found] = shared_segments(second, first, max_hamming=48, min_segment_s=3, max_gap_s=3)
    last = offset + round(8 / STEP) - 1
    assert found.signal == "sound" and found.mean_hamming == 1.0
    assert (found.start_s, found.end_s) == (round(offset * STEP, 2), round(last * STEP + AUDIO_END_AFTER_LAST_S, 2))
    assert (found.other_start_s, found.start_s - found.other_start_s) == (0.0, round(offset * STEP, 2))


def test_the_same_sound_under_other_pictures_is_not_a_shared_segment() -> None:
    first, second, _ = moving_intro_pair(first_shared=0)
    assert shared_segments(second, first, max_hamming=48, min_segment_s=3, max_gap_s=3) == []


def test_sound_edges_are_where_the_sound_matches_closely() -> None:
    first, second, offset = moving_intro_pair()
    # Sub-fingerprints just before an edge half-match (their window is part intro): a run, but not its edge.
    blurred = second.audio.copy()
    blurred[offset:offset + 5] = noisy_sound(first.audio[:5], 6)
    [found] = shared_segments(replace(second, audio=blurred), first, max_hamming=48, min_segment_s=3, max_gap_s=3)
    assert found.frames == round(8 / STEP) and found.start_s == round((offset + 5) * STEP, 2)


def test_silence_and_steady_tones_are_not_compared() -> None:
    tone, speech = np.full(60, 123456, dtype=np.int32), random_sound(60)
    assert not informative_audio(tone).any() and informative_audio(speech).all()
    # A logo frame (too short to be a segment), then silence in both: it matches any silence at any offset.
    logo = random_hashes(1)
    first = episode([(1, logo), (29, random_hashes(29))], np.concatenate([tone, random_sound(180)]))
    offset = round(3 / STEP)
    second = episode([(3, random_hashes(3)), (1, logo), (26, random_hashes(26))],
                     np.concatenate([random_sound(offset), tone, random_sound(180 - offset)]))
    assert shared_segments(first, second, max_hamming=48, min_segment_s=3, max_gap_s=3) == []
    silent = replace(second, audio=np.full(240, 123456, dtype=np.int32))
    assert shared_segments(replace(first, audio=tone), silent, max_hamming=48, min_segment_s=3, max_gap_s=3) == []


def test_intervals_shared_with_several_episodes_merge_and_get_their_kind() -> None:
    merged = merge_shared([("e2", 0.0, 5.0), ("e3", 0.0, 8.0), ("e2", 52.0, 60.0), ("e3", 8.3, 9.0),
                           ("e3", 30.0, 34.0)], duration_s=60.0)
    assert [(s.kind, s.start_s, s.end_s, s.shared_with) for s in merged] == [
        ("intro", 0.0, 9.0, ("e2", "e3")), ("recurring", 30.0, 34.0, ("e3",)), ("credits", 52.0, 60.0, ("e2",))]
    assert segment_kind(10.0, 20.0, 60.0) == "intro"  # after a cold open
    assert segment_kind(0.0, 60.0, 60.0) == "intro"  # a whole episode shared is not "credits"

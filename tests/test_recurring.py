"""Pure tests of recurring-segment alignment (streams/recurring_segments.py) on synthetic frame hashes.

Episodes are sampled like the decoder does: one frame per second plus a frame at every cut. The real-media
test is tests/test_series.py; the evaluation is bench/series_eval.py.
"""

from __future__ import annotations

import numpy as np

from streams.recurring_segments import EpisodeFrames, merge_shared, segment_kind, shared_segments

RNG = np.random.default_rng(11)


def random_hashes(n: int) -> np.ndarray:
    return RNG.integers(0, 256, size=(n, 32), dtype=np.uint8)


def noisy(hashes: np.ndarray, flipped_bits: int) -> np.ndarray:
    unpacked = np.unpackbits(hashes, axis=1)
    for row in unpacked:
        row[RNG.choice(256, size=flipped_bits, replace=False)] ^= 1
    return np.packbits(unpacked, axis=1)


def episode(pieces: list[tuple[float, np.ndarray]]) -> EpisodeFrames:
    """Concatenated pieces (seconds, hashes of the piece at 1 per second from its start, the first at a cut)."""
    times, bits, cuts = [], [], []
    start = 0.0
    for seconds, hashes in pieces:
        for k in range(int(np.ceil(seconds))):
            times.append(start + k)
            bits.append(hashes[k])
            cuts.append(k == 0 and start > 0)
        start += seconds
    return EpisodeFrames(times_s=np.array(times), bits=np.array(bits), usable=np.ones(len(times), bool),
                         cuts=np.array(cuts), duration_s=start)


def test_an_intro_at_other_offsets_is_found_with_its_cut_edges_in_both() -> None:
    intro, credits = random_hashes(8), random_hashes(5)
    first = episode([(8, intro), (20, random_hashes(20)), (5, credits)])
    second = episode([(4.5, random_hashes(5)), (8, noisy(intro, 12)), (15, random_hashes(15)), (5, noisy(credits, 8))])
    found = shared_segments(first, second, max_hamming=48, min_segment_s=3, max_gap_s=3)
    assert [(s.start_s, s.end_s, s.other_start_s, s.other_end_s) for s in found] == [
        (0.0, 8.0, 4.5, 12.5), (28.0, 33.0, 27.5, 32.5)]
    assert all(s.mean_hamming <= 12 for s in found)
    reverse = shared_segments(second, first, max_hamming=48, min_segment_s=3, max_gap_s=3)
    assert [(s.start_s, s.end_s) for s in reverse] == [(4.5, 12.5), (27.5, 32.5)]


def test_a_static_intro_is_one_segment_and_unrelated_episodes_share_nothing() -> None:
    card = np.repeat(random_hashes(1), 6, axis=0)  # a title card held for 6 s matches itself at many offsets
    first = episode([(6, card), (20, random_hashes(20))])
    second = episode([(3, random_hashes(3)), (6, card), (20, random_hashes(20))])
    found = shared_segments(first, second, max_hamming=48, min_segment_s=3, max_gap_s=3)
    assert [(s.start_s, s.end_s, s.other_start_s, s.other_end_s) for s in found] == [(0.0, 6.0, 3.0, 9.0)]
    assert shared_segments(first, episode([(30, random_hashes(30))]), 48, 3, 3) == []


def test_shared_parts_shorter_than_the_minimum_are_ignored() -> None:
    jingle = random_hashes(2)
    first = episode([(2, jingle), (20, random_hashes(20))])
    second = episode([(5, random_hashes(5)), (2, jingle), (20, random_hashes(20))])
    assert shared_segments(first, second, max_hamming=48, min_segment_s=3, max_gap_s=3) == []


def test_intervals_shared_with_several_episodes_merge_and_get_their_kind() -> None:
    merged = merge_shared([("e2", 0.0, 5.0), ("e3", 0.0, 8.0), ("e2", 52.0, 60.0), ("e3", 8.3, 9.0),
                           ("e3", 30.0, 34.0)], duration_s=60.0)
    assert [(s.kind, s.start_s, s.end_s, s.shared_with) for s in merged] == [
        ("intro", 0.0, 9.0, ("e2", "e3")), ("recurring", 30.0, 34.0, ("e3",)), ("credits", 52.0, 60.0, ("e2",))]
    assert segment_kind(10.0, 20.0, 60.0) == "intro"  # after a cold open
    assert segment_kind(0.0, 60.0, 60.0) == "intro"  # a whole episode shared is not "credits"

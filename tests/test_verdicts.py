"""Pure unit tests of the verdict rules (the real-index behaviour is in test_pipeline.py)."""

from __future__ import annotations

from storage.frame_index import FrameNeighbour
from streams.verdicts import decide, summarize_matches

TIMES = [0.0, 1.0, 2.0, 3.0]


def hits(video_id: str, published_at_ms: int, frames: list[int], hamming: int = 4, count: int = 4) -> list:
    return [FrameNeighbour(query_frame=i, video_id=video_id, frame_index=i, t_s=float(i), frame_count=count,
                           published_at_ms=published_at_ms, hamming=hamming) for i in frames]


def verdict_for(neighbours: list, video_id: str = "q", published_at_ms: int = 5000):
    return decide(summarize_matches(neighbours, TIMES), video_id, published_at_ms, len(TIMES), 0.8, 0.5)


def test_full_match_of_earlier_video_is_near_duplicate() -> None:
    v = verdict_for(hits("orig", 1000, [0, 1, 2, 3]))
    assert (v.kind, v.duplicate_of, v.score) == ("NEAR_DUPLICATE", "orig", 1.0)


def test_identical_frames_are_exact_duplicate() -> None:
    assert verdict_for(hits("orig", 1000, [0, 1, 2, 3], hamming=0)).kind == "EXACT_DUPLICATE"


def test_later_published_match_is_not_an_original() -> None:
    v = verdict_for(hits("later", 9000, [0, 1, 2, 3]))
    assert (v.kind, v.duplicate_of) == ("UNIQUE", None)
    assert "later-published copies: later" in v.reason


def test_earliest_published_wins_and_ties_break_on_id() -> None:
    neighbours = hits("b-second", 2000, [0, 1, 2, 3]) + hits("a-first", 1000, [0, 1, 2, 3])
    assert verdict_for(neighbours).duplicate_of == "a-first"
    same_time = hits("zz", 1000, [0, 1, 2, 3]) + hits("aa", 1000, [0, 1, 2, 3])
    assert verdict_for(same_time).duplicate_of == "aa"
    # Two copies with the same timestamp: only the one with the smaller id sees the other as original.
    assert verdict_for(hits("b", 5000, [0, 1, 2, 3]), video_id="a").duplicate_of is None
    assert verdict_for(hits("a", 5000, [0, 1, 2, 3]), video_id="b").duplicate_of == "a"


def test_half_covered_is_partial_copy_with_time_ranges() -> None:
    v = verdict_for(hits("orig", 1000, [2, 3], count=2))
    assert v.kind == "PARTIAL_COPY" and v.duplicate_of == "orig"
    assert (v.matches[0].query_start_s, v.matches[0].query_end_s) == (2.0, 3.0)


def test_single_frame_match_stays_unique() -> None:
    assert verdict_for(hits("orig", 1000, [0], count=10)).kind == "UNIQUE"


def test_no_comparable_frames() -> None:
    v = decide([], "q", 1, 0, 0.8, 0.5)
    assert v.kind == "UNIQUE" and "no frame had enough detail" in v.reason

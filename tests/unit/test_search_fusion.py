"""Reciprocal rank fusion with keyword coverage and ties broken by meaning (search/engine.py), without servers."""

from __future__ import annotations

from search.engine import RRF_K, collapse_copies, corrected, fuse
from storage.search_index import ChunkHit


def chunk(video_id: str, score: float, coverage: float = 1.0, kind: str = "transcript") -> ChunkHit:
    return ChunkHit(video_id, kind, 1.0, 2.0, "text", score, coverage=coverage)


def test_one_word_of_seven_weighs_a_seventh_of_a_keyword_rank() -> None:
    fused = fuse({"keyword": [chunk("decoy", 9.0, coverage=1 / 7)], "semantic": [chunk("meant", 0.6)]})
    assert fused["decoy"].score == (1 / 7) / (RRF_K + 1)
    assert fused["meant"].score == 1 / (RRF_K + 1) and fused["meant"].meaning == 0.6


def test_a_video_ranks_by_its_best_chunk_in_each_signal() -> None:
    fused = fuse({"semantic": [chunk("a", 0.8), chunk("b", 0.4), chunk("a", 0.6)],
                  "keyword": [chunk("b", 5.0)]})
    assert fused["a"].ranks == {"semantic": 1} and fused["b"].ranks == {"semantic": 2, "keyword": 1}
    assert fused["b"].score == (0.4 / 0.8) / (RRF_K + 2) + 1 / (RRF_K + 1)  # half the best similarity: half a rank
    assert fused["a"].meaning == 0.8  # its best chunk's similarity, not its last


def test_a_weak_meaning_and_one_shared_word_stay_below_a_strong_meaning() -> None:
    """The search API test's case: the cushions' "Home sweet home" shares one of six query words and is third by
    meaning (0.28); the derby is first by meaning (0.47) and shares no word."""
    fused = fuse({"semantic": [chunk("derby", 0.47), chunk("train", 0.34), chunk("cushions", 0.28)],
                  "keyword": [chunk("cushions", 3.0, coverage=1 / 6)]})
    assert fused["derby"].score > fused["cushions"].score


def test_corrected_query_keeps_the_user_words_it_did_not_correct() -> None:
    assert corrected("Lighthuose tour, please", {"lighthuose": "lighthouse"}) == "lighthouse tour, please"
    assert corrected("вокзал закрыт до утрп", {"утрп": "утра"}) == "вокзал закрыт до утра"
    assert corrected("anything", {}) is None


def test_copies_collapse_into_their_best_ranked_member() -> None:
    """A demo clip and three copies of it (one a copy of a copy: the copy stage keeps the root original) are one
    entry, where the best of them ranked; the target is second, not fifth."""
    ranked = ["copy-1", "demo", "copy-2", "copy-3", "target", "other"]
    originals = {"copy-1": "demo", "copy-2": "demo", "copy-3": "demo"}
    assert collapse_copies(ranked, originals) == [("copy-1", ["demo", "copy-2", "copy-3"]), ("target", []),
                                                  ("other", [])]
    assert collapse_copies(ranked, {}) == [(video_id, []) for video_id in ranked]

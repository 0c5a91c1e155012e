"""The copy benchmark's figures on hand-made rankings: micro-AP, recall at a precision, per-part counts."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.copy_bench import QueryResult, breakdown, figures
from bench.copy_bench_corpus import BenchVideo
from bench.copy_matchers import Prediction
from bench.figures import micro_average_precision, recall_at_precision


def test_micro_average_precision() -> None:
    # ranking: hit, miss, hit; 3 positives (one never predicted): (1/1 + 2/3) / 3
    assert micro_average_precision([(0.9, True), (0.5, True), (0.7, False)], 3) == pytest.approx((1 + 2 / 3) / 3)
    assert micro_average_precision([(0.9, True), (0.8, True)], 2) == 1.0
    assert micro_average_precision([(0.9, False)], 0) == 0.0


def test_recall_at_precision() -> None:
    scored = [(0.9, True), (0.8, True), (0.7, False), (0.6, True), (0.5, True)]
    assert recall_at_precision(scored, 5, 0.99) == (0.4, 0.8)  # above the first miss only
    assert recall_at_precision(scored, 5, 0.75) == (0.8, 0.5)  # 4 hits of 5 taken
    assert recall_at_precision([(0.3, False), (0.2, True)], 1, 0.99) == (0.0, None)
    # equal scores stand or fall together: a miss tied with the best hit spoils it
    assert recall_at_precision([(0.9, True), (0.9, False), (0.5, True)], 2, 0.99) == (0.0, None)


def query(video_id: str, reference_id: str | None, families: list[str]) -> BenchVideo:
    chain = [{"family": f, "params": {}} for f in families]
    return BenchVideo(video_id, Path(f"{video_id}.mp4"), "query", {"kind": "edited"}, chain, reference_id)


def test_figures_count_pairs_at_the_operating_point_and_per_part() -> None:
    results = [
        QueryResult(query("q1", "ref-a", ["crop"]), [Prediction("ref-a", 0.9, True), Prediction("dis-1", 0.4, False),
                                                     Prediction("ref-a", 0.2, False)], 0.1),
        QueryResult(query("q2", "ref-b", ["crop", "speed"]), [Prediction("dis-2", 0.8, True)], 0.1),
        QueryResult(query("q3", None, ["speed"]), [Prediction("ref-a", 0.3, True)], 0.1),
    ]
    all_ = figures(results, {"dis-1", "dis-2"})
    assert all_["queries"] == 3 and all_["positive_pairs"] == 2 and all_["found"] == 1
    assert all_["false_pairs"] == 2 and all_["false_pairs_from_distractors"] == 1
    assert all_["precision"] == pytest.approx(1 / 3, abs=1e-4) and all_["recall"] == 0.5
    # ranking 0.9 hit, 0.8 miss, 0.4 miss, 0.3 miss (ref-a counted once for q1, at its best score)
    assert all_["micro_ap"] == 0.5 and all_["recall_at_p99"] == 0.5 and all_["threshold_at_p99"] == 0.9
    parts = breakdown(results, {"dis-1", "dis-2"})
    assert parts["family crop"]["queries"] == 2 and parts["family speed"]["queries"] == 2
    assert parts["family speed"]["positive_pairs"] == 1 and parts["family speed"]["recall"] == 0.0
    assert parts["group temporal"]["queries"] == 2 and parts["family rotate"]["queries"] == 0
    assert parts["chain length 1"]["queries"] == 2 and parts["chain length 2"]["queries"] == 1

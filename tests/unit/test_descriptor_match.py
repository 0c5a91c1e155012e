"""Matching by frame descriptors (core/descriptor_match.py) on made-up unit vectors."""

from __future__ import annotations

import numpy as np
import pytest

from core.descriptor_match import background_similarity, match, view_similarities


def unit(rows: np.ndarray) -> np.ndarray:
    return rows / np.linalg.norm(rows, axis=-1, keepdims=True)


def test_a_copy_at_another_speed_lies_on_a_line_with_its_ranges() -> None:
    """A query whose seconds 2..9 show the reference's seconds 3..13.5 (played 1.5x), seen through its third view
    (an inset, say), among frames of other pictures: the line, the ranges and the view are found."""
    rng = np.random.default_rng(7)
    reference = unit(rng.normal(size=(20, 64)))
    reference_times = np.arange(20, dtype=np.float64)
    query_times = np.arange(12, dtype=np.float64)
    views = unit(rng.normal(size=(12, 4, 64)))
    for second in range(2, 10):
        shown = 3 + 1.5 * (second - 2)
        views[second, 2] = unit(reference[int(round(shown))] + 0.05 * rng.normal(size=64))
    similarities, which = view_similarities(views, reference)
    found = match(query_times, similarities, which, np.full(12, 0.5), reference_times, tolerance_s=1.1)
    assert found is not None and found.frames == 8 and found.view == 2
    assert found.speed == pytest.approx(1.5, abs=0.1)
    assert found.query_range_s == (2.0, 9.0) and found.reference_range_s[0] == 3.0 and found.reference_range_s[1] >= 13
    assert found.score > 8 * 0.4


def test_frames_that_match_out_of_order_score_less_than_a_line() -> None:
    rng = np.random.default_rng(3)
    reference = unit(rng.normal(size=(10, 32)))
    in_order = unit(reference + 0.2 * rng.normal(size=(10, 32)))[:, None, :]
    shuffled = in_order[rng.permutation(10)]
    times = np.arange(10, dtype=np.float64)
    background = np.full(10, 0.2)
    lined = match(times, *view_similarities(in_order, reference), background, times, tolerance_s=0.6)
    scattered = match(times, *view_similarities(shuffled, reference), background, times, tolerance_s=0.6)
    assert lined is not None and scattered is not None
    assert lined.frames == 10 and scattered.frames < 5 and scattered.score < lined.score / 2


def test_nothing_above_the_background_is_no_match() -> None:
    rng = np.random.default_rng(1)
    reference = unit(rng.normal(size=(5, 16)))
    views = unit(rng.normal(size=(6, 3, 16)))
    similarities, which = view_similarities(views, reference)
    background = similarities.max(axis=1) + 0.01
    assert match(np.arange(6.0), similarities, which, background, np.arange(5.0), tolerance_s=0.6) is None


def test_the_background_is_the_similarity_to_the_kth_most_similar_video() -> None:
    best_per_video = np.array([[0.9, 0.1, 0.5, 0.3], [0.2, 0.4, 0.6, 0.8]])
    assert background_similarity(best_per_video, 2).tolist() == [0.5, 0.6]
    assert background_similarity(best_per_video, 10).tolist() == [0.1, 0.2]  # fewer videos: the least similar

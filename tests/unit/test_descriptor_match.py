"""The descriptor copy signal's pure parts: codes (core/descriptor_codes.py) and matching (core/descriptor_match.py),
on made-up unit vectors."""

from __future__ import annotations

import numpy as np
import pytest

from core.descriptor_codes import (
    CODE_BITS,
    CODE_BYTES,
    DESCRIPTOR_DIMS,
    KNN_DIMS,
    code_similarities,
    codes,
    knn_vectors,
)
from core.descriptor_match import Spans, background_similarity, match, view_similarities


def unit(rows: np.ndarray) -> np.ndarray:
    return rows / np.linalg.norm(rows, axis=-1, keepdims=True)


def with_cosine(base: np.ndarray, cosine: float, rng: np.random.Generator) -> np.ndarray:
    """A unit vector at ``cosine`` to the unit vector ``base``."""
    other = rng.normal(size=base.shape)
    other = unit(other - (other @ base) * base)
    return cosine * base + np.sqrt(1 - cosine ** 2) * other


def test_codes_estimate_the_cosine_and_knn_vectors_keep_the_order() -> None:
    rng = np.random.default_rng(5)
    base = unit(rng.normal(size=DESCRIPTOR_DIMS))
    cosines = (0.95, 0.8, 0.6, 0.4, 0.1)
    others = np.stack([with_cosine(base, c, rng) for c in cosines])
    assert codes(others).shape == (5, CODE_BYTES) and knn_vectors(others).shape == (5, KNN_DIMS)
    estimated = code_similarities(codes(base[None]), codes(others))[0]
    # SimHash: the share of differing bits is binomial around angle / pi
    angles = np.arccos(cosines)
    deviation = np.pi * np.sqrt(angles / np.pi * (1 - angles / np.pi) / CODE_BITS) * np.sin(angles)
    assert np.all(np.abs(estimated - np.array(cosines)) < 4 * deviation)
    projected = knn_vectors(others).astype(np.float32) @ knn_vectors(base[None]).astype(np.float32)[0]
    assert np.all(np.diff(projected) < 0)  # as far apart as these, the projection keeps their order


def query_and_reference(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A reference of 20 pictures 1 s apart, and 12 query pictures whose 2..9 show it played 1.5x from its
    second 3, in the query's third view (an inset, say); the other views show unrelated pictures."""
    reference = unit(rng.normal(size=(20, DESCRIPTOR_DIMS)))
    views = unit(rng.normal(size=(12, 4, DESCRIPTOR_DIMS)))
    for second in range(2, 10):
        views[second, 2] = with_cosine(reference[int(round(3 + 1.5 * (second - 2)))], 0.9, rng)
    return codes(views), codes(reference)


def test_a_copy_at_another_speed_lies_on_a_line_with_its_ranges_and_view() -> None:
    query_codes, reference_codes = query_and_reference(np.random.default_rng(7))
    similarities, which = view_similarities(query_codes, reference_codes)
    found = match(Spans.of(np.arange(12.0), 12.0), similarities, which, np.full(12, 0.5),
                  Spans.of(np.arange(20.0), 20.0), tolerance_s=0.6)
    assert found is not None and found.pictures == 8 and found.segment_pictures == 8 and found.view == 2
    assert found.speed == pytest.approx(1.5, abs=0.1)
    assert found.query_range_s == (2.0, 10.0)
    assert found.reference_range_s[0] == pytest.approx(3.0, abs=1.0) and found.reference_range_s[1] >= 13
    assert found.score > 8 * 0.3


def test_a_picture_counts_where_the_line_passes_through_its_span() -> None:
    """A reference described at three pictures (0-10 s, 10-30 s, 30-40 s): a query of its seconds 12-28, described
    every 4 s, lines up with the long middle span although none of its pictures is at that span's start time."""
    rng = np.random.default_rng(2)
    reference = unit(rng.normal(size=(3, DESCRIPTOR_DIMS)))
    query = np.stack([with_cosine(reference[1], 0.9, rng) for _ in range(4)])[:, None]
    similarities, which = view_similarities(codes(query), codes(reference))
    found = match(Spans.of(np.array([0.0, 4.0, 8.0, 12.0]), 16.0), similarities, which, np.full(4, 0.3),
                  Spans(np.array([0.0, 10.0, 30.0]), np.array([10.0, 30.0, 40.0])), tolerance_s=0.6)
    assert found is not None and found.pictures == 4
    assert 10.0 <= found.reference_range_s[0] <= found.reference_range_s[1] <= 30.0


def test_pictures_that_match_out_of_order_score_less_than_a_line() -> None:
    rng = np.random.default_rng(3)
    reference = unit(rng.normal(size=(10, DESCRIPTOR_DIMS)))
    in_order = np.stack([with_cosine(r, 0.85, rng) for r in reference])[:, None]
    shuffled = in_order[rng.permutation(10)]
    spans, background = Spans.of(np.arange(10.0), 10.0), np.full(10, 0.2)
    lined = match(spans, *view_similarities(codes(in_order), codes(reference)), background, spans, tolerance_s=0.6)
    scattered = match(spans, *view_similarities(codes(shuffled), codes(reference)), background, spans,
                      tolerance_s=0.6)
    assert lined is not None and scattered is not None
    assert lined.pictures == 10 and lined.speed == 1.0 and lined.offset_s == 0.0
    assert scattered.pictures < lined.pictures and scattered.score < lined.score / 2


def test_nothing_above_the_background_is_no_match() -> None:
    rng = np.random.default_rng(1)
    reference = codes(unit(rng.normal(size=(5, DESCRIPTOR_DIMS))))
    views = codes(unit(rng.normal(size=(6, 3, DESCRIPTOR_DIMS))))
    similarities, which = view_similarities(views, reference)
    background = similarities.max(axis=1) + 0.01
    assert match(Spans.of(np.arange(6.0), 6.0), similarities, which, background, Spans.of(np.arange(5.0), 5.0),
                 tolerance_s=0.6) is None


def test_the_background_is_the_similarity_to_the_kth_most_similar_video_found_and_at_least_the_floor() -> None:
    best_per_video = np.array([[0.9, 0.1, 0.5, 0.3], [0.2, 0.4, 0.6, 0.8], [0.7, -np.inf, -np.inf, -np.inf],
                               [-np.inf] * 4])
    assert background_similarity(best_per_video, 2, 0.45).tolist() == pytest.approx([0.5, 0.6, 0.45, 0.45])
    assert background_similarity(best_per_video, 2, 0.0).tolist() == pytest.approx([0.5, 0.6, 0.0, 0.0])
    # fewer videos found than the rank, or a rank-th one below the floor: the floor
    assert background_similarity(best_per_video, 10, 0.45).tolist() == pytest.approx([0.45] * 4)
    assert background_similarity(np.array([[0.9, 0.7, 0.6]]), 2, 0.45).tolist() == pytest.approx([0.7])

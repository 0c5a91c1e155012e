"""One popcount for PDQ hashes (uint8) and chromaprint sub-fingerprints (int32) alike (core/bits.py)."""

from __future__ import annotations

import numpy as np

from core.bits import (
    INDEX_VECTOR_DIMS,
    hamming,
    hamming_matrix,
    index_vectors,
    popcount,
    signed_vectors,
)


def naive(values: np.ndarray) -> np.ndarray:
    width = values.dtype.itemsize * 8
    return np.array([bin(int(v) & ((1 << width) - 1)).count("1") for v in values.reshape(-1)]).reshape(values.shape)


def test_popcount_of_every_width() -> None:
    rng = np.random.default_rng(3)
    for dtype in (np.uint8, np.int16, np.int32, np.uint32, np.int64):
        info = np.iinfo(dtype)
        values = rng.integers(info.min, info.max, size=(7, 5), dtype=dtype, endpoint=True)
        assert np.array_equal(popcount(values), naive(values)), dtype


def test_hamming_of_packed_hashes() -> None:
    rng = np.random.default_rng(4)
    query, reference = (rng.integers(0, 256, size=(n, 32), dtype=np.uint8) for n in (3, 4))
    matrix = hamming_matrix(query, reference)
    assert matrix.shape == (3, 4)
    assert matrix[1, 2] == hamming(query[1], reference[2]) == naive(np.bitwise_xor(query[1], reference[2])).sum()
    assert hamming(query[0], query[0]) == 0
    # +-1 vectors: squared L2 distance is 4 x the Hamming distance
    vectors = signed_vectors(np.stack([query[0], reference[0]]))
    assert np.sum((vectors[0] - vectors[1]) ** 2) == 4 * hamming(query[0], reference[0])


def test_hamming_matrix_of_framings_at_once() -> None:
    rng = np.random.default_rng(5)
    query, reference = rng.integers(0, 256, size=(3, 6, 32), dtype=np.uint8), rng.integers(0, 256, size=(7, 32),
                                                                                              dtype=np.uint8)
    matrix = hamming_matrix(query, reference)
    assert matrix.shape == (3, 6, 7) and matrix.dtype == np.int32
    assert all(matrix[f, i, j] == naive(np.bitwise_xor(query[f, i], reference[j])).sum()
               for f in range(3) for i in range(6) for j in range(7))


def flipped(rng: np.random.Generator, packed: np.ndarray, bits: int) -> np.ndarray:
    unpacked = np.unpackbits(packed)
    unpacked[rng.choice(unpacked.size, size=bits, replace=False)] ^= 1
    return np.packbits(unpacked)


def test_knn_vectors_estimate_the_hamming_distance() -> None:
    """The projected KNN vectors: squared L2 / 4 is the Hamming distance on average, within ~sqrt(2 / dims)."""
    rng = np.random.default_rng(6)
    hashes = rng.integers(0, 256, size=(400, 32), dtype=np.uint8)
    assert index_vectors(hashes).shape == (400, INDEX_VECTOR_DIMS)
    for bits in (16, 48, 128):
        others = np.stack([flipped(rng, h, bits) for h in hashes])
        estimates = np.sum((index_vectors(hashes) - index_vectors(others)) ** 2, axis=1) / 4
        assert abs(estimates.mean() / bits - 1) < 0.03, bits
        assert abs(estimates.std() / bits - np.sqrt(2 / INDEX_VECTOR_DIMS)) < 0.03, bits
    # the same hash always gives the same vector (the projection is fixed: part of the index layout)
    assert np.array_equal(index_vectors(hashes[:2]), index_vectors(hashes[:2].copy()))

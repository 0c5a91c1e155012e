"""Bit arithmetic on packed hashes and fingerprints: popcounts, Hamming distances, KNN vectors, frame choice.

PDQ hashes are kept packed (uint8, 32 bytes per frame) and chromaprint sub-fingerprints are int32: the
distance between two of either is one XOR and a popcount, taken here from one 16-bit lookup table. Many PDQ
distances at once (every frame of one video against every frame of another) are one matrix product of +-1
vectors instead.
"""

from __future__ import annotations

import numpy as np

PDQ_BYTES = 32
PDQ_BITS = 8 * PDQ_BYTES

# Set bits of every 16-bit value.
_BITS_OF_UINT16 = np.unpackbits(np.arange(1 << 16, dtype=">u2").view(np.uint8)).reshape(-1, 16).sum(
    axis=1, dtype=np.uint16)


def popcount(values: np.ndarray) -> np.ndarray:
    """Set bits of each element of an integer array (any width), elementwise, as uint16."""
    values = np.ascontiguousarray(values)
    if values.dtype.itemsize == 1:
        return _BITS_OF_UINT16[values.view(np.uint8)]
    halves = _BITS_OF_UINT16[values.view(np.uint16)]
    return halves.reshape(*values.shape, values.dtype.itemsize // 2).sum(axis=-1, dtype=np.uint16)


def hamming(a: np.ndarray, b: np.ndarray) -> int:
    """Hamming distance of two packed hashes."""
    return int(popcount(np.bitwise_xor(a, b)).sum())


def hamming_matrix(query: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """(..., q, 32) x (..., r, 32) packed hashes -> (..., q, r) Hamming distances (int32).

    For +-1 vectors x, y of n bits, x . y = n - 2 x Hamming(x, y): one float32 matrix product (exact for
    these small integers) is 3-6x faster than XOR and popcount over every pair (61 x 61 frames, 1-45 framings)."""
    dot = signed_vectors(query) @ np.swapaxes(signed_vectors(reference), -1, -2)
    return ((query.shape[-1] * 8 - dot) / 2).astype(np.int32)


def signed_vectors(packed: np.ndarray) -> np.ndarray:
    """Packed hashes (..., 32) -> (..., 256) float32 +-1 vectors: squared L2 = 4 x Hamming distance."""
    return np.unpackbits(packed, axis=-1).astype(np.float32) * 2 - 1


# KNN vectors are PDQ's +-1 vector projected to INDEX_VECTOR_DIMS dimensions by a fixed random +-1 matrix
# scaled by 1/sqrt(dims) (Johnson-Lindenstrauss): the expected squared L2 between two projections stays 4 x the
# Hamming distance, with a relative spread of ~sqrt(2 / dims) (12.5 %): unrelated frames (128 +- 8 bits) are
# estimated at 128 +- 18, a copy's frame at 30 bits at 30 +- 4. Half of 256 dimensions cuts an indexed vector's
# Redis memory by a third (2,036 -> 1,382 bytes, HNSW M=16; bench/index_layouts.py) and each KNN distance by
# half; candidates are then verified on the exact hashes. The seed is part of the index layout: changing it
# needs a rebuilt index.
INDEX_VECTOR_DIMS = 128
_PROJECTION = (np.random.default_rng(20261201).integers(0, 2, size=(INDEX_VECTOR_DIMS, PDQ_BITS)) * 2 - 1).astype(
    np.float32) / np.float32(np.sqrt(INDEX_VECTOR_DIMS))


def index_vectors(packed: np.ndarray) -> np.ndarray:
    """Packed hashes (n, 32) -> (n, INDEX_VECTOR_DIMS) float32 KNN vectors: squared L2 ~ 4 x Hamming distance."""
    return signed_vectors(packed) @ _PROJECTION.T


def select_key_frames(packed: np.ndarray, quality: np.ndarray, scene_changes: list[bool], min_quality: int,
                      min_change: int, max_frames: int) -> list[int]:
    """Frames worth a closer look: the first usable frame, every scene change, and every frame whose PDQ
    differs by >= ``min_change`` bits from the last one chosen; evenly thinned to ``max_frames``."""
    chosen: list[int] = []
    for i in range(len(packed)):
        if quality[i] < min_quality:
            continue
        if not chosen or scene_changes[i] or hamming(packed[i], packed[chosen[-1]]) >= min_change:
            chosen.append(i)
    return thin(chosen, max_frames)


def thin(indices: list[int], limit: int) -> list[int]:
    """At most ``limit`` of ``indices``, evenly spread (all of them when ``limit`` is 0)."""
    if not len(indices) > limit > 0:
        return indices
    keep = np.linspace(0, len(indices) - 1, limit).round().astype(int)
    return [indices[k] for k in sorted(set(keep.tolist()))]

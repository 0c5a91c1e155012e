"""Bit arithmetic on packed hashes and fingerprints: popcounts, Hamming distances, KNN vectors, frame choice.

PDQ hashes are kept packed (uint8, 32 bytes per frame) and chromaprint sub-fingerprints are int32: the
distance between two of either is one XOR and a popcount, taken here from one 16-bit lookup table.
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
    """(..., q, 32) x (..., r, 32) packed hashes -> (..., q, r) Hamming distances."""
    return popcount(np.bitwise_xor(query[..., :, None, :], reference[..., None, :, :])).sum(axis=-1)


def bit_differences(a: np.ndarray, b: np.ndarray) -> int:
    """Differing bits between two equally shaped integer arrays of any width (e.g. int32 chromaprints)."""
    return int(popcount(np.bitwise_xor(a, b)).sum())


def signed_vectors(packed: np.ndarray) -> np.ndarray:
    """Packed hashes (n, 32) -> (n, 256) float32 +-1 vectors: squared L2 = 4 x Hamming distance."""
    return np.where(np.unpackbits(packed, axis=-1).astype(bool), 1.0, -1.0).astype(np.float32)


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

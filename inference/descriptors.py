"""Meta's PDQ perceptual hash as packed 32-byte arrays, and the arithmetic on them (no model weights).

Hashes are kept packed (uint8, 32 bytes per frame): Hamming distances of whole frame sequences are then
one XOR and a popcount table lookup, and the same bytes are what Redis stores.
"""

from __future__ import annotations

import cv2
import numpy as np
import pdqhash

# PDQ reduces every image to 64x64 anyway; hashing a <= 320 px copy gives the same kind of hash at a
# fraction of the cost on 720p frames. Part of the hash definition: changing it needs a FEATURES_VERSION bump.
PDQ_INPUT_MAX_SIDE = 320
PDQ_BYTES = 32

_POPCOUNT = np.array([bin(i).count("1") for i in range(256)], dtype=np.uint16)


def shrink(image: np.ndarray) -> np.ndarray:
    """A copy with its long side at most PDQ_INPUT_MAX_SIDE."""
    height, width = image.shape[:2]
    scale = PDQ_INPUT_MAX_SIDE / max(height, width)
    if scale >= 1.0:
        return np.ascontiguousarray(image)
    return cv2.resize(image, (max(1, round(width * scale)), max(1, round(height * scale))),
                      interpolation=cv2.INTER_AREA)


def packed_pdq(rgb: np.ndarray) -> tuple[np.ndarray, int]:
    """(32 packed bytes, quality 0..100) of an RGB image; quality is low for flat frames that match anything."""
    bits, quality = pdqhash.compute(np.ascontiguousarray(shrink(rgb)))
    return np.packbits(bits.astype(np.uint8)), int(quality)


def hamming(a: np.ndarray, b: np.ndarray) -> int:
    """Hamming distance of two packed hashes."""
    return int(_POPCOUNT[np.bitwise_xor(a, b)].sum())


def hamming_matrix(query: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """(..., q, 32) x (..., r, 32) packed hashes -> (..., q, r) Hamming distances."""
    return _POPCOUNT[np.bitwise_xor(query[..., :, None, :], reference[..., None, :, :])].sum(axis=-1)


def bit_differences(a: np.ndarray, b: np.ndarray) -> int:
    """Differing bits between two equally shaped integer arrays of any width (e.g. int32 chromaprints)."""
    return int(_POPCOUNT[np.bitwise_xor(a, b).view(np.uint8)].sum())


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

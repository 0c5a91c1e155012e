"""Meta's PDQ perceptual hash of an image, packed into 32 bytes (no model weights; the pdqhash package).

The arithmetic on packed hashes (Hamming distances, KNN vectors) is in core/bits.py.
"""

from __future__ import annotations

import cv2
import numpy as np
import pdqhash

# PDQ reduces every image to 64x64 anyway; hashing a <= 320 px copy gives the same kind of hash at a
# fraction of the cost on 720p frames. Part of the hash definition: changing it needs a FEATURES_VERSION bump.
PDQ_INPUT_MAX_SIDE = 320


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

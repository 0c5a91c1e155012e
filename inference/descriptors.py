"""Copy-detection frame descriptors that need no model weights: Meta's PDQ perceptual hash."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pdqhash


@dataclass(frozen=True)
class FrameHash:
    bits: np.ndarray  # 256 x bool
    quality: int  # 0..100; low for flat frames (black, single colour) that match anything

    @property
    def hex(self) -> str:
        return np.packbits(self.bits.astype(np.uint8)).tobytes().hex()

    def as_signed_vector(self) -> np.ndarray:
        """Bits as +-1 float32: squared L2 distance between two such vectors is 4 x Hamming distance."""
        return np.where(self.bits, 1.0, -1.0).astype(np.float32)


def pdq_hash(rgb: np.ndarray) -> FrameHash:
    bits, quality = pdqhash.compute(np.ascontiguousarray(rgb))
    return FrameHash(bits.astype(bool), int(quality))

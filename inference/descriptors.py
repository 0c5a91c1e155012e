"""Copy-detection frame descriptors that need no model weights: Meta's PDQ perceptual hash.

Each frame gets its PDQ hash and the hash of its left-right mirror image, so a horizontally flipped
copy can be found by looking up the mirrored hashes. The same hashes pick the key frames that the
costlier models (OCR, CLIP) look at.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import pdqhash

# PDQ reduces every image to 64x64 anyway; hashing a <= 320 px copy gives the same kind of hash at a
# fraction of the cost on 720p frames. Part of the hash definition: changing it needs a FEATURES_VERSION bump.
PDQ_INPUT_MAX_SIDE = 320


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

    def hamming(self, other: FrameHash) -> int:
        return int(np.count_nonzero(self.bits != other.bits))


def pdq_hash(rgb: np.ndarray) -> FrameHash:
    height, width = rgb.shape[:2]
    scale = PDQ_INPUT_MAX_SIDE / max(height, width)
    if scale < 1.0:
        rgb = cv2.resize(rgb, (max(1, round(width * scale)), max(1, round(height * scale))),
                         interpolation=cv2.INTER_AREA)
    bits, quality = pdqhash.compute(np.ascontiguousarray(rgb))
    return FrameHash(bits.astype(bool), int(quality))


def mirrored_pdq_hash(rgb: np.ndarray) -> FrameHash:
    """PDQ of the frame mirrored left-right: what the original's hash looks like in a flipped copy."""
    return pdq_hash(rgb[:, ::-1])


def select_key_frames(hashes: list[FrameHash], scene_changes: list[bool], max_frames: int,
                      min_hamming: int) -> list[int]:
    """Indices of frames worth running OCR/CLIP on: the first frame, every scene change, and every frame
    whose PDQ differs by >= ``min_hamming`` bits from the last one chosen. Evenly thinned to ``max_frames``."""
    chosen: list[int] = []
    for i, frame_hash in enumerate(hashes):
        if not chosen or scene_changes[i] or frame_hash.hamming(hashes[chosen[-1]]) >= min_hamming:
            chosen.append(i)
    if len(chosen) > max_frames > 0:
        keep = np.linspace(0, len(chosen) - 1, max_frames).round().astype(int)
        chosen = [chosen[k] for k in sorted(set(keep.tolist()))]
    return chosen

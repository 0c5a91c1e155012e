"""The copy-detection signature of one video: what copy lookup, verification and series alignment work on.

Per sampled frame, PDQ hashes (packed, core/bits.py) of the picture inside its black borders at several
centred crops (CROPS), then of the whole frame bars included (WHOLE_FRAME), the mirrored hash, the hashes of
a picture-in-picture inset if the video shows one, and the chromaprint audio fingerprint. How they are
computed from media is features/copy_signature.py; how they are stored, storage/copy_index.py.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Framings hashed for every frame: centred crops (share of width, share of height) of the picture inside
# its bars, the first being the whole picture, and last the whole frame with its bars (WHOLE_FRAME).
# Part of the signature: changing them needs a FEATURES_VERSION bump.
CROPS = ((1.0, 1.0), (0.95, 0.95), (0.9, 0.9), (0.85, 0.85), (0.8, 0.8),
         (0.9, 1.0), (0.8, 1.0), (1.0, 0.9), (1.0, 0.8))
WHOLE_FRAME = len(CROPS)
FRAMINGS = len(CROPS) + 1
# The framings whose hashes of index frames go into the KNN index (verification uses all of them);
# a copy between two crops is still within the candidate distance of the nearer one.
INDEX_FRAMINGS = (CROPS.index((1.0, 1.0)), CROPS.index((0.9, 0.9)), CROPS.index((0.8, 0.8)),
                  CROPS.index((0.9, 1.0)), WHOLE_FRAME)
# Chromaprint's default algorithm hops 4096/3 samples at its internal 11025 Hz rate: one 32-bit
# sub-fingerprint per ~0.124 s of audio.
SECONDS_PER_SUBFINGERPRINT = 4096 / 3 / 11025


@dataclass(frozen=True)
class CopySignature:
    times_s: np.ndarray  # float32 (frames,)
    cuts: np.ndarray  # bool (frames,): the frame was sampled because a new shot starts there
    quality: np.ndarray  # int16 (frames,): PDQ quality of the full content box; low for flat frames
    bits: np.ndarray  # uint8 (FRAMINGS, frames, 32): packed PDQ per crop, then of the whole frame
    mirrored_bits: np.ndarray  # uint8 (frames, 32): packed PDQ of the left-right mirror at scale 1.0
    inset_bits: np.ndarray  # uint8 (frames, 32): packed PDQ of a picture-in-picture inset; (0, 32) if none
    index_frames: list[int]  # frames whose hashes go into the KNN index
    audio_fingerprint: np.ndarray  # int32 chromaprint; empty when the audio is missing or silent
    duration_s: float

    @property
    def full_frame_bits(self) -> np.ndarray:
        """The whole picture inside its bars."""
        return self.bits[0]

    def query_views(self, frames: list[int]) -> dict[str, np.ndarray]:
        """Packed hashes of ``frames`` to look up: as shown, mirrored, with bars when it has any, and the
        picture-in-picture inset when it has one."""
        names = ["as shown", "mirrored"]
        if not np.array_equal(self.bits[WHOLE_FRAME][frames], self.bits[0][frames]):
            names.append("with bars")
        if len(self.inset_bits):
            names.append("inset")
        return {name: self.view_bits(name)[frames] for name in names}

    def view_bits(self, view: str) -> np.ndarray:
        return {"as shown": self.bits[0], "mirrored": self.mirrored_bits, "with bars": self.bits[WHOLE_FRAME],
                "inset": self.inset_bits}[view]

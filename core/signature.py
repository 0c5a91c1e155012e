"""The copy-detection signature of one video: what copy lookup, verification and series alignment work on.

Per sampled frame, PDQ hashes (packed, core/bits.py) of the picture inside its black borders at several
centred crops (CROPS), then of the whole frame bars included (WHOLE_FRAME); the hashes of the picture turned
each other way of the square's symmetry group (TURNS: mirrored, rotated, flipped upside down, transposed); the
hashes of each tile when the picture is split into tiles (a grid, a split screen, a picture-in-picture inset);
and the chromaprint audio fingerprint. How they are computed from media is features/copy_signature.py; how they
are stored, storage/copy_index.py. The index keeps five of the framings (INDEX_FRAMINGS) and the audio
(CopySignature.stored): the other crops, the turned and the tile hashes are query views.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

# Framings hashed for every frame: centred crops (share of width, share of height) of the picture inside
# its bars, the first being the whole picture, and last the whole frame with its bars (WHOLE_FRAME).
# Part of the signature: changing them needs a FEATURES_VERSION bump.
CROPS = ((1.0, 1.0), (0.95, 0.95), (0.9, 0.9), (0.85, 0.85), (0.8, 0.8),
         (0.9, 1.0), (0.8, 1.0), (1.0, 0.9), (1.0, 0.8))
WHOLE_FRAME = len(CROPS)
FRAMINGS = len(CROPS) + 1
# The framings the copy index keeps: its KNN vectors (of index frames) and every frame's hashes for verification.
# A copy between two of these crops is still within the candidate distance of the nearer one, and verification
# also tries the query's own crops against them (a copy cropped 15 % matches the original's 20 % crop at the
# query's 95 %). Keeping all ten framings found no more copies in bench/copy_eval.py and cost twice the memory.
INDEX_FRAMINGS = (CROPS.index((1.0, 1.0)), CROPS.index((0.9, 0.9)), CROPS.index((0.8, 0.8)),
                  CROPS.index((0.9, 1.0)), WHOLE_FRAME)
# The seven ways to turn a picture besides leaving it as it is (the dihedral group of the square), each named by
# what it does to the query's picture so that it matches the original: a copy rotated 90 degrees clockwise is
# found by its "rotated 90 ccw" view. Only the mirror is common: the others are looked up on fewer frames, and
# only when nothing was found upright (pipeline/copy_detection.py).
TURNS = ("mirrored", "rotated 90 ccw", "rotated 180", "rotated 90 cw", "flipped upside down", "transposed",
         "anti-transposed")
# Chromaprint's default algorithm hops 4096/3 samples at its internal 11025 Hz rate: one 32-bit
# sub-fingerprint per ~0.124 s of audio.
SECONDS_PER_SUBFINGERPRINT = 4096 / 3 / 11025
# A copy's audio raised or lowered by up to 3 semitones (the commonest way to dodge audio matching) is compared by its
# fingerprints *heard* that many semitones lower or higher: the same samples fingerprinted as if recorded at another
# rate (features/audio_fingerprint.py), which moves every pitch by the factor and stretches time by it too.
PITCH_SHIFTS = (-3, -2, -1, 1, 2, 3)  # semitones a copy's audio was raised by (negative: lowered)


def pitch_factor(semitones: int) -> float:
    """The frequency ratio of a shift by ``semitones``."""
    return float(2.0 ** (semitones / 12))


@dataclass(frozen=True)
class CopySignature:
    times_s: np.ndarray  # float32 (frames,)
    cuts: np.ndarray  # bool (frames,): the frame was sampled because a new shot starts there
    quality: np.ndarray  # int16 (frames,): PDQ quality of the full content box; low for flat frames
    bits: np.ndarray  # uint8 (len(framings), frames, 32): packed PDQ at each framing (all: each crop, the whole frame)
    turned_bits: np.ndarray  # uint8 (len(TURNS), frames, 32): packed PDQ of the picture turned each way of TURNS
    tile_bits: np.ndarray  # uint8 (tiles, frames, 32): packed PDQ of each tile of a grid or inset; (0, 0, 32) if none
    index_frames: list[int]  # frames whose hashes go into the KNN index
    audio_fingerprint: np.ndarray  # int32 chromaprint; empty when the audio is missing or silent
    duration_s: float
    framings: tuple[int, ...] = tuple(range(FRAMINGS))  # the framing of each row of ``bits``
    # query only: the audio's fingerprint undoing each shift of PITCH_SHIFTS (heard that many semitones lower), its
    # sub-fingerprint n at n * SECONDS_PER_SUBFINGERPRINT / pitch_factor(shift) s; () when silent or stored
    pitch_fingerprints: tuple[np.ndarray, ...] = ()

    def framing_bits(self, framing: int) -> np.ndarray:
        """Every frame's packed hashes at ``framing`` (an index of CROPS, or WHOLE_FRAME)."""
        return self.bits[self.framings.index(framing)]

    def stored(self) -> CopySignature:
        """What the copy index keeps of it: every frame's hashes at INDEX_FRAMINGS and the audio, no query views
        (nor the pitch-shifted fingerprints)."""
        frames = len(self.times_s)
        return replace(self, bits=np.stack([self.framing_bits(f) for f in INDEX_FRAMINGS]),
                       framings=INDEX_FRAMINGS, turned_bits=np.zeros((0, frames, 32), np.uint8),
                       tile_bits=np.zeros((0, frames, 32), np.uint8), index_frames=[], pitch_fingerprints=())

    @property
    def full_frame_bits(self) -> np.ndarray:
        """The whole picture inside its bars."""
        return self.bits[0]

    def query_views(self, frames: list[int]) -> dict[str, np.ndarray]:
        """Packed hashes of ``frames`` to look up first: as shown, mirrored, with bars when it has any and each
        tile when it has tiles."""
        views = {"as shown": self.bits[0][frames], "mirrored": self.turned_bits[0][frames]}
        if not np.array_equal(self.framing_bits(WHOLE_FRAME)[frames], self.bits[0][frames]):
            views["with bars"] = self.framing_bits(WHOLE_FRAME)[frames]
        for tile in range(len(self.tile_bits)):
            views[f"tile {tile + 1}"] = self.tile_bits[tile][frames]
        return views

    def turned_views(self, frames: list[int]) -> dict[str, np.ndarray]:
        """Packed hashes of ``frames`` turned each way of TURNS but the mirror (rotated, upside down,
        transposed): looked up only when the first views found nothing."""
        return {turn: self.turned_bits[n][frames] for n, turn in enumerate(TURNS) if n > 0 and frames}

    def view_bits(self, view: str) -> np.ndarray:
        """Every frame's packed hashes in the view named as query_views names it."""
        if view == "as shown":
            return self.bits[0]
        if view == "with bars":
            return self.framing_bits(WHOLE_FRAME)
        if view.startswith("tile "):
            return self.tile_bits[int(view.removeprefix("tile ")) - 1]
        return self.turned_bits[TURNS.index(view)]

"""Chromaprint audio fingerprints (the AcoustID algorithm), computed from the already-decoded PCM.

A raw fingerprint is one 32-bit sub-fingerprint per ~0.124 s of audio (core.signature.SECONDS_PER_SUBFINGERPRINT);
matching two fingerprints means finding the offset where few bits differ, which survives re-encoding and volume
changes. A pitch shift moves chroma to other bins and changes every bit; the same samples fingerprinted as if
recorded at another rate (``heard_lower``) have every pitch moved back, their time stretched by the same factor
(core.signature.PITCH_SHIFTS).
"""

from __future__ import annotations

import chromaprint
import numpy as np

from core.signature import pitch_factor


def audio_fingerprint(audio: np.ndarray | None, sample_rate: int, heard_lower: int = 0) -> np.ndarray:
    """Raw chromaprint of mono float32 audio as int32 sub-fingerprints; empty when there is no audio. With
    ``heard_lower`` semitones, of the audio as if every pitch were that much lower (and it played that much slower:
    sub-fingerprint n at n * SECONDS_PER_SUBFINGERPRINT / pitch_factor(heard_lower) s of the audio)."""
    if audio is None or audio.size == 0:
        return np.zeros(0, dtype=np.int32)
    pcm = (np.clip(audio, -1.0, 1.0) * 32767).astype("<i2")
    fingerprinter = chromaprint.Fingerprinter()
    fingerprinter.start(round(sample_rate / pitch_factor(heard_lower)), 1)
    fingerprinter.feed(pcm.tobytes())
    raw, _algorithm = chromaprint.decode_fingerprint(fingerprinter.finish())
    return np.asarray(raw, dtype=np.int64).astype(np.int32)

"""A copy whose audio was raised or lowered a few semitones (tempo kept, as pitch-shifting tools do) still carries
the original's audio (core/copy_alignment.check_audio with the query's pitch fingerprints,
features/audio_fingerprint.py); other audio shifted alike does not. On iscc-samples' packaged song, shifted by
ffmpeg."""

from __future__ import annotations

import subprocess
from pathlib import Path

import iscc_samples
import numpy as np
import pytest

from core.copy_alignment import Alignment, check_audio
from core.signature import PITCH_SHIFTS
from features.audio_fingerprint import audio_fingerprint

RATE = 16000
SONG = Path(iscc_samples.__file__).parent / "files" / "audio" / "demo.wav"  # "Belly Button", 15.5 s
LIVE_BAND = Path(iscc_samples.__file__).parent / "files" / "video" / "demo.mp4"  # another song, played live


def decoded(path: Path, audio_filter: str = "anull", seconds: float = 15.0) -> np.ndarray:
    pcm = subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-af", f"aresample={RATE},{audio_filter}",
                          "-t", str(seconds), "-ac", "1", "-ar", str(RATE), "-f", "f32le", "-"],
                         capture_output=True, check=True).stdout
    return np.frombuffer(pcm, np.float32)


def pitch_shifted(semitones: int) -> str:
    factor = 2 ** (semitones / 12)
    return f"asetrate={RATE}*{factor},aresample={RATE},atempo={1 / factor}"


def whole(seconds: float) -> Alignment:
    return Alignment(speed=1.0, offset_s=0.0, aligned_frames=10, segment_frames=10, mean_hamming=0.0, exact=False,
                     query_start_s=0.0, query_end_s=seconds, reference_start_s=0.0, reference_end_s=seconds)


def fingerprints(audio: np.ndarray) -> tuple[np.ndarray, tuple[np.ndarray, ...]]:
    return audio_fingerprint(audio, RATE), tuple(audio_fingerprint(audio, RATE, shift) for shift in PITCH_SHIFTS)


@pytest.mark.parametrize("semitones", [-3, -2, 1, 2, 3])
def test_a_pitch_shifted_copy_carries_the_original_audio(semitones: int) -> None:
    original = audio_fingerprint(decoded(SONG), RATE)
    copy, shifted = fingerprints(decoded(SONG, pitch_shifted(semitones)))
    assert check_audio(copy, original, whole(15.0)).status == "DIFFERENT"  # chromaprint alone: another sound
    check = check_audio(copy, original, whole(15.0), pitch_fingerprints=shifted)
    assert check.status != "DIFFERENT" and check.pitch_shift == semitones, check


@pytest.mark.parametrize("semitones", [-2, 2])
def test_other_audio_shifted_alike_stays_different(semitones: int) -> None:
    """Another song, shifted: the pitch fingerprints find no audio that is not there."""
    original = audio_fingerprint(decoded(SONG), RATE)
    copy, shifted = fingerprints(decoded(LIVE_BAND, pitch_shifted(semitones)))
    assert check_audio(copy, original, whole(15.0), pitch_fingerprints=shifted).status == "DIFFERENT"

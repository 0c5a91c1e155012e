"""model_repository/faces/face_reader.py without dlib: the privacy switch and the quality gate's verdicts (the
model itself runs in tests/stack/test_models.py)."""

from __future__ import annotations

import subprocess
import sys

from model_repository.faces.face_reader import QualityGate
from settings import REPO_ROOT


def test_disabled_faces_refuse_before_dlib_is_imported() -> None:
    """In a fresh interpreter: every value but "true" raises FacesDisabled, and dlib was never imported."""
    script = """
import sys
from model_repository.faces.face_reader import FaceReader, FacesDisabled
for value in ("", "false", "True", "1"):
    try:
        FaceReader({"enabled": value, "detector": "hog"})
    except FacesDisabled as exc:
        assert str(exc).startswith("faces disabled: FACES_ENABLED is not true; faces are biometric data"), exc
    else:
        raise AssertionError(value)
assert "dlib" not in sys.modules
"""
    result = subprocess.run([sys.executable, "-c", script], cwd=REPO_ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr


def test_the_gate_says_why_a_face_is_dropped() -> None:
    gate = QualityGate(min_face_px=40, min_score=0.5, min_sharpness=10.0)
    assert gate.verdict((0, 0, 60, 60), 0.9, 30.0) == ""
    assert gate.verdict((0, 0, 60, 39), 0.9, 30.0) == "small"  # the short side counts
    assert gate.verdict((0, 0, 60, 60), 0.49, 30.0) == "low score"
    assert gate.verdict((0, 0, 60, 60), 0.9, 9.9) == "blurred"
    assert gate.verdict((0, 0, 40, 40), 0.5, 10.0) == ""  # each minimum is kept

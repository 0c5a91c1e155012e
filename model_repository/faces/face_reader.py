"""Faces in one frame (runs inside Triton's python backend; bench/faces_model.py runs it directly).

dlib finds faces (HOG + linear SVM by default, or its MMOD CNN), its 5-point shape predictor aligns each one
into a 150x150 chip (``dlib.get_face_chip``: eyes level, the face filling the middle of the chip) and its ResNet
turns the chip into a 128-d descriptor; two descriptors closer than 0.6 (euclidean) are the same person by
dlib's published rule. The weights ship in the face-recognition-models package; they are found through its
folder, not imported: its ``__init__`` needs pkg_resources, which setuptools no longer has.

Faces are biometric data: nothing here runs unless the ``enabled`` parameter (``${FACES_ENABLED}``) is "true",
and that is checked before dlib is imported or a weight is read.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import numpy as np

CHIP_SIZE = 150  # the aligned face the ResNet reads (dlib's size)
CHIP_PADDING = 0.25  # of the face's width, around it in the chip (dlib's default)


class FacesDisabled(RuntimeError):
    """The faces model is switched off (FACES_ENABLED is not "true")."""


def weights_dir() -> Path:
    """The face-recognition-models package's folder of dlib weights."""
    spec = find_spec("face_recognition_models")
    if spec is None or spec.origin is None:
        raise RuntimeError("face-recognition-models is not installed (it ships dlib's face weights)")
    return Path(spec.origin).parent / "models"


@dataclass(frozen=True)
class QualityGate:
    """Which found faces are kept: big enough, confidently detected and sharp (config.pbtxt says why each)."""

    min_face_px: int
    min_score: float
    min_sharpness: float

    @classmethod
    def from_parameters(cls, parameters: dict[str, str]) -> QualityGate:
        return cls(int(parameters["min_face_px"]), float(parameters["min_score"]), float(parameters["min_sharpness"]))

    def verdict(self, box: tuple[int, int, int, int], score: float, sharpness: float) -> str:
        """Why the face is dropped ("small", "low score", "blurred"), or empty when it is kept."""
        if min(box[2] - box[0], box[3] - box[1]) < self.min_face_px:
            return "small"
        if score < self.min_score:
            return "low score"
        if sharpness < self.min_sharpness:
            return "blurred"
        return ""


@dataclass(frozen=True)
class Candidate:
    """A face the detector found, measured, before the quality gate drops it or keeps it."""

    box: tuple[int, int, int, int]  # left, top, right, bottom in frame pixels, inside the frame
    score: float  # the detector's confidence (HOG: the SVM's margin; CNN: MMOD's confidence)
    sharpness: float  # variance of the Laplacian of the aligned grey chip
    chip: np.ndarray  # the aligned RGB face, CHIP_SIZE square, as the ResNet reads it
    rejected: str  # why the gate drops it ("small", "low score", "blurred"); empty: it passes


class FaceReader:
    """dlib's detector, shape predictor and face ResNet, loaded once; ``read`` gives a frame's faces.

    Parameters (config.pbtxt): enabled, detector ("hog" or "cnn"), upsample, min_face_px, min_score,
    min_sharpness, num_jitters.
    """

    def __init__(self, parameters: dict[str, str]) -> None:
        if parameters.get("enabled") != "true":
            raise FacesDisabled(
                "faces disabled: FACES_ENABLED is not true; faces are biometric data, so the faces model loads no "
                "detector or weights until the deployment sets FACES_ENABLED=true")
        import dlib

        self.detector = parameters["detector"]
        self.upsample = int(parameters["upsample"])
        self.gate = QualityGate.from_parameters(parameters)
        self.num_jitters = int(parameters["num_jitters"])
        weights = weights_dir()
        if self.detector == "hog":
            self.hog = dlib.get_frontal_face_detector()
        elif self.detector == "cnn":
            self.cnn = dlib.cnn_face_detection_model_v1(str(weights / "mmod_human_face_detector.dat"))
        else:
            raise ValueError(f"faces: detector must be 'hog' or 'cnn', not {self.detector!r}")
        self.shapes = dlib.shape_predictor(str(weights / "shape_predictor_5_face_landmarks.dat"))
        self.encoder = dlib.face_recognition_model_v1(str(weights / "dlib_face_recognition_resnet_model_v1.dat"))

    def detect(self, rgb: np.ndarray) -> list[tuple[Any, float]]:
        """(dlib rectangle, score) of each face found. HOG reports only scores above the gate's ``min_score``
        (its threshold); the CNN reports all it finds."""
        if self.detector == "hog":
            rectangles, scores, _weights = self.hog.run(rgb, self.upsample, self.gate.min_score)
            return list(zip(rectangles, scores, strict=True))
        return [(found.rect, found.confidence) for found in self.cnn(rgb, self.upsample)]

    def candidates(self, rgb: np.ndarray) -> list[Candidate]:
        """Every face found in the RGB frame, aligned and measured, each with the gate's verdict."""
        import cv2
        import dlib

        rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
        height, width = rgb.shape[:2]
        found = []
        for rectangle, score in self.detect(rgb):
            box = (max(0, rectangle.left()), max(0, rectangle.top()),
                   min(width, rectangle.right() + 1), min(height, rectangle.bottom() + 1))
            chip = dlib.get_face_chip(rgb, self.shapes(rgb, rectangle), size=CHIP_SIZE, padding=CHIP_PADDING)
            sharpness = float(cv2.Laplacian(cv2.cvtColor(chip, cv2.COLOR_RGB2GRAY), cv2.CV_64F).var())
            found.append(Candidate(box, float(score), sharpness, chip, self.gate.verdict(box, score, sharpness)))
        return found

    def describe(self, chip: np.ndarray) -> np.ndarray:
        """The 128-d descriptor of an aligned face chip."""
        return np.array(self.encoder.compute_face_descriptor(chip, self.num_jitters))

    def read(self, rgb: np.ndarray) -> list[dict[str, Any]]:
        """The faces of the RGB frame that pass the gate: ``{"box", "score", "sharpness", "embedding"}``."""
        faces = []
        for face in self.candidates(rgb):
            if face.rejected:
                continue
            faces.append({"box": list(face.box), "score": round(face.score, 4), "sharpness": round(face.sharpness, 1),
                          "embedding": [round(float(value), 6) for value in self.describe(face.chip)]})
        return faces

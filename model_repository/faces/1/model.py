"""Triton python-backend model: the faces in frames, each with a 128-d dlib descriptor (faces/face_reader.py).

Input IMAGE: RGB uint8 frames. Output FACES per frame: a JSON list of the faces that pass the quality gate,
``{"box": [left, top, right, bottom], "score", "sharpness", "embedding": [128 floats]}``, box in frame pixels.
Unless the ``enabled`` parameter (``${FACES_ENABLED}``) is "true", initialize raises before dlib is imported or
a weight is read, so Triton lists the model UNAVAILABLE with that reason.
"""

import sys
from pathlib import Path

sys.path.append(str(Path(__file__).resolve().parents[3] / "model_helpers"))  # beside model_repository/: shared helpers

import triton_python_backend_utils as pb_utils  # noqa: E402
from frame_documents import frame_document_responses  # noqa: E402
from model_parameters import model_parameters  # noqa: E402


class TritonPythonModel:
    def initialize(self, args):
        from face_reader import FaceReader  # beside this model's config.pbtxt

        self.reader = FaceReader(model_parameters(args))

    def execute(self, requests):
        return frame_document_responses(requests, self.reader.read, "FACES", "faces", pb_utils)

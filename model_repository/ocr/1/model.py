"""Triton python-backend model: OCR of text overlaid on frames (PP-OCRv4 through rapidocr-onnxruntime, and
Tesseract for Cyrillic lines; ocr/line_reader.py).

Input IMAGE: RGB uint8 frames. Output TEXT_BOXES per frame: a JSON list of
``{"text", "confidence", "box": [[x, y] x 4]}`` in frame pixels, reading order as detected, only lines whose
reading scored at least the ``min_confidence`` parameter (confidence 0..1: PP-OCR's recognition score, or
Tesseract's mean word confidence for a line Tesseract read).
"""

import sys
from pathlib import Path

sys.path.append(str(Path(__file__).resolve().parents[3] / "model_helpers"))  # beside model_repository/: shared helpers

import triton_python_backend_utils as pb_utils  # noqa: E402
from frame_documents import frame_document_responses  # noqa: E402
from model_parameters import model_parameters  # noqa: E402


class TritonPythonModel:
    def initialize(self, args):
        from line_reader import FrameReader  # beside this model's config.pbtxt

        self.reader = FrameReader(model_parameters(args))

    def execute(self, requests):
        return frame_document_responses(requests, self.reader.read, "TEXT_BOXES", "ocr", pb_utils)

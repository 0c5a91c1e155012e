"""Triton python-backend model: OCR of text overlaid on frames (PP-OCRv4 through rapidocr-onnxruntime, and
Tesseract for Cyrillic lines; ocr/line_reader.py).

Input IMAGE: RGB uint8 frames. Output TEXT_BOXES per frame: a JSON list of
``{"text", "confidence", "box": [[x, y] x 4]}`` in frame pixels, reading order as detected, only lines whose
reading scored at least the ``min_confidence`` parameter (confidence 0..1: PP-OCR's recognition score, or
Tesseract's mean word confidence for a line Tesseract read).
"""

import json
import sys
from pathlib import Path

sys.path.append(str(Path(__file__).resolve().parents[2]))  # model_repository/: the helpers the models share

import numpy as np  # noqa: E402
import triton_python_backend_utils as pb_utils  # noqa: E402
from model_parameters import model_parameters  # noqa: E402


class TritonPythonModel:
    def initialize(self, args):
        from line_reader import FrameReader  # beside this model's config.pbtxt

        self.reader = FrameReader(model_parameters(args))

    def execute(self, requests):
        responses = []
        for request in requests:
            try:
                images = pb_utils.get_input_tensor_by_name(request, "IMAGE").as_numpy()
                documents = [[json.dumps(self.reader.read(image)).encode("utf-8")] for image in images]
                out = pb_utils.Tensor("TEXT_BOXES", np.array(documents, dtype=object))
                responses.append(pb_utils.InferenceResponse(output_tensors=[out]))
            except Exception as exc:  # one bad request must not fail the others in the batch
                responses.append(pb_utils.InferenceResponse(error=pb_utils.TritonError(f"ocr failed: {exc}")))
        return responses

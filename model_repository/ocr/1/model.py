"""Triton python-backend model: OCR of text overlaid on frames (rapidocr-onnxruntime, PP-OCRv4).

Input IMAGE: RGB uint8 frames. Output TEXT_BOXES per frame: a JSON list of
``{"text", "confidence", "box": [[x, y] x 4]}`` in frame pixels, reading order as detected, only lines at or
above the ``min_confidence`` parameter.
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
        from rapidocr_onnxruntime import RapidOCR

        parameters = model_parameters(args)
        self.min_confidence = float(parameters["min_confidence"])
        self.engine = RapidOCR(intra_op_num_threads=int(parameters["cpu_threads"]), inter_op_num_threads=1,
                               det_limit_type=parameters["det_limit_type"],
                               det_limit_side_len=int(parameters["det_limit_side_len"]))

    def read(self, rgb):
        result, _elapsed = self.engine(np.ascontiguousarray(rgb[:, :, ::-1]))  # rapidocr expects BGR
        return [{"text": text, "confidence": round(float(score), 3),
                 "box": [[round(float(x), 1), round(float(y), 1)] for x, y in box]}
                for box, text, score in (result or []) if float(score) >= self.min_confidence and text.strip()]

    def execute(self, requests):
        responses = []
        for request in requests:
            try:
                images = pb_utils.get_input_tensor_by_name(request, "IMAGE").as_numpy()
                documents = [[json.dumps(self.read(image)).encode("utf-8")] for image in images]
                out = pb_utils.Tensor("TEXT_BOXES", np.array(documents, dtype=object))
                responses.append(pb_utils.InferenceResponse(output_tensors=[out]))
            except Exception as exc:  # one bad request must not fail the others in the batch
                responses.append(pb_utils.InferenceResponse(error=pb_utils.TritonError(f"ocr failed: {exc}")))
        return responses

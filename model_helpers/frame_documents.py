"""Shared by the image models that answer one JSON document per frame (ocr, faces): the request loop."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import numpy as np


def frame_document_responses(requests: list[Any], read: Callable[[np.ndarray], Any], output: str, model: str,
                             pb_utils: Any) -> list[Any]:
    """One response per request: its IMAGE frames, each turned by ``read`` into a JSON document, as ``output``
    (a [frames, 1] string tensor). A request that fails gets its own error: the others in the batch still answer."""
    responses = []
    for request in requests:
        try:
            images = pb_utils.get_input_tensor_by_name(request, "IMAGE").as_numpy()
            documents = [[json.dumps(read(image)).encode("utf-8")] for image in images]
            tensor = pb_utils.Tensor(output, np.array(documents, dtype=object))
            responses.append(pb_utils.InferenceResponse(output_tensors=[tensor]))
        except Exception as exc:  # one bad request must not fail the others in the batch
            responses.append(pb_utils.InferenceResponse(error=pb_utils.TritonError(f"{model} failed: {exc}")))
    return responses

"""Shared by the text models in model_repository/ (runs inside Triton's python backend): dynamic batching
hands ``execute`` several requests; their texts are encoded as one batch and split back per request."""

from __future__ import annotations

from typing import Any

import numpy as np


def texts_of(requests: list[Any], pb_utils: Any) -> tuple[list[str], list[int]]:
    """All TEXT inputs of the requests, in order, and how many each request sent."""
    texts, sizes = [], []
    for request in requests:
        raw = pb_utils.get_input_tensor_by_name(request, "TEXT").as_numpy().reshape(-1)
        decoded = [t.decode("utf-8", errors="replace") if isinstance(t, bytes) else str(t) for t in raw]
        texts.extend(decoded)
        sizes.append(len(decoded))
    return texts, sizes


def embedding_responses(embeddings: np.ndarray, sizes: list[int], pb_utils: Any) -> list[Any]:
    """One EMBEDDING response per request, its rows taken in order."""
    responses, start = [], 0
    for size in sizes:
        out = pb_utils.Tensor("EMBEDDING", embeddings[start:start + size])
        responses.append(pb_utils.InferenceResponse(output_tensors=[out]))
        start += size
    return responses

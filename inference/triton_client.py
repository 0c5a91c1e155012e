"""Async gRPC client for the models in model_repository/, with timeouts, retries and clear errors."""

from __future__ import annotations

import asyncio
import logging

import numpy as np
import tritonclient.grpc.aio as grpcclient
from tritonclient.utils import InferenceServerException

from inference.errors import InferenceError
from settings import Settings

log = logging.getLogger(__name__)

TEXT_EMBEDDING_DIMS = 384


class TritonModels:
    """One connection to Triton, shared by all agents of a worker. Create inside the event loop."""

    def __init__(self, cfg: Settings) -> None:
        self.url = cfg.triton_grpc_url
        self.timeout_s = cfg.triton_timeout_s
        self.retries = cfg.triton_retries
        self.client = grpcclient.InferenceServerClient(url=self.url)

    async def close(self) -> None:
        await self.client.close()

    async def _infer(self, model: str, inputs: list[grpcclient.InferInput], output: str) -> np.ndarray:
        delay = 0.2
        for attempt in range(1, self.retries + 2):
            try:
                result = await self.client.infer(
                    model, inputs, outputs=[grpcclient.InferRequestedOutput(output)],
                    client_timeout=self.timeout_s)
                return result.as_numpy(output)
            except InferenceServerException as exc:
                if attempt > self.retries:
                    raise InferenceError(f"Triton model {model!r} at {self.url} failed after {attempt} "
                                         f"attempts: {exc.message() or exc}") from exc
                log.warning("Triton %s attempt %d failed (%s); retrying in %.1fs", model, attempt, exc, delay)
                await asyncio.sleep(delay)
                delay *= 2
        raise AssertionError("unreachable")

    async def embed_texts(self, texts: list[str]) -> np.ndarray:
        """L2-normalised 384-d MiniLM embeddings, one row per text."""
        if not texts:
            return np.zeros((0, TEXT_EMBEDDING_DIMS), dtype=np.float32)
        data = np.array([[t.encode("utf-8")] for t in texts], dtype=object)
        text_input = grpcclient.InferInput("TEXT", list(data.shape), "BYTES")
        text_input.set_data_from_numpy(data)
        return await self._infer("text_encoder", [text_input], "EMBEDDING")

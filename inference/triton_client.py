"""Async gRPC client for the models in model_repository/: deadlines that follow the work, a bound on requests in
flight, and errors that say whose fault a failure is.

- Triton down, overloaded (a full queue) or too late (a deadline passed): a few quick retries, then
  ServiceUnavailable, which holds the event until Triton copes again (never a dead letter). A request given up
  on is cancelled, and Triton drops it from its queue once its deadline (sent along) has passed.
- A model saying the input is invalid: InferenceError at once (the event is dead-lettered).
- A model failing otherwise: retried, then InferenceError (dead-lettered unless Triton itself is not ready).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import tritonclient.grpc.aio as grpcclient
from tritonclient.utils import InferenceServerException

from core.errors import InferenceError, ServiceUnavailable
from core.text import TEXT_EMBEDDING_DIMS
from settings import Settings
from telemetry import metrics

log = logging.getLogger(__name__)

# The pipeline cannot run without these; the CLIP models are optional (they need local weights).
REQUIRED_MODELS = ("text_encoder", "asr", "ocr", "image_features")
CLIP_MODELS = ("frame_encoder", "clip_text_encoder")
# Optional too, and off unless the deployment sets FACES_ENABLED=true (faces are biometric data).
FACES_MODEL = "faces"
# ImageNet CNN descriptors of pictures and their parts (EfficientNet-Lite0, GeM-pooled): weights in a package.
IMAGE_FEATURES_MODEL = "image_features"
IMAGE_DESCRIPTOR_DIMS = 1280
IMAGENET_TOP_CONCEPTS = 5  # classes the model answers per picture (model_repository/image_features/network.py)
# Triton's admin APIs (loading and unloading models, the repository index, logging, trace, shared memory) need this
# header with TRITON_API_KEY (tritonserver's --http-restricted-api and --grpc-restricted-protocol); over gRPC Triton
# expects it prefixed. The clients here send it only to read the repository index.
RESTRICTED_APIS = "model-repository,logging,trace,shared-memory"
API_KEY_HEADER = "triton-api-key"
GRPC_API_KEY_HEADER = f"triton-grpc-protocol-{API_KEY_HEADER}"
# gRPC status codes of answers that say Triton is down, overloaded or late rather than the input bad.
BUSY_CODES = frozenset({"StatusCode.UNAVAILABLE", "StatusCode.DEADLINE_EXCEEDED", "StatusCode.RESOURCE_EXHAUSTED",
                        "StatusCode.CANCELLED", "StatusCode.ABORTED"})
# A request may wait TRITON_TIMEOUT_S in Triton's queue (Triton then rejects it: nothing runs for a request its
# client stopped waiting for); once running it has this much per unit of its work (a second of audio, an image, a
# text) on top: generous multiples of what each took on this 2-core machine, busy (asr 0.06-0.18 s per second of
# speech, ocr 0.2-0.6 s per key frame, text_encoder ~1.5 ms per short text and 40 µs per character, faces 0.07-0.3 s
# per frame and ~0.08 s per face in it).
SECONDS_PER_UNIT = {"asr": 0.5, "ocr": 2.0, "frame_encoder": 1.0, "text_encoder": 0.05, "clip_text_encoder": 0.05,
                    FACES_MODEL: 2.0, IMAGE_FEATURES_MODEL: 0.5}


@dataclass(frozen=True)
class ModelState:
    name: str
    ready: bool
    reason: str  # Triton's reason when the model is not ready, e.g. "CLIP disabled: CLIP_WEIGHTS is not set"


class TritonModels:
    """One connection to Triton, shared by all agents of a worker. Create inside the event loop."""

    def __init__(self, cfg: Settings) -> None:
        self.url = cfg.triton_grpc_url
        self.timeout_s = cfg.triton_timeout_s
        self.retries = cfg.triton_retries
        self.client = grpcclient.InferenceServerClient(url=self.url)
        self._admin_headers = {GRPC_API_KEY_HEADER: cfg.triton_api_key} if cfg.triton_api_key else None
        self._max_batch: dict[str, int] = {}  # per model, its max_batch_size as Triton serves it
        self._in_flight: dict[str, asyncio.Semaphore] = defaultdict(lambda: asyncio.Semaphore(cfg.triton_max_in_flight))

    async def close(self) -> None:
        await self.client.close()

    async def model_states(self) -> dict[str, ModelState]:
        """Every model in Triton's repository with its readiness and, if not ready, why."""
        try:
            index = await self.client.get_model_repository_index(headers=self._admin_headers, as_json=True)
        except InferenceServerException as exc:
            raise ServiceUnavailable(f"Triton at {self.url} is unreachable: {exc.message() or exc}") from exc
        return {m["name"]: ModelState(m["name"], m.get("state") == "READY", m.get("reason", "").split("\n")[0])
                for m in index.get("models", [])}

    async def _model_config(self, model: str) -> dict[str, Any]:
        try:
            return (await self.client.get_model_config(model, as_json=True))["config"]
        except InferenceServerException as exc:
            raise ServiceUnavailable(f"Triton at {self.url} gave no config for {model!r}: {exc.message() or exc}") \
                from exc

    async def check_text_encoder(self) -> None:
        """Raise a RuntimeError unless Triton's text_encoder answers TEXT_EMBEDDING_DIMS-wide embeddings, the width
        every index and archive of this version stores (ServiceUnavailable while Triton cannot be asked)."""
        (output,) = (await self._model_config("text_encoder"))["output"]
        dims = int(output["dims"][-1])
        if dims != TEXT_EMBEDDING_DIMS:
            raise RuntimeError(f"Triton's text_encoder at {self.url} answers {dims}-d embeddings; this version stores "
                               f"{TEXT_EMBEDDING_DIMS}-d ones (core/text.py): deploy the matching model_repository/")

    async def _batch_limit(self, model: str) -> int:
        """The model's max_batch_size (0: it takes no batch dimension), read from Triton once."""
        if model not in self._max_batch:
            self._max_batch[model] = int((await self._model_config(model)).get("max_batch_size", 0))
        return self._max_batch[model]

    async def required_models_ready(self) -> bool:
        """Whether Triton answers and every model the pipeline needs is loaded (False while it is down)."""
        try:
            return all([await self.client.is_model_ready(name, client_timeout=5) for name in REQUIRED_MODELS])
        except InferenceServerException:
            return False

    async def _infer(self, model: str, inputs: list[grpcclient.InferInput], output: str, units: float) -> np.ndarray:
        """One request for ``units`` of work (seconds of audio, images, texts): at most TRITON_TIMEOUT_S in Triton's
        queue, then its share of time to run."""
        return (await self._infer_outputs(model, inputs, (output,), units))[0]

    async def _infer_outputs(self, model: str, inputs: list[grpcclient.InferInput], outputs: tuple[str, ...],
                             units: float) -> list[np.ndarray]:
        """As _infer, for several outputs of one request."""
        deadline_s = self.timeout_s + units * SECONDS_PER_UNIT[model]
        delay = 0.2
        for attempt in range(1, self.retries + 2):
            try:
                async with self._in_flight[model]:
                    with metrics.TRITON_SECONDS.labels(model).time():
                        result = await self.client.infer(
                            model, inputs, outputs=[grpcclient.InferRequestedOutput(name) for name in outputs],
                            client_timeout=deadline_s,
                            timeout=int(self.timeout_s * 1_000_000))  # microseconds in Triton's queue, at most
                return [result.as_numpy(name) for name in outputs]
            except InferenceServerException as exc:
                status = exc.status() or "no status"
                metrics.TRITON_ERRORS.labels(model, status.removeprefix("StatusCode.")).inc()
                where = f"Triton model {model!r} at {self.url}"
                if status == "StatusCode.INVALID_ARGUMENT":
                    raise InferenceError(f"{where} rejected the input: {exc.message() or exc}",
                                         kind="inference_rejected") from exc
                if attempt > self.retries:
                    if status in BUSY_CODES:
                        raise ServiceUnavailable(f"{where}: {status} after {attempt} attempts (deadline "
                                                 f"{deadline_s:.0f} s): {exc.message() or exc}") from exc
                    raise InferenceError(f"{where} failed after {attempt} attempts: {exc.message() or exc}") from exc
                log.warning("Triton %s attempt %d: %s (%s); retrying in %.1fs", model, attempt, status,
                            exc.message(), delay)
                await asyncio.sleep(delay)
                delay *= 2
        raise AssertionError("unreachable")

    async def _embed(self, model: str, texts: list[str], width: int) -> np.ndarray:
        if not texts:
            return np.zeros((0, width), dtype=np.float32)
        return await self._infer(model, [_text_input(texts)], "EMBEDDING", len(texts))

    async def embed_texts(self, texts: list[str]) -> np.ndarray:
        """L2-normalised TEXT_EMBEDDING_DIMS-wide multilingual sentence embeddings, one row per text."""
        return await self._embed("text_encoder", texts, TEXT_EMBEDDING_DIMS)

    async def embed_clip_texts(self, texts: list[str]) -> np.ndarray:
        """L2-normalised CLIP text embeddings (comparable with ``embed_frames``), one row per text."""
        return await self._embed("clip_text_encoder", texts, 0)

    async def _infer_images(self, model: str, frames: list[np.ndarray], output: str) -> list[np.ndarray]:
        if not frames:
            return []
        limit = await self._batch_limit(model) or len(frames)
        slices = [frames[i:i + limit] for i in range(0, len(frames), limit)]
        results = await asyncio.gather(*(self._infer(model, [_image_input(s)], output, len(s)) for s in slices))
        return [row for result in results for row in result]

    async def embed_frames(self, frames: list[np.ndarray]) -> np.ndarray:
        """L2-normalised CLIP image embeddings, one row per frame (all frames of one size)."""
        if not frames:
            return np.zeros((0, 0), dtype=np.float32)
        return np.stack(await self._infer_images("frame_encoder", frames, "EMBEDDING"))

    async def describe_images(self, images: list[np.ndarray]) -> np.ndarray:
        """EfficientNet-Lite0 descriptors (IMAGE_DESCRIPTOR_DIMS wide, unit length), one row per image (all of one
        size: 224 x 224 is what the network was trained at)."""
        if not images:
            return np.zeros((0, IMAGE_DESCRIPTOR_DIMS), dtype=np.float32)
        return np.stack(await self._infer_images(IMAGE_FEATURES_MODEL, images, "DESCRIPTOR"))

    async def classify_images(self, images: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """The image_features model's ImageNet classification, one row per image (all of one size): the
        IMAGENET_TOP_CONCEPTS most probable ImageNet-1k class indices (int32) and their probabilities, most probable
        first (core/visual_concepts.py names them)."""
        if not images:
            return (np.zeros((0, IMAGENET_TOP_CONCEPTS), np.int32), np.zeros((0, IMAGENET_TOP_CONCEPTS), np.float32))
        limit = await self._batch_limit(IMAGE_FEATURES_MODEL) or len(images)
        results = await asyncio.gather(*(
            self._infer_outputs(IMAGE_FEATURES_MODEL, [_image_input(images[i:i + limit])],
                                ("CONCEPT_IDS", "CONCEPT_SCORES"), len(images[i:i + limit]))
            for i in range(0, len(images), limit)))
        return np.concatenate([ids for ids, _ in results]), np.concatenate([scores for _, scores in results])

    async def read_text(self, frames: list[np.ndarray]) -> list[list[dict[str, Any]]]:
        """OCR per frame: a list of ``{"text", "confidence", "box"}`` lines for each frame."""
        return await self._frame_documents("ocr", frames, "TEXT_BOXES")

    async def detect_faces(self, frames: list[np.ndarray]) -> list[list[dict[str, Any]]]:
        """Faces per frame that pass the model's quality gate: a list of ``{"box": [left, top, right, bottom],
        "score", "sharpness", "embedding": [128 floats]}`` for each frame (core/faces.group_people groups them)."""
        return await self._frame_documents(FACES_MODEL, frames, "FACES")

    async def _frame_documents(self, model: str, frames: list[np.ndarray], output: str) -> list[Any]:
        """The JSON document ``model`` answers for each frame (model_helpers/frame_documents.py)."""
        documents = await self._infer_images(model, frames, output)
        return [json.loads(d.reshape(-1)[0]) for d in documents]

    async def transcribe(self, audio: np.ndarray, sample_rate: int, language: str | None = None,
                         prior: Mapping[str, float] | None = None) -> dict[str, Any]:
        """Whisper transcript of 16 kHz mono audio: language, no_speech flag and timestamped segments; with
        ``language`` (ISO 639-1) whisper decodes in that language instead of detecting one; else, with ``prior``
        (served language -> weight, core.languages.spoken_language_prior), it chooses among those languages only,
        window by window (model_repository/asr/1/model.py)."""
        if sample_rate != 16000:
            raise ValueError(f"the asr model takes 16 kHz audio, got {sample_rate} Hz")
        audio_input = grpcclient.InferInput("AUDIO", [1, int(audio.size)], "FP32")  # a batch of one track
        audio_input.set_data_from_numpy(np.ascontiguousarray(audio, dtype=np.float32).reshape(1, -1))
        inputs = [audio_input]
        for name, value in (("LANGUAGE", language), ("LANGUAGES", json.dumps(dict(prior)) if prior else None)):
            if value:
                text_input = grpcclient.InferInput(name, [1, 1], "BYTES")
                text_input.set_data_from_numpy(np.array([[value.encode("utf-8")]], dtype=object))
                inputs.append(text_input)
        document = await self._infer("asr", inputs, "TRANSCRIPT", audio.size / sample_rate)
        return json.loads(document.reshape(-1)[0])


def _text_input(texts: list[str]) -> grpcclient.InferInput:
    data = np.array([[t.encode("utf-8")] for t in texts], dtype=object)
    text_input = grpcclient.InferInput("TEXT", list(data.shape), "BYTES")
    text_input.set_data_from_numpy(data)
    return text_input


def _image_input(frames: list[np.ndarray]) -> grpcclient.InferInput:
    batch = np.ascontiguousarray(np.stack(frames), dtype=np.uint8)
    image_input = grpcclient.InferInput("IMAGE", list(batch.shape), "UINT8")
    image_input.set_data_from_numpy(batch)
    return image_input

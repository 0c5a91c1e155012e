"""The copy stage as the benchmarks run it: pipeline/copy_stage.CopyStage over indexes of their own, on the
benchmark's Redis, with a tritonserver of its own serving image_features when the descriptor signal is on.

Videos are **published** (``publish``: an event judged and indexed as the pipeline does it, decoded within the media
budget), **indexed** (``index``: decoded here, described and indexed as the stage does, not judged: a benchmark's
references, which copy nothing) or **looked up** (``look_up``: decoded here and judged against what is indexed
without being indexed, CopyStage.decide with no digest: a benchmark's query)."""

from __future__ import annotations

import asyncio
import time
import uuid
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path

from bench.bench_stack import own_triton
from core.records import VideoPublished
from core.verdicts import Verdict
from features.copy_media import copy_media
from inference.triton_client import IMAGE_FEATURES_MODEL, TritonModels
from pipeline.copy_stage import CopyStage, Judged
from settings import Settings
from storage.generations import IndexGeneration


class StageDriver:
    def __init__(self, cfg: Settings, triton_port_offset: int) -> None:
        """The stage with ``cfg``'s DESCRIPTOR_SIGNAL and thresholds, over new indexes (dropped by ``close``);
        files are published by file:// URI, wherever they are."""
        self._servers = ExitStack()
        cfg = cfg.replace(media_root=Path("/"), redis_frame_index=f"bench-{uuid.uuid4().hex[:8]}")
        if cfg.descriptor_signal:
            cfg = self._servers.enter_context(own_triton(cfg, cfg.triton_http_port + triton_port_offset,
                                                         (IMAGE_FEATURES_MODEL,)))
        self.cfg = cfg
        # one event loop and one Triton client for the driver's life (a client is bound to its loop)
        self._loop = self._servers.enter_context(asyncio.Runner())
        self.indexes = IndexGeneration.open(cfg, 0)
        self.indexes.copies.create()
        self.indexes.descriptors.create()
        self._servers.callback(self.indexes.copies.drop)
        self._servers.callback(self.indexes.descriptors.drop)
        models = self._loop.run(self._connect()) if cfg.descriptor_signal else None
        if models is not None:
            self._servers.callback(lambda: self._loop.run(models.close()))
        self.stage = CopyStage(cfg, self.indexes, models)

    async def _connect(self) -> TritonModels:
        return TritonModels(self.cfg)

    def publish(self, video_id: str, path: Path, published_at_ms: int) -> Judged:
        event = VideoPublished(video_id=video_id, media_uri=path.resolve().as_uri(), channel_id="bench",
                               published_at=datetime.fromtimestamp(published_at_ms / 1000, UTC))
        return self._loop.run(self.stage.judge(event))

    def index(self, video_id: str, path: Path, published_at_ms: int) -> None:
        media = copy_media(path, self.cfg, path.name, pictures=self.cfg.descriptor_signal)
        described = self._loop.run(self.stage.describe(video_id, published_at_ms, path.resolve().as_uri(), media))
        if described is not None:
            self.indexes.descriptors.upsert(*described)
        self.indexes.copies.upsert(video_id, published_at_ms, media.signature)

    def look_up(self, video_id: str, path: Path, published_at_ms: int) -> tuple[Verdict, dict[str, float]]:
        """The decision on the file against the indexed videos, and the seconds of each step (``decode`` included)."""
        started = time.perf_counter()
        media = copy_media(path, self.cfg, path.name, pictures=self.cfg.descriptor_signal)
        decoded = time.perf_counter() - started
        verdict, seconds = self._loop.run(self.stage.decide(video_id, published_at_ms, path.resolve().as_uri(), media,
                                                            None))
        return verdict, {"decode_and_signature": round(decoded, 4), **seconds}

    def close(self) -> None:
        self._servers.close()

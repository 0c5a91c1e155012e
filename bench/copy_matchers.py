"""Matchers the copy benchmark (bench/copy_bench.py) can judge: a small interface, and the production path.

A matcher indexes the references and distractors once, then answers each query with its predictions: the
indexed videos it thinks the query copies, each with a score (higher is surer; every (query, reference) pair of
every query is ranked on it for micro-AP) and its own yes/no at its operating point. It sees only ids and files,
never the ground truth. To judge a new signal, write a class with these methods and add it to MATCHERS.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from bench.bench_stack import own_triton
from core.records import DuplicateVerdict, VideoPublished
from inference.triton_client import IMAGE_FEATURES_MODEL, TritonModels
from pipeline.copy_stage import CopyStage
from settings import Settings
from storage.generations import IndexGeneration
from telemetry.progress import track

INDEXED_FROM_MS = 1_767_225_600_000  # 2026-01-01: indexed videos are published a second apart from here
QUERIES_FROM_MS = INDEXED_FROM_MS + 10_000_000_000  # queries are published after every indexed video


@dataclass(frozen=True)
class Prediction:
    reference_id: str  # an indexed video's id
    score: float  # higher: surer it is a copy (ranks all pairs for micro-AP)
    is_copy: bool  # the matcher's own decision at its operating point
    query_range_s: tuple[float, float] | None = None  # where the copied part is in the query, if known
    reference_range_s: tuple[float, float] | None = None  # ... and in the reference


class Matcher(Protocol):
    name: str

    def index(self, videos: list[tuple[str, Path]]) -> None:
        """Index these (video id, file) pairs: references and distractors, in order of publication."""

    def search(self, video_id: str, path: Path) -> list[Prediction]:
        """The indexed videos the query (published after all of them) copies, or may copy."""

    def close(self) -> None:
        """Release what the matcher holds (its index)."""


class ProductionMatcher:
    """The copy stage itself (pipeline/copy_stage.CopyStage.judge: decode, signature, PDQ lookup, and the descriptor
    signal where PDQ verifies no copy, on a tritonserver of its own serving image_features) over a copy index and a
    descriptor index in Redis: every indexed video and query is published to it as an event, one at a time, so the
    indexed videos are judged too, as the pipeline would. A match is a copy when the verdict lists it among its
    visual copies and, for a descriptor match, its score reaches DESCRIPTOR_MIN_SCORE (the pipeline's threshold);
    descriptor matches below it are kept for ranking (the stage here runs with the threshold at 0).

    Scores rank every pair for micro-AP in three tiers, as the pipeline trusts them: copies PDQ verified (their
    confidence, plus 2 * TIER), then descriptor matches (their score, plus TIER), then PDQ matches that are no copy
    (their confidence). With ``descriptors`` off (matcher "pdq") nothing is described: PDQ and chromaprint only."""

    name = "production"
    TIER = 1000.0
    TRITON_PORT_OFFSET = 320

    def __init__(self, cfg: Settings, descriptors: bool = True, triton_port_offset: int = TRITON_PORT_OFFSET) -> None:
        self._servers = ExitStack()
        self.min_score = cfg.descriptor_min_score
        # the corpus's files by file:// URI, wherever the bench's stack folder is
        cfg = cfg.replace(descriptor_signal=descriptors, descriptor_min_score=0.0, media_root=Path("/"),
                          redis_frame_index=f"copy_bench_{'descriptors' if descriptors else 'pdq'}_{int(time.time())}")
        if descriptors:
            cfg = self._servers.enter_context(own_triton(cfg, cfg.triton_http_port + triton_port_offset,
                                                         (IMAGE_FEATURES_MODEL,)))
        self.cfg = cfg
        # one event loop and one Triton client for the matcher's life (a client is bound to its loop)
        self._loop = self._servers.enter_context(asyncio.Runner())
        self.indexes = IndexGeneration.open(cfg, 0)
        self.indexes.copies.create()
        self.indexes.descriptors.create()
        self._servers.callback(self.indexes.copies.drop)
        self._servers.callback(self.indexes.descriptors.drop)
        self._models = self._loop.run(self._connect()) if descriptors else None
        if self._models is not None:
            self._servers.callback(lambda: self._loop.run(self._models.close()))
        self.stage = CopyStage(cfg, self.indexes, self._models)
        self.published = 0
        self.stage_seconds: dict[str, float] = {}  # the last video's, per step

    async def _connect(self) -> TritonModels:
        return TritonModels(self.cfg)

    def _judge(self, video_id: str, path: Path, published_at_ms: int) -> DuplicateVerdict:
        event = VideoPublished(video_id=video_id, media_uri=path.resolve().as_uri(), channel_id="bench",
                               published_at=datetime.fromtimestamp(published_at_ms / 1000, UTC))
        judged = self._loop.run(self.stage.judge(event))
        self.stage_seconds = judged.stage_seconds
        return judged.verdict

    def index(self, videos: list[tuple[str, Path]]) -> None:
        for n, (video_id, path) in enumerate(track(videos, len(videos), "indexed", "videos")):
            self._judge(video_id, path, INDEXED_FROM_MS + n * 1000)

    def search(self, video_id: str, path: Path) -> list[Prediction]:
        self.published += 1
        verdict = self._judge(video_id, path, QUERIES_FROM_MS + self.published * 1000)
        self.indexes.copies.forget(video_id)  # judged against the indexed videos only, never against other queries
        self.indexes.descriptors.forget(video_id)
        predictions = []
        for m in verdict.matches:
            if m.signal == "descriptor":
                is_copy = m.video_id in verdict.copies and (m.descriptor_score or 0.0) >= self.min_score
                score = self.TIER + (m.descriptor_score or 0.0)
            else:
                is_copy = m.video_id in verdict.copies
                score = m.score + (2 * self.TIER if is_copy else 0.0)
            predictions.append(Prediction(m.video_id, score, is_copy, (m.query_start_s, m.query_end_s),
                                          (m.reference_start_s, m.reference_end_s)))
        return predictions

    def close(self) -> None:
        self._servers.close()


MATCHERS: dict[str, Callable[[Settings], Matcher]] = {
    "production": ProductionMatcher, "pdq": lambda cfg: ProductionMatcher(cfg, descriptors=False)}

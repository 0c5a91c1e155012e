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
from pathlib import Path
from typing import Protocol

import numpy as np

from bench.bench_stack import own_triton
from core.bits import thin
from core.descriptor_match import background_similarity, match, view_similarities
from features.copy_signature import copy_signature
from features.descriptor_views import content_pictures, query_views, stacked_views, whole_views
from features.media import decode_video
from inference.triton_client import IMAGE_DESCRIPTOR_DIMS, IMAGE_FEATURES_MODEL, TritonModels
from pipeline.copy_detection import CopyDetector
from settings import Settings
from storage.copy_index import CopyIndex
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
    """Today's copy stage: decode_video + copy_signature, a CopyIndex in Redis, CopyDetector.detect; a match is a
    copy when the verdict lists it among its visual copies, scored by its alignment's confidence."""

    name = "production"

    def __init__(self, cfg: Settings) -> None:
        self.cfg = cfg
        self.copy_index = CopyIndex(cfg.redis_url, f"copy_bench_{int(time.time())}")
        self.copy_index.create()
        self.detector = CopyDetector(self.copy_index, cfg)
        self.queries = 0

    def index(self, videos: list[tuple[str, Path]]) -> None:
        for n, (video_id, path) in enumerate(track(videos, len(videos), "indexed", "videos")):
            self.copy_index.upsert(video_id, INDEXED_FROM_MS + n * 1000, copy_signature(decode_video(path, self.cfg),
                                                                                           self.cfg))

    def search(self, video_id: str, path: Path) -> list[Prediction]:
        self.queries += 1
        signature = copy_signature(decode_video(path, self.cfg), self.cfg)
        verdict = self.detector.detect(video_id, QUERIES_FROM_MS + self.queries, signature)
        return [Prediction(m.video_id, m.score, m.video_id in verdict.copies,
                           (m.alignment.query_start_s, m.alignment.query_end_s),
                           (m.alignment.reference_start_s, m.alignment.reference_end_s)) for m in verdict.matches]

    def close(self) -> None:
        self.copy_index.drop()


class DescriptorMatcher:
    """The CNN descriptor signal (core/descriptor_match.py), not yet in the pipeline: pictures described by the
    image_features model on a tritonserver of its own; every sampled frame of the indexed videos by its whole
    picture, each query by the views of up to QUERY_PICTURES of its frames (features/descriptor_views.py). Search is
    brute force over every indexed frame in memory (what a Redis KNN index would answer); each query frame's
    background is its similarity to the BACKGROUND_RANK-th most similar video, and the CANDIDATES videos most above
    it are aligned in time. A copy at its operating point: a score of IS_COPY_SCORE or more (a round value above
    the thresholds that kept precision at 0.99 on the quick slices of seeds 1 and 2, 1.71 and 1.81; never set on the
    full benchmark)."""

    name = "descriptor"
    QUERY_PICTURES = 12
    BACKGROUND_RANK = 10
    CANDIDATES = 20
    IS_COPY_SCORE = 2.0
    TRITON_PORT_OFFSET = 320

    def __init__(self, cfg: Settings) -> None:
        self._servers = ExitStack()
        self.cfg = self._servers.enter_context(own_triton(cfg, cfg.triton_http_port + self.TRITON_PORT_OFFSET,
                                                          (IMAGE_FEATURES_MODEL,)))
        # one event loop and one Triton client for the matcher's life (a client is bound to its loop)
        self._loop = self._servers.enter_context(asyncio.Runner())
        self._models = self._loop.run(self._connect())
        self._servers.callback(lambda: self._loop.run(self._models.close()))
        self.ids: list[str] = []
        self.frames: list[np.ndarray] = []  # per indexed video, its frames' descriptors
        self.times: list[np.ndarray] = []
        self.matrix = np.zeros((0, IMAGE_DESCRIPTOR_DIMS), np.float32)
        self.owner = np.zeros(0, np.int64)

    async def _connect(self) -> TritonModels:
        return TritonModels(self.cfg)

    def _describe(self, *image_lists: list[np.ndarray]) -> list[np.ndarray]:
        """The descriptors of each list of images (all of one size within a list), requested together."""
        async def run() -> list[np.ndarray]:
            return list(await asyncio.gather(*(self._models.describe_images(images) for images in image_lists)))

        return self._loop.run(run())

    def index(self, videos: list[tuple[str, Path]]) -> None:
        for video_id, path in track(videos, len(videos), "indexed", "videos"):
            video = decode_video(path, self.cfg)
            self.ids.append(video_id)
            self.frames.append(self._describe(whole_views(content_pictures(video.frames)))[0])
            self.times.append(np.asarray(video.frame_times_s, np.float64))
        self.matrix = np.concatenate(self.frames)
        self.owner = np.concatenate([np.full(len(f), n) for n, f in enumerate(self.frames)])

    def search(self, video_id: str, path: Path) -> list[Prediction]:
        video = decode_video(path, self.cfg)
        picked = thin(list(range(len(video.frames))), self.QUERY_PICTURES)
        wholes, parts = query_views(content_pictures([video.frames[i] for i in picked]))
        views = stacked_views(*self._describe(wholes, parts))
        per_frame = np.einsum("qvd,nd->qvn", views, self.matrix).max(axis=1)
        best_per_video = np.full((len(picked), len(self.ids)), -1.0, np.float32)
        for row, similarities in zip(best_per_video, per_frame, strict=True):
            np.maximum.at(row, self.owner, similarities)
        background = background_similarity(best_per_video, self.BACKGROUND_RANK)
        query_times = np.asarray(video.frame_times_s, np.float64)[picked]
        spacing = 1.0 / self.cfg.frames_per_second
        predictions = []
        for n in np.argsort(-(best_per_video - background[:, None]).max(axis=0))[:self.CANDIDATES]:
            similarities, which = view_similarities(views, self.frames[n])
            found = match(query_times, similarities, which, background, self.times[n], 0.6 + spacing / 2)
            if found is not None:
                predictions.append(Prediction(self.ids[n], found.score, found.score >= self.IS_COPY_SCORE,
                                              found.query_range_s, found.reference_range_s))
        return predictions

    def close(self) -> None:
        self._servers.close()


MATCHERS: dict[str, Callable[[Settings], Matcher]] = {"production": ProductionMatcher, "descriptor": DescriptorMatcher}

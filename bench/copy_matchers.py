"""Matchers the copy benchmark (bench/copy_bench.py) can judge: a small interface, and the production path.

A matcher indexes the references and distractors once, then answers each query with its predictions: the
indexed videos it thinks the query copies, each with a score (higher is surer; every (query, reference) pair of
every query is ranked on it for micro-AP) and its own yes/no at its operating point. It sees only ids and files,
never the ground truth. To judge a new signal, write a class with these methods and add it to MATCHERS.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from features.copy_signature import copy_signature
from features.media import decode_video
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


MATCHERS: dict[str, Callable[[Settings], Matcher]] = {"production": ProductionMatcher}

"""Matchers the copy benchmark (bench/copy_bench.py) can judge: a small interface, and the production path.

A matcher indexes the references and distractors once, then answers each query with its predictions: the
indexed videos it thinks the query copies, each with a score (higher is surer; every (query, reference) pair of
every query is ranked on it for micro-AP) and its own yes/no at its operating point. It sees only ids and files,
never the ground truth. To judge a new signal, write a class with these methods and add it to MATCHERS.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from bench.stage_driver import StageDriver
from settings import Settings
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
    """The copy stage (bench/stage_driver.py: CopyStage with its descriptor signal, on a tritonserver of its own): the
    indexed videos are described and indexed as the stage does (not judged: they copy nothing); each query is looked
    up, judged as the stage judges a video, against them (not indexed). A match is a copy when the verdict lists it
    among its visual copies and, for a descriptor match, its score reaches DESCRIPTOR_MIN_SCORE (the pipeline's
    threshold); descriptor matches below it are kept for ranking (the stage here runs with the threshold at 0).

    Scores rank every pair for micro-AP in four tiers, as the pipeline trusts them: copies PDQ verified (their
    confidence, plus 2 * TIER), then descriptor matches local features verified (their agreeing keypoints, plus
    1.5 * TIER), then other descriptor matches (their score, plus TIER), then PDQ matches that are no copy (their
    confidence). With ``descriptors`` off (matcher "pdq") nothing is described: PDQ and chromaprint only."""

    name = "production"
    TIER = 1000.0
    TRITON_PORT_OFFSET = 320

    def __init__(self, cfg: Settings, descriptors: bool = True, triton_port_offset: int = TRITON_PORT_OFFSET) -> None:
        self.min_score = cfg.descriptor_min_score
        self.driver = StageDriver(cfg.replace(descriptor_signal=descriptors, descriptor_min_score=0.0),
                                  triton_port_offset)
        self.looked_up = 0
        self.stage_seconds: dict[str, float] = {}  # the last query's, per step

    def index(self, videos: list[tuple[str, Path]]) -> None:
        for n, (video_id, path) in enumerate(track(videos, len(videos), "indexed", "videos")):
            self.driver.index(video_id, path, INDEXED_FROM_MS + n * 1000)

    def search(self, video_id: str, path: Path) -> list[Prediction]:
        self.looked_up += 1
        verdict, self.stage_seconds = self.driver.look_up(video_id, path, QUERIES_FROM_MS + self.looked_up * 1000)
        predictions = []
        for m in verdict.matches:
            if m.signal == "descriptor" and m.geometry is not None:
                is_copy = m.video_id in verdict.copies
                score = 1.5 * self.TIER + m.geometry.inliers
            elif m.signal == "descriptor":
                is_copy = m.video_id in verdict.copies and (m.descriptor_score or 0.0) >= self.min_score
                score = self.TIER + (m.descriptor_score or 0.0)
            else:
                is_copy = m.video_id in verdict.copies
                score = m.score + (2 * self.TIER if is_copy else 0.0)
            a = m.alignment
            predictions.append(Prediction(m.video_id, score, is_copy, (a.query_start_s, a.query_end_s),
                                          (a.reference_start_s, a.reference_end_s)))
        return predictions

    def close(self) -> None:
        self.driver.close()


MATCHERS: dict[str, Callable[[Settings], Matcher]] = {
    "production": ProductionMatcher, "pdq": lambda cfg: ProductionMatcher(cfg, descriptors=False)}

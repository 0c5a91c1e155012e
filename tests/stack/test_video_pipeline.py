"""The per-event pipeline driven directly, without Faust or Kafka: real Redis, Triton and an embedded archive."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.records import DuplicateVerdict, EnrichedVideo, VideoPublished
from inference.triton_client import TritonModels
from loadgen.samples import Sample, prepare_samples
from pipeline.video_pipeline import Outcome, VideoPipeline
from settings import Settings
from storage.archive import Archive
from storage.generations import IndexGeneration


@pytest.fixture(scope="module")
def indexes(stack: Settings) -> Iterator[IndexGeneration]:
    generation = IndexGeneration.open(stack.replace(redis_frame_index="vp-frames", redis_search_index="vp-search",
                                                    redis_cluster_index="vp-clusters"), 0)
    generation.drop()
    yield generation.create()
    generation.drop()


def event_of(sample: Sample) -> VideoPublished:
    return VideoPublished(video_id=f"vp-{sample.video_id}", media_uri=sample.relative_path, channel_id="vp",
                          published_at=sample.published_at, title=sample.title, tags=["pipeline"])


def run(cfg: Settings, indexes: IndexGeneration, archive: Archive, events: list[VideoPublished],
        sent: list[DuplicateVerdict | EnrichedVideo]) -> list[Outcome]:
    async def process_all() -> list[Outcome]:
        models = TritonModels(cfg)
        try:
            pipeline = VideoPipeline(cfg, indexes, archive, models)
            return [await pipeline.process(event, on_verdict=record, on_enriched=record) for event in events]
        finally:
            await models.close()

    async def record(output: DuplicateVerdict | EnrichedVideo) -> None:
        sent.append(output)

    return asyncio.run(process_all())


def test_an_original_then_its_copy(stack: Settings, indexes: IndexGeneration, tmp_path: Path) -> None:
    samples = {s.video_id: s for s in prepare_samples(stack.media_root)}
    events = [event_of(samples["bikes"]), event_of(samples["bikes-resized"])]
    archive = Archive(f"chdb://{tmp_path / 'archive'}")
    archive.create_schema()
    sent: list[DuplicateVerdict | EnrichedVideo] = []
    try:
        original, copy = run(stack, indexes, archive, events, sent)
        again = run(stack, indexes, archive, events[1:], [])[0]
    finally:
        archive.close()
    assert original.verdict.verdict == "UNIQUE" and original.newly_archived
    assert copy.verdict.verdict in ("NEAR_DUPLICATE", "EXACT_DUPLICATE") and copy.verdict.duplicate_of == "vp-bikes"
    assert copy.verdict.matches[0].video_id == "vp-bikes" and copy.verdict.matches[0].visual_copy
    # each video's verdict went out before its enriched record
    assert [(type(r).__name__, r.video_id) for r in sent] == [
        ("DuplicateVerdict", "vp-bikes"), ("EnrichedVideo", "vp-bikes"),
        ("DuplicateVerdict", "vp-bikes-resized"), ("EnrichedVideo", "vp-bikes-resized")]
    assert copy.enriched.duplicate_of == "vp-bikes" and copy.enriched.has_audio is False
    assert copy.enriched.archive.features_version == copy.verdict.features_version
    assert {"decode", "copy_signature", "index", "lookup", "enrichment_wait", "archive", "search_index"} <= set(
        copy.stage_seconds)
    assert set(indexes.search.cards(["vp-bikes", "vp-bikes-resized"])) == {"vp-bikes", "vp-bikes-resized"}
    # a replay decides the same and archives nothing new
    assert not again.newly_archived and again.verdict.duplicate_of == "vp-bikes"

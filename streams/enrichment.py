"""The enrichment stage's Faust app: ``enrichment-requests`` -> ``enriched`` and ``archive`` (or a dead letter);
``cluster-centroids`` and ``person-centroids`` -> Redis.

Run workers with ``python -m streams enrichment worker -l info``: consumer group ``<FAUST_APP_ID>-enrichment``,
each working on ENRICHMENT_CONCURRENCY videos at once (most of their time is spent waiting for Triton). The
archive record goes to the ``archive`` topic, which the archiver writes to ClickHouse in batches: workers
never open ClickHouse.
"""

from __future__ import annotations

import asyncio
import logging
from functools import partial
from typing import Any

import faust
import redis

from core.errors import InferenceError, PipelineError
from core.records import ClusterCentroid, DuplicateVerdict, EnrichedVideo, EnrichmentRequest, VideoPublished
from inference.triton_client import TritonModels
from pipeline.enrichment_stage import Enriched, EnrichmentStage
from schemas.codec import SchemaError, decode_record, encode_record
from settings import Settings
from storage.cluster_index import ClusterIndex
from storage.generations import IndexGeneration, current_generation
from streams.wiring import (
    PUBLISHED_AT_HEADER,
    bytes_topic,
    header_timestamp_s,
    seconds_since,
    send_confirmed,
    send_dead_letter,
    stage_app,
    until_done,
)
from telemetry import metrics
from telemetry.logs import video

log = logging.getLogger(__name__)
cfg = Settings.from_env()
app = stage_app(cfg, "enrichment")
requests_topic = bytes_topic(app, cfg.topic_enrichment_requests, cfg.topic_partitions)
enriched_topic = bytes_topic(app, cfg.topic_enriched, cfg.topic_partitions)
archive_topic = bytes_topic(app, cfg.topic_archive, cfg.topic_partitions)
dead_letter_topic = bytes_topic(app, cfg.topic_dead_letter, cfg.topic_partitions)
centroid_topic = bytes_topic(app, cfg.topic_cluster_centroids, 1, allow_empty=True)
person_centroid_topic = bytes_topic(app, cfg.topic_person_centroids, 1, allow_empty=True)

INDEX_SIZES_EVERY_S = 15.0
_stages: dict[int, EnrichmentStage] = {}  # by index generation: one entry, replaced when a reindex switches
_shared: dict[str, Any] = {}


def enrichment_stage() -> EnrichmentStage:
    """The stage writing to the index generation in use (one Redis GET); the Triton connection is opened once,
    inside the worker's event loop."""
    if not _shared:
        _shared["redis"] = redis.Redis.from_url(cfg.redis_url)
        _shared["models"] = TritonModels(cfg)
    generation = current_generation(_shared["redis"], cfg)
    if generation not in _stages:
        if _stages:
            log.info("index generation %d in use from now on", generation)
        _stages.clear()
        _stages[generation] = EnrichmentStage(cfg, IndexGeneration.open(cfg, generation).create(), _shared["models"])
    return _stages[generation]


@app.task
async def open_connections() -> None:
    """Open the indexes and Triton when the worker starts, so a misconfiguration (a Redis index left with another
    layout, a text encoder of another width) stops the worker with its message instead of dead-lettering every
    event."""
    enrichment_stage()
    try:
        await _shared["models"].check_text_encoder()
    except InferenceError as exc:  # Triton not up yet: requests wait for it (outage), the check is skipped
        log.warning("text_encoder not checked at start: %s", exc)


async def send_enriched(enriched: EnrichedVideo) -> None:  # also updates of earlier series episodes
    await send_confirmed(enriched_topic, enriched.video_id.encode(), encode_record(enriched))


async def enrich(published: VideoPublished, verdict: DuplicateVerdict) -> Enriched | None:
    return await enrichment_stage().enrich(published, verdict, send_enriched)  # the generation in use at each try


@app.agent(requests_topic, concurrency=cfg.enrichment_concurrency)
async def enrich_judged_videos(stream: faust.StreamT) -> None:
    async for event in stream.events():
        message = event.message
        try:
            request = decode_record(EnrichmentRequest, message.value)
            published = decode_record(VideoPublished, request.event)
            verdict = decode_record(DuplicateVerdict, request.verdict)
        except SchemaError as exc:
            await send_dead_letter(dead_letter_topic, message, None, "malformed_request", str(exc))
            continue
        enriched = await until_done(partial(enrich, published, verdict), message, published.video_id,
                                    dead_letter_topic, cfg, _shared.get("models"))
        if enriched is None:  # dead-lettered, or the video was deleted
            continue
        await send_confirmed(archive_topic, published.video_id.encode(), encode_record(enriched.archived))
        latency = seconds_since(header_timestamp_s(message, PUBLISHED_AT_HEADER))
        if latency is not None:
            metrics.PUBLISH_TO_ENRICHED.observe(latency)
        metrics.EVENTS.labels("enrichment", "enriched").inc()
        metrics.observe_steps("enrichment", enriched.stage_seconds)
        log.info("video %s: enriched, cluster %s, stages=%s", published.video_id,
                 enriched.enriched.cluster_id or "unassigned", enriched.stage_seconds, extra=video(published.video_id))


@app.timer(interval=INDEX_SIZES_EVERY_S)
async def count_index_documents() -> None:
    """The sizes of the generation in use's Redis indexes, for ``vu_index_documents`` (skipped while Redis is
    down: the gauge keeps its last value)."""
    try:
        sizes = await asyncio.to_thread(enrichment_stage().indexes.document_counts)
    except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError) as exc:
        log.warning("index sizes not counted: %s", exc)
        return
    for index, count in sizes.items():
        metrics.INDEX_DOCUMENTS.labels(index).set(count)


def centroid_index(topic: str) -> ClusterIndex:
    """Where a centroid topic's records go in the generation in use: topic clusters or person clusters."""
    indexes = enrichment_stage().indexes
    return indexes.people if topic == cfg.topic_person_centroids else indexes.clusters


async def load_centroid(message: Any) -> None:
    """One record of a centroid topic into Redis: a centroid is upserted, a tombstone (null value) retires the
    cluster its key names. Raises PipelineError (malformed_centroid) for a record that is neither."""
    index = centroid_index(message.topic)
    if message.value is None:
        try:
            cluster_id = (message.key or b"").decode()
        except UnicodeDecodeError as exc:
            raise PipelineError(f"a tombstone whose key is not UTF-8: {exc}", kind="malformed_centroid") from exc
        if not cluster_id:
            raise PipelineError("a tombstone without a key retires no cluster", kind="malformed_centroid")
        await asyncio.to_thread(index.delete, cluster_id)
        log.info("%s cluster %s retired", index.name, cluster_id)
        return
    try:
        record = decode_record(ClusterCentroid, message.value)
    except SchemaError as exc:
        raise PipelineError(str(exc), kind="malformed_centroid") from exc
    if not index.fits(record):
        raise PipelineError(f"a {len(record.centroid)}-d centroid for {index.name}, whose centroids are "
                            f"{index.space.dims}-d", kind="malformed_centroid")
    await asyncio.to_thread(index.upsert, record)
    log.info("%s cluster %s loaded: %s (%d members, run %s)", index.name, record.cluster_id, record.label,
             record.size, record.run_id)


@app.agent(centroid_topic)
async def load_cluster_centroids(stream: faust.StreamT) -> None:
    """Cluster centroids published by the re-clustering job go into Redis, where new videos are assigned. Like
    every agent it survives any record: one it cannot use is dead-lettered, and a Redis outage is waited out."""
    async for event in stream.events():
        await until_done(partial(load_centroid, event.message), event.message, None, dead_letter_topic, cfg)


@app.agent(person_centroid_topic)
async def load_person_centroids(stream: faust.StreamT) -> None:
    """Person-cluster centroids, as load_cluster_centroids does for topics."""
    async for event in stream.events():
        await until_done(partial(load_centroid, event.message), event.message, None, dead_letter_topic, cfg)

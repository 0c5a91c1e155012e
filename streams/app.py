"""The Faust app: one agent consumes ``publish-video`` and emits ``verdict``, ``enriched`` or ``dead-letter``.

Run a worker with ``python -m streams worker -l info`` (more workers = more partitions processed in
parallel). processing_guarantee is at_least_once: an event's offset is committed only after its
outputs were acknowledged by the broker, and every sink is idempotent, so a crash replays at most a
few events harmlessly (consumers dedupe verdicts by video_id). The verdict is sent as soon as it is
decided, before the enrichment models finish; the enriched record follows.
"""

from __future__ import annotations

import asyncio
import logging
import traceback
from datetime import UTC, datetime
from typing import Any

import faust
import redis
from clickhouse_connect.driver.exceptions import OperationalError as ClickHouseOperationalError

from core.errors import InferenceError, PipelineError
from core.records import ClusterCentroid, DeadLetter, DuplicateVerdict, EnrichedVideo, VideoPublished
from inference.triton_client import TritonModels
from pipeline.video_pipeline import VideoPipeline
from schemas.codec import SchemaError, decode_record, encode_record
from settings import Settings
from storage.archive import Archive
from storage.generations import IndexGeneration, current_generation
from streams.fetch_backoff import install as install_fetch_backoff

log = logging.getLogger(__name__)
cfg = Settings.from_env()
install_fetch_backoff(cfg.empty_fetch_backoff_ms)

app = faust.App(
    cfg.faust_app_id,
    broker=[f"kafka://{server.strip()}" for server in cfg.kafka_bootstrap.split(",")],
    processing_guarantee="at_least_once",
    topic_partitions=cfg.topic_partitions,
    topic_allow_declare=True,
    datadir=str(cfg.faust_data_dir),
    web_enabled=False,
    key_serializer="raw",
    value_serializer="raw",
    consumer_auto_offset_reset="earliest",
    broker_commit_every=1,
    consumer_group_instance_id=cfg.worker_instance_id,
)

publish_topic = app.topic(cfg.topic_publish, partitions=cfg.topic_partitions, value_type=bytes, key_type=bytes)
verdict_topic = app.topic(cfg.topic_verdict, partitions=cfg.topic_partitions, value_type=bytes, key_type=bytes)
enriched_topic = app.topic(cfg.topic_enriched, partitions=cfg.topic_partitions, value_type=bytes, key_type=bytes)
dead_letter_topic = app.topic(cfg.topic_dead_letter, partitions=cfg.topic_partitions, value_type=bytes,
                              key_type=bytes)
centroid_topic = app.topic(cfg.topic_cluster_centroids, partitions=1, value_type=bytes, key_type=bytes,
                           allow_empty=True)

_pipelines: dict[int, VideoPipeline] = {}  # by index generation: one entry, replaced when a reindex switches
_shared: dict[str, Any] = {}


def pipeline() -> VideoPipeline:
    """The pipeline writing to the index generation in use (storage/generations.py; one Redis GET). Connections
    are opened lazily inside the worker's event loop; the archive and Triton connections are opened once."""
    if not _shared:
        _shared["redis"] = redis.Redis.from_url(cfg.redis_url)
        _shared["archive"] = Archive(cfg.clickhouse_dsn)
        _shared["archive"].create_schema()
        _shared["models"] = TritonModels(cfg)
    generation = current_generation(_shared["redis"], cfg)
    if generation not in _pipelines:
        indexes = IndexGeneration.open(cfg, generation).create()
        if _pipelines:
            log.info("index generation %d in use from now on", generation)
        _pipelines.clear()
        _pipelines[generation] = VideoPipeline(cfg, indexes, _shared["archive"], _shared["models"])
    return _pipelines[generation]


async def send_confirmed(topic: faust.TopicT, key: bytes | None, value: bytes) -> None:
    """Send and wait for the broker's acknowledgement, so the input offset is committed only after it."""
    await (await topic.send(key=key, value=value))


async def send_dead_letter(message: Any, video_id: str | None, kind: str, reason: str) -> None:
    log.warning("dead letter %s[%d]@%d video=%s %s: %s", message.topic, message.partition, message.offset,
                video_id, kind, reason)
    record = DeadLetter(original_value=message.value or b"", original_key=message.key, topic=message.topic,
                        partition=message.partition, offset=message.offset, video_id=video_id, error_kind=kind,
                        message=reason, failed_at=datetime.now(UTC))
    await send_confirmed(dead_letter_topic, message.key, encode_record(record))


OUTAGE_ERRORS = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, ClickHouseOperationalError)


async def outage(exc: Exception) -> str | None:
    """The service an error shows to be down (Redis, ClickHouse, Triton), or None if the event is at fault."""
    if isinstance(exc, OUTAGE_ERRORS):
        return f"{type(exc).__name__}: {exc}"
    if isinstance(exc, InferenceError) and not await _shared["models"].required_models_ready():
        return f"Triton is down or its models are not ready ({exc})"
    return None


async def handle(message: Any) -> None:
    """Process one consumed message; never raises for a bad event (it is dead-lettered instead). While a
    service it needs is down, it retries the event with backoff and does not return, so the offset is not
    committed and the stream waits (backpressure) instead of dead-lettering good events."""
    try:
        event = decode_record(VideoPublished, message.value)
    except SchemaError as exc:
        await send_dead_letter(message, None, "malformed_event", str(exc))
        return
    video_id = event.video_id
    key = video_id.encode()
    verdict_sent = False

    async def send_verdict(verdict: DuplicateVerdict) -> None:
        nonlocal verdict_sent
        if not verdict_sent:  # a retry after an outage decides the same verdict again: send it once
            await send_confirmed(verdict_topic, key, encode_record(verdict))
            verdict_sent = True

    async def send_enriched(enriched: EnrichedVideo) -> None:  # also updates of earlier series episodes
        await send_confirmed(enriched_topic, enriched.video_id.encode(), encode_record(enriched))

    delay = 1.0
    while True:
        try:
            outcome = await pipeline().process(event, on_verdict=send_verdict, on_enriched=send_enriched)
            break
        except Exception as exc:  # noqa: BLE001 - a bug must not stop the stream; the event is kept
            down = await outage(exc)
            if down is not None:
                log.warning("video %s waits, offset %s[%d]@%d not committed: %s; retrying in %.0f s", video_id,
                            message.topic, message.partition, message.offset, down, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, cfg.outage_retry_max_s)
            elif isinstance(exc, PipelineError):
                await send_dead_letter(message, video_id, exc.kind, str(exc))
                return
            else:
                log.error("unexpected error on %s:\n%s", video_id, traceback.format_exc())
                await send_dead_letter(message, video_id, "internal_error", f"{type(exc).__name__}: {exc}")
                return
    archived = "archived" if outcome.newly_archived else "replay: already archived"
    log.info("video %s: %s %s (%s) stages=%s", video_id, outcome.verdict.verdict,
             outcome.verdict.duplicate_of or "", archived, outcome.stage_seconds)


@app.task
async def open_connections() -> None:
    """Open the connections when the worker starts, so a misconfiguration (a Redis index left with another
    layout, a text encoder of another width) stops the worker with its message instead of dead-lettering every
    event."""
    pipeline()
    try:
        await _shared["models"].check_text_encoder()
    except InferenceError as exc:  # Triton not up yet: events wait for it (outage), the check is skipped
        log.warning("text_encoder not checked at start: %s", exc)


@app.agent(centroid_topic)
async def load_cluster_centroids(stream: faust.StreamT) -> None:
    """Cluster centroids published by the re-clustering job go into Redis, where new videos are assigned;
    a tombstone (null value) retires a cluster."""
    async for event in stream.events():
        key = event.message.key.decode()
        if event.message.value is None:
            await asyncio.to_thread(pipeline().indexes.clusters.delete, key)
            log.info("cluster %s retired", key)
            continue
        try:
            record = decode_record(ClusterCentroid, event.message.value)
        except SchemaError as exc:
            log.error("unreadable centroid for cluster %s skipped: %s", key, exc)
            continue
        await asyncio.to_thread(pipeline().indexes.clusters.upsert, record)
        log.info("cluster %s loaded: %s (%d videos, run %s)", key, record.label, record.size, record.run_id)


@app.agent(publish_topic)
async def process_published_videos(stream: faust.StreamT) -> None:
    async for event in stream.events():
        await handle(event.message)

"""The copy stage's Faust app: ``publish-video`` -> ``verdict`` (and the request to enrich, or a dead letter).

Run workers with ``python -m streams copies worker -l info``: consumer group ``<FAUST_APP_ID>-copies``, as many
workers as partitions, each working on COPIES_CONCURRENCY events at once. The verdict goes out as soon as it is
decided; the video then goes to the enrichment stage through the internal ``enrichment-requests`` topic, so a
backlog of enrichment never delays a verdict. With DESCRIPTOR_SIGNAL on (the default) the stage describes pictures
with Triton's image_features model; while Triton is down, events wait.
"""

from __future__ import annotations

import logging
from functools import partial

import faust
import redis

from core.records import EnrichmentRequest, VideoPublished
from inference.triton_client import TritonModels
from pipeline.copy_stage import CopyStage, Judged
from schemas.codec import SchemaError, decode_record, encode_record
from settings import Settings
from storage.generations import IndexGeneration, current_generation
from streams.wiring import (
    PUBLISHED_AT_HEADER,
    bytes_topic,
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
app = stage_app(cfg, "copies")
publish_topic = bytes_topic(app, cfg.topic_publish, cfg.topic_partitions)
verdict_topic = bytes_topic(app, cfg.topic_verdict, cfg.topic_partitions)
requests_topic = bytes_topic(app, cfg.topic_enrichment_requests, cfg.topic_partitions)
dead_letter_topic = bytes_topic(app, cfg.topic_dead_letter, cfg.topic_partitions)

_stages: dict[int, CopyStage] = {}  # by index generation: one entry, replaced when a reindex switches
_redis: list[redis.Redis] = []
_models: list[TritonModels] = []  # opened once, inside the worker's event loop, if the descriptor signal is on


def copy_stage() -> CopyStage:
    """The stage writing to the index generation in use (storage/generations.py; one Redis GET per event)."""
    if not _redis:
        _redis.append(redis.Redis.from_url(cfg.redis_url))
        if cfg.descriptor_signal:
            _models.append(TritonModels(cfg))
    generation = current_generation(_redis[0], cfg)
    if generation not in _stages:
        if _stages:
            log.info("index generation %d in use from now on", generation)
        _stages.clear()
        _stages[generation] = CopyStage(cfg, IndexGeneration.open(cfg, generation).create(),
                                        _models[0] if _models else None)
    return _stages[generation]


@app.task
async def open_connections() -> None:
    """Open the indexes when the worker starts, so a misconfiguration (a Redis index left with another layout)
    stops the worker with its message instead of dead-lettering every event."""
    copy_stage()


async def judge(published: VideoPublished) -> Judged:
    return await copy_stage().judge(published)  # the generation in use at each try


@app.agent(publish_topic, concurrency=cfg.copies_concurrency)
async def judge_published_videos(stream: faust.StreamT) -> None:
    async for event in stream.events():
        message = event.message
        try:
            published = decode_record(VideoPublished, message.value)
        except SchemaError as exc:
            await send_dead_letter(dead_letter_topic, message, None, "malformed_event", str(exc))
            continue
        judged = await until_done(partial(judge, published), message, published.video_id, dead_letter_topic, cfg,
                                  _models[0] if _models else None)
        if judged is None:
            continue
        key = published.video_id.encode()
        verdict = encode_record(judged.verdict)
        await send_confirmed(verdict_topic, key, verdict)
        latency = seconds_since(message.timestamp)
        if latency is not None:
            metrics.PUBLISH_TO_VERDICT.observe(latency)
        metrics.EVENTS.labels("copies", judged.verdict.verdict).inc()
        metrics.observe_steps("copies", judged.stage_seconds)
        published_ms = str(int(message.timestamp * 1000)).encode() if message.timestamp else b""
        await send_confirmed(requests_topic, key, encode_record(EnrichmentRequest(published.video_id, message.value,
                                                                                  verdict)),
                             {PUBLISHED_AT_HEADER: published_ms})
        log.info("video %s: %s %s stages=%s", published.video_id, judged.verdict.verdict,
                 judged.verdict.duplicate_of or "", judged.stage_seconds, extra=video(published.video_id))

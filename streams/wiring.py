"""What the stages' workers share: their Faust app, sending with the broker's acknowledgement, dead letters, and
waiting out outages.

processing_guarantee is at_least_once: an input's offset is committed only after its outputs were acknowledged
by the broker, and every sink is idempotent, so a crash replays at most a few events harmlessly (consumers
dedupe by video_id). Bad input is dead-lettered with its original bytes and a reason; while a service is down
or overloaded the event is held and retried with backoff (its offset not committed), never dead-lettered.
"""

from __future__ import annotations

import asyncio
import logging
import time
import traceback
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import faust
import redis
from clickhouse_connect.driver.exceptions import OperationalError as ClickHouseOperationalError
from faust.sensors.prometheus import FaustMetrics, PrometheusMonitor
from prometheus_client import REGISTRY

from core.errors import InferenceError, PipelineError, ServiceUnavailable
from core.records import DeadLetter, dead_letter_reason
from inference.triton_client import TritonModels
from schemas.codec import encode_record
from settings import Settings
from storage.archive import ArchiveBusy
from streams.fetch_backoff import install as install_fetch_backoff
from telemetry import metrics
from telemetry.logs import logging_config, video

log = logging.getLogger(__name__)
T = TypeVar("T")

OUTAGE_ERRORS = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, ClickHouseOperationalError,
                 ArchiveBusy, ServiceUnavailable)


def stage_app(cfg: Settings, stage: str) -> faust.App:
    """The Faust app of one stage: consumer group ``<FAUST_APP_ID>-<stage>``, with Faust's Prometheus monitor
    (``faust_*``: messages, commits, offsets per partition) beside the project's metrics on METRICS_PORT."""
    install_fetch_backoff(cfg.empty_fetch_backoff_ms)
    datadir = cfg.faust_data_dir / (cfg.worker_instance_id or stage)  # its own, so workers can share a machine
    datadir.mkdir(parents=True, exist_ok=True)
    credentials = None  # the local broker: none; production: SASL (settings.kafka_client_config says the same)
    if cfg.kafka_sasl_username:
        credentials = faust.SASLCredentials(username=cfg.kafka_sasl_username, password=cfg.kafka_sasl_password,
                                            mechanism=cfg.kafka_sasl_mechanism)
    app = faust.App(
        f"{cfg.faust_app_id}-{stage}",
        broker=[f"kafka://{server.strip()}" for server in cfg.kafka_bootstrap.split(",")],
        broker_credentials=credentials,
        processing_guarantee="at_least_once",
        topic_partitions=cfg.topic_partitions,
        topic_allow_declare=True,
        datadir=str(datadir),
        web_enabled=False,
        key_serializer="raw",
        value_serializer="raw",
        consumer_auto_offset_reset="earliest",
        broker_commit_every=1,
        consumer_group_instance_id=cfg.worker_instance_id,
        logging_config=logging_config(cfg.log_format, stage) if cfg.log_format == "json" else None,
    )
    app.monitor = PrometheusMonitor(metrics=FaustMetrics.create(REGISTRY, "faust"))

    @app.task
    async def serve_metrics() -> None:
        metrics.serve(cfg.metrics_host, cfg.metrics_port)
        log.info("metrics on http://%s:%d/metrics", cfg.metrics_host, cfg.metrics_port)

    return app


def bytes_topic(app: faust.App, name: str, partitions: int, **options: Any) -> faust.TopicT:
    return app.topic(name, partitions=partitions, value_type=bytes, key_type=bytes, **options)


# The header on an enrichment request that carries when its video's publish-video record reached Kafka (ms), for
# the publish-to-enriched latency.
PUBLISHED_AT_HEADER = "publish-timestamp-ms"


async def send_confirmed(topic: faust.TopicT, key: bytes | None, value: bytes,
                         headers: dict[str, bytes] | None = None) -> None:
    """Send and wait for the broker's acknowledgement, so the input offset is committed only after it."""
    await (await topic.send(key=key, value=value, headers=headers))


def seconds_since(timestamp_s: float | None) -> float | None:
    """Seconds from a Kafka record timestamp (Faust gives seconds) until now; None without one."""
    return None if not timestamp_s else max(0.0, time.time() - timestamp_s)


def header_timestamp_s(message: Any, name: str) -> float | None:
    """A millisecond timestamp from a message header, in seconds (None: absent or not a number)."""
    found = dict(message.headers or ()).get(name)
    try:
        return int(found) / 1000.0 if found else None
    except ValueError:
        return None


async def send_dead_letter(topic: faust.TopicT, message: Any, video_id: str | None, kind: str, reason: str) -> None:
    reason = dead_letter_reason(reason)
    log.warning("dead letter %s[%d]@%d video=%s %s: %s", message.topic, message.partition, message.offset,
                video_id, kind, reason, extra=video(video_id))
    metrics.DEAD_LETTERS.labels(message.topic, kind).inc()
    record = DeadLetter(original_value=message.value or b"", original_key=message.key, topic=message.topic,
                        partition=message.partition, offset=message.offset, video_id=video_id, error_kind=kind,
                        message=reason, failed_at=datetime.now(UTC))
    await send_confirmed(topic, message.key, encode_record(record))


async def outage(exc: Exception, models: TritonModels | None) -> str | None:
    """The service an error shows to be down or overloaded, or None if the event is at fault."""
    if isinstance(exc, OUTAGE_ERRORS):
        return f"{type(exc).__name__}: {exc}"
    if isinstance(exc, InferenceError) and models is not None and not await models.required_models_ready():
        return f"Triton is down or its models are not ready ({exc})"
    return None


async def until_done(work: Callable[[], Awaitable[T]], message: Any, video_id: str | None,
                     dead_letters: faust.TopicT, cfg: Settings, models: TritonModels | None = None) -> T | None:
    """``work``'s result; None once the event was dead-lettered because it (or its media) is at fault. While a
    service is down or overloaded, ``work`` is retried with backoff and this does not return, so the offset is
    not committed and the stream waits (backpressure) instead of dead-lettering good events."""
    delay = 1.0
    while True:
        try:
            return await work()
        except Exception as exc:  # noqa: BLE001 - a bug must not stop the stream; the event is kept
            down = await outage(exc, models)
            if down is not None:
                log.warning("video %s waits, offset %s[%d]@%d not committed: %s; retrying in %.0f s",
                            video_id or "-", message.topic, message.partition, message.offset, down, delay,
                            extra=video(video_id))
                metrics.OUTAGE_WAITS.labels(message.topic, type(exc).__name__).inc()
                await asyncio.sleep(delay)
                delay = min(delay * 2, cfg.outage_retry_max_s)
            elif isinstance(exc, PipelineError):
                await send_dead_letter(dead_letters, message, video_id, exc.kind, str(exc))
                return None
            else:
                log.error("unexpected error on %s:\n%s", video_id, traceback.format_exc(), extra=video(video_id))
                await send_dead_letter(dead_letters, message, video_id, "internal_error",
                                       f"{type(exc).__name__}: {exc}")
                return None

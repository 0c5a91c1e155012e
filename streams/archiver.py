"""The archiver: ``archive`` and ``enriched`` -> ClickHouse, in batches (ClickHouse wants few large inserts).

Run with ``python -m streams archiver``: consumer group ``<FAUST_APP_ID>-archiver``. It gathers up to
ARCHIVE_BATCH_MAX records for at most ARCHIVE_BATCH_S, writes them (storage/archive.py skips what is already
there, so a replay adds no row) and only then commits the offsets: a crash replays the batch, never loses it.
While ClickHouse is down (or, embedded, held by another process) it waits and retries; a record that cannot be
decoded goes to the dead-letter topic. Records of videos deleted since (storage/deleted_videos.py: one Redis
round trip per batch) are dropped, so a late or replayed record never brings a deleted video's data back.

It is a plain aiokafka consumer rather than a Faust agent because it commits per written batch, which is the
whole of its job. It scales by partitions against a ClickHouse server (more archivers in the group); against the
embedded engine run one. ClickHouse's own Kafka table engine was not chosen: the records are Avro
single-object messages, which it cannot read without a schema registry, and the skip-what-is-there rule would
have to move into materialized views.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TypeVar

import redis
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord
from aiokafka.errors import CommitFailedError, KafkaError
from clickhouse_connect.driver.exceptions import OperationalError as ClickHouseOperationalError

from core.records import ArchivedVideo, DeadLetter, EnrichedVideo, dead_letter_reason
from schemas.codec import SchemaError, decode_record, encode_record
from settings import Settings
from storage.archive import Archive, ArchiveBusy
from storage.deleted_videos import DeletedVideos
from streams.fetch_backoff import install as install_fetch_backoff
from telemetry import metrics
from telemetry.logs import configure as configure_logging
from telemetry.logs import video

log = logging.getLogger("streams.archiver")
T = TypeVar("T")
# ClickHouse, Redis or Kafka down (a dead letter not acknowledged), or the embedded archive held by another process
OUTAGE_ERRORS = (ClickHouseOperationalError, ArchiveBusy, ConnectionError, OSError, KafkaError,
                 redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)


class Archiver:
    def __init__(self, cfg: Settings) -> None:
        self.cfg = cfg
        self.archive = Archive(cfg.clickhouse_dsn)
        self.deleted = DeletedVideos(redis.Redis.from_url(cfg.redis_url), cfg.redis_deleted_videos)
        self.stopping = asyncio.Event()
        self.consumer = AIOKafkaConsumer(
            cfg.topic_archive, cfg.topic_enriched, **cfg.aiokafka_config(),
            group_id=f"{cfg.faust_app_id}-archiver", group_instance_id=cfg.worker_instance_id,
            enable_auto_commit=False, auto_offset_reset="earliest", max_poll_records=cfg.archive_batch_max)
        self.producer = AIOKafkaProducer(**cfg.aiokafka_config(), enable_idempotence=True)

    async def gather(self) -> list[ConsumerRecord]:
        """Up to ARCHIVE_BATCH_MAX records, for at most ARCHIVE_BATCH_S once the first has come."""
        batch: list[ConsumerRecord] = []
        deadline: float | None = None
        while len(batch) < self.cfg.archive_batch_max and not self.stopping.is_set():
            wait_s = 1.0 if deadline is None else deadline - time.monotonic()
            if wait_s <= 0:
                break
            found = await self.consumer.getmany(timeout_ms=int(wait_s * 1000),
                                                max_records=self.cfg.archive_batch_max - len(batch))
            for records in found.values():
                batch.extend(records)
            if batch and deadline is None:
                deadline = time.monotonic() + self.cfg.archive_batch_s
        return batch

    async def dead_letter(self, record: ConsumerRecord, reason: str, video_id: str | None = None) -> None:
        log.warning("dead letter %s[%d]@%d: %s", record.topic, record.partition, record.offset, reason,
                    extra=video(video_id))
        metrics.DEAD_LETTERS.labels(record.topic, "malformed_archive_record").inc()
        letter = DeadLetter(original_value=record.value or b"", original_key=record.key, topic=record.topic,
                            partition=record.partition, offset=record.offset, video_id=video_id,
                            error_kind="malformed_archive_record", message=dead_letter_reason(reason),
                            failed_at=datetime.now(UTC))
        await self.retrying("dead letter", lambda: self.producer.send_and_wait(
            self.cfg.topic_dead_letter, encode_record(letter), key=record.key))

    async def retrying(self, what: str, write: Callable[[], Awaitable[T]]) -> T:
        """``write`` until it succeeds, waiting out outages (the batch's offsets stay uncommitted meanwhile)."""
        delay = 1.0
        while True:
            try:
                return await write()
            except OUTAGE_ERRORS as exc:
                log.warning("%s waits: %s: %s; retrying in %.0f s", what, type(exc).__name__, exc, delay)
                metrics.OUTAGE_WAITS.labels(self.cfg.topic_archive, type(exc).__name__).inc()
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.cfg.outage_retry_max_s)

    async def store(self, what: str, items: list[tuple[T, ConsumerRecord]], write: Callable[[list[T]], int],
                    video_id: Callable[[T], str]) -> int:
        """``write`` the items in one go, waiting out outages. If ClickHouse (or the conversion before it) refuses
        the batch, the items are written one by one and each one refused is dead-lettered, so a record that
        decodes but cannot be stored never stops the archiver."""
        try:
            return await self.retrying(what, lambda: asyncio.to_thread(write, [item for item, _ in items]))
        except Exception as exc:  # noqa: BLE001 - not an outage: one of the records is at fault
            log.warning("%s refused (%s: %s): writing its %d records one by one", what, type(exc).__name__, exc,
                        len(items))
        written = 0
        for item, record in items:
            try:
                written += await self.retrying(what, lambda item=item: asyncio.to_thread(write, [item]))
            except Exception as exc:  # noqa: BLE001 - this record is at fault
                await self.dead_letter(record, f"the archive refused it: {type(exc).__name__}: {exc}", video_id(item))
        return written

    async def write(self, batch: list[ConsumerRecord]) -> None:
        videos: list[tuple[ArchivedVideo, ConsumerRecord]] = []
        revisions: list[tuple[tuple[EnrichedVideo, bytes], ConsumerRecord]] = []
        for record in batch:
            try:
                if record.topic == self.cfg.topic_archive:
                    videos.append((decode_record(ArchivedVideo, record.value), record))
                else:
                    revisions.append(((decode_record(EnrichedVideo, record.value), record.value), record))
            except SchemaError as exc:
                await self.dead_letter(record, str(exc))
        ids = {video.video_id for video, _ in videos} | {revision.video_id for (revision, _), _ in revisions}
        deleted = await self.retrying("deleted videos", lambda: asyncio.to_thread(self.deleted.among, ids))
        if deleted:
            log.info("dropped the records of %d deleted videos: %s", len(deleted), ", ".join(sorted(deleted)[:5]))
            videos = [(video, record) for video, record in videos if video.video_id not in deleted]
            revisions = [(revision, record) for revision, record in revisions if revision[0].video_id not in deleted]
        started = time.perf_counter()
        new_videos = await self.store("archive batch", videos, self.archive.write_videos, lambda v: v.video_id)
        new_revisions = await self.store("enriched revisions", revisions, self.archive.write_enriched,
                                         lambda r: r[0].video_id)
        seconds = time.perf_counter() - started
        log.info("archived %d of %d videos and %d of %d enriched revisions in %.2f s", new_videos, len(videos),
                 new_revisions, len(revisions), seconds)
        metrics.ARCHIVE_BATCH_RECORDS.observe(len(batch))
        metrics.ARCHIVE_WRITE_SECONDS.observe(seconds)
        metrics.ARCHIVED_ROWS.labels("videos").inc(new_videos)
        metrics.ARCHIVED_ROWS.labels("enriched").inc(new_revisions)

    async def run(self) -> None:
        await self.retrying("archive schema", lambda: asyncio.to_thread(self._create_schema))
        await self.producer.start()
        await self.consumer.start()
        log.info("archiver ready: %s and %s -> %s", self.cfg.topic_archive, self.cfg.topic_enriched,
                 self.cfg.clickhouse_dsn)
        try:
            while not self.stopping.is_set():
                batch = await self.gather()
                if batch:
                    await self.write(batch)
                    await self.commit()
        finally:
            await self.consumer.stop()
            await self.producer.stop()
            self.archive.close()

    async def commit(self) -> None:
        """Commit the positions after the batch: everything in it is written. A commit refused because the group
        changed meanwhile (a broker restarted, a member joined) is not an error: the group's new owner of those
        partitions reads the batch again and the archive skips what it already holds."""
        try:
            await self.consumer.commit()
        except CommitFailedError as exc:
            log.warning("batch written but not committed (%s): it will be read again and skipped", exc)

    def _create_schema(self) -> int:
        self.archive.create_schema()
        return 0


def main() -> None:
    cfg = Settings.from_env()
    configure_logging(cfg.log_format, "archiver")
    install_fetch_backoff(cfg.empty_fetch_backoff_ms)
    metrics.serve(cfg.metrics_host, cfg.metrics_port)

    async def run() -> None:
        archiver = Archiver(cfg)
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, archiver.stopping.set)
        await archiver.run()

    asyncio.run(run())

"""Publish ``VideoPublished`` events and collect what the pipeline emits, with arrival times."""

from __future__ import annotations

import asyncio
import concurrent.futures
import queue
import threading
import time
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from confluent_kafka import Producer

from schemas.codec import decode, encode
from settings import Settings
from streams.fetch_backoff import install as install_fetch_backoff
from telemetry.progress import progress


class Publisher:
    def __init__(self, cfg: Settings) -> None:
        self.topic = cfg.topic_publish
        self.producer = Producer({**cfg.kafka_client_config(), "enable.idempotence": True,
                                  "linger.ms": 5})

    def publish(self, event: dict[str, Any]) -> float:
        """Queue one event (key: video_id); returns the wall-clock send time."""
        sent_at = time.time()
        self.producer.produce(self.topic, key=event["video_id"].encode(), value=encode("VideoPublished", event))
        self.producer.poll(0)
        return sent_at

    def publish_raw(self, key: bytes | None, value: bytes) -> None:
        """Send bytes as they are (malformed-event tests and dead-letter re-drives)."""
        self.producer.produce(self.topic, key=key, value=value)
        self.producer.poll(0)

    def flush(self, timeout_s: float = 30) -> None:
        remaining = self.producer.flush(timeout_s)
        if remaining:
            raise RuntimeError(f"{remaining} events not delivered to {self.topic} within {timeout_s}s")


@dataclass(frozen=True)
class Received:
    topic: str
    record: dict[str, Any]
    received_at: float  # when the output was produced (its Kafka timestamp), not when it was polled


# The collector's pause after a fetch that brought nothing: the local broker (noida-db) answers empty fetches at
# once, and a consumer that re-fetches in a loop took 20-56 % of a core from what it measures. Latencies are taken
# from the outputs' Kafka timestamps, so the pause does not delay them.
COLLECTOR_FETCH_BACKOFF_MS = 100


class OutputCollector:
    """Reads the output topics from their current end, so only results of what is published next count (or,
    ``from_beginning``, everything they hold).

    An aiokafka consumer in a thread of its own (outside any consumer group) puts what arrives on a queue that
    ``poll`` reads; it pauses COLLECTOR_FETCH_BACKOFF_MS after an empty fetch (streams/fetch_backoff.py)."""

    def __init__(self, cfg: Settings, from_beginning: bool = False) -> None:
        self.cfg = cfg
        self.from_beginning = from_beginning
        self.unmatched: list[Received] = []
        self.schema_by_topic = {cfg.topic_verdict: "DuplicateVerdict", cfg.topic_enriched: "EnrichedVideo",
                                cfg.topic_dead_letter: "DeadLetter"}
        install_fetch_backoff(COLLECTOR_FETCH_BACKOFF_MS)
        self._arrived: queue.Queue[Received | BaseException] = queue.Queue()
        self._stop = threading.Event()
        ready: concurrent.futures.Future[None] = concurrent.futures.Future()
        self._thread = threading.Thread(target=asyncio.run, args=(self._consume(ready),), daemon=True,
                                        name="output-collector")
        self._thread.start()
        ready.result(timeout=60)  # positioned at the end of every partition, or the error that prevented it

    async def _consume(self, ready: concurrent.futures.Future[None]) -> None:
        consumer = AIOKafkaConsumer(**self.cfg.aiokafka_config(), group_id=None,
                                    enable_auto_commit=False)
        try:
            await consumer.start()
            await consumer.topics()  # fetches the cluster's metadata
            partitions = []
            for topic in self.schema_by_topic:
                found = consumer.partitions_for_topic(topic)
                if not found:
                    raise RuntimeError(f"topic {topic!r} does not exist on {self.cfg.kafka_bootstrap}")
                partitions += [TopicPartition(topic, p) for p in sorted(found)]
            consumer.assign(partitions)
            if self.from_beginning:
                await consumer.seek_to_beginning(*partitions)
            else:
                for partition, end in (await consumer.end_offsets(partitions)).items():
                    consumer.seek(partition, end)
        except BaseException as exc:
            ready.set_exception(exc)
            await consumer.stop()
            return
        ready.set_result(None)
        try:
            while not self._stop.is_set():
                for records in (await consumer.getmany(timeout_ms=200, max_records=500)).values():
                    for message in records:
                        self._arrived.put(Received(message.topic,
                                                   decode(self.schema_by_topic[message.topic], message.value),
                                                   message.timestamp / 1000))
        except BaseException as exc:  # noqa: BLE001 - handed to the reader, which raises it
            self._arrived.put(exc)
        finally:
            await consumer.stop()

    def poll(self, timeout_s: float) -> list[Received]:
        """What arrived since the last call, waiting up to ``timeout_s`` for the first record."""
        try:
            found = [self._arrived.get(timeout=timeout_s)]
        except queue.Empty:
            return []
        while not self._arrived.empty():
            found.append(self._arrived.get_nowait())
        for item in found:
            if isinstance(item, BaseException):
                raise RuntimeError(f"output collector failed: {item!r}") from item
        return found  # type: ignore[return-value]

    def wait_for(self, video_ids: set[str], timeout_s: float,
                 show_progress: str | None = None) -> dict[str, dict[str, Received]]:
        """Collect outputs until every id has a verdict and an enriched record, or a dead letter; with
        ``show_progress`` (its words, e.g. "processed"), a progress bar of the ids done.

        Returns video_id -> {topic: first record received}. Ids still missing at the timeout are absent
        or incomplete; the caller reports them. Records of other ids (e.g. dead letters of events too
        malformed to name a video) are kept in ``self.unmatched``.
        """
        results: dict[str, dict[str, Received]] = {}
        deadline = time.monotonic() + timeout_s
        with progress(len(video_ids), show_progress or "", "videos", disable=show_progress is None) as done:
            while done.n < len(video_ids) and time.monotonic() < deadline:
                for item in self.poll(timeout_s=0.5):
                    video_id = item.record.get("video_id")
                    if video_id in video_ids:
                        results.setdefault(video_id, {}).setdefault(item.topic, item)
                    else:
                        self.unmatched.append(item)
                done.update(sum(1 for v in video_ids if self.is_finished(results.get(v, {}), self.cfg)) - done.n)
        return results

    @staticmethod
    def is_finished(outputs: dict[str, Received], cfg: Settings) -> bool:
        """A video is done when it has a verdict and an enriched record, or a dead letter."""
        return cfg.topic_dead_letter in outputs or (cfg.topic_verdict in outputs and cfg.topic_enriched in outputs)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

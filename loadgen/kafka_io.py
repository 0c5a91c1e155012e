"""Publish ``VideoPublished`` events and collect what the pipeline emits, with arrival times."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from confluent_kafka import TIMESTAMP_NOT_AVAILABLE, Consumer, Producer, TopicPartition

from schemas.codec import decode, encode
from settings import Settings


class Publisher:
    def __init__(self, cfg: Settings) -> None:
        self.topic = cfg.topic_publish
        self.producer = Producer({"bootstrap.servers": cfg.kafka_bootstrap, "enable.idempotence": True,
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


class OutputCollector:
    """Reads the output topics from their current end, so only results of what is published next count."""

    def __init__(self, cfg: Settings) -> None:
        self.cfg = cfg
        self.unmatched: list[Received] = []
        self.schema_by_topic = {cfg.topic_verdict: "DuplicateVerdict", cfg.topic_enriched: "EnrichedVideo",
                                cfg.topic_dead_letter: "DeadLetter"}
        self.consumer = Consumer({"bootstrap.servers": cfg.kafka_bootstrap, "group.id": f"loadgen-{time.time_ns()}",
                                  "enable.auto.commit": False})
        assignment = []
        for topic in self.schema_by_topic:
            metadata = self.consumer.list_topics(topic, timeout=10).topics[topic]
            for partition in metadata.partitions:
                _, high = self.consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=10)
                assignment.append(TopicPartition(topic, partition, high))
        self.consumer.assign(assignment)

    def poll(self, timeout_s: float) -> list[Received]:
        first = self.consumer.poll(timeout_s)  # returns as soon as one message is there
        if first is None:
            return []
        found = []
        for message in [first, *self.consumer.consume(num_messages=500, timeout=0)]:
            if message.error():
                raise RuntimeError(f"consumer error: {message.error()}")
            schema = self.schema_by_topic[message.topic()]
            timestamp_type, timestamp_ms = message.timestamp()
            produced_at = timestamp_ms / 1000 if timestamp_type != TIMESTAMP_NOT_AVAILABLE else time.time()
            found.append(Received(message.topic(), decode(schema, message.value()), produced_at))
        return found

    def wait_for(self, video_ids: set[str], timeout_s: float,
                 progress: Callable[[int, int], None] | None = None) -> dict[str, dict[str, Received]]:
        """Collect outputs until every id has a verdict and an enriched record, or a dead letter.

        Returns video_id -> {topic: first record received}. Ids still missing at the timeout are absent
        or incomplete; the caller reports them. Records of other ids (e.g. dead letters of events too
        malformed to name a video) are kept in ``self.unmatched``.
        """
        results: dict[str, dict[str, Received]] = {}
        deadline = time.monotonic() + timeout_s
        done = 0
        while done < len(video_ids) and time.monotonic() < deadline:
            for item in self.poll(timeout_s=0.5):
                video_id = item.record.get("video_id")
                if video_id in video_ids:
                    results.setdefault(video_id, {}).setdefault(item.topic, item)
                else:
                    self.unmatched.append(item)
            finished = sum(1 for v in video_ids if self.is_finished(results.get(v, {}), self.cfg))
            if finished != done and progress is not None:
                progress(finished, len(video_ids))
            done = finished
        return results

    @staticmethod
    def is_finished(outputs: dict[str, Received], cfg: Settings) -> bool:
        """A video is done when it has a verdict and an enriched record, or a dead letter."""
        return cfg.topic_dead_letter in outputs or (cfg.topic_verdict in outputs and cfg.topic_enriched in outputs)

    def close(self) -> None:
        self.consumer.close()

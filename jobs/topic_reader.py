"""Read a Kafka topic between two sets of offsets, outside any consumer group (nothing is committed): for
commands that look at history (dead letters, reindex), not for the stream itself."""

from __future__ import annotations

import time
from collections.abc import Iterator

from confluent_kafka import Consumer, KafkaException, Message, TopicPartition

from settings import Settings


def _consumer(cfg: Settings) -> Consumer:
    return Consumer({**cfg.kafka_client_config(), "group.id": f"reader-{time.time_ns()}",
                     "enable.auto.commit": False})


def end_offsets(cfg: Settings, topic: str) -> dict[int, int]:
    """Per partition, the offset the next message will get (empty if the topic does not exist)."""
    consumer = _consumer(cfg)
    try:
        metadata = consumer.list_topics(topic, timeout=10).topics.get(topic)
        if metadata is None or metadata.error is not None:
            return {}
        return {partition: consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=10)[1]
                for partition in metadata.partitions}
    finally:
        consumer.close()


def read_topic(cfg: Settings, topic: str, start: dict[int, int] | None = None, end: dict[int, int] | None = None,
               timeout_s: float = 60) -> Iterator[Message]:
    """The messages of ``topic`` from ``start`` (default: each partition's beginning) up to, not including,
    ``end`` (default: the end as of the call), partitions interleaved as they arrive. Raises TimeoutError if
    no message comes for ``timeout_s`` before the end is reached."""
    end = end_offsets(cfg, topic) if end is None else end
    start = start or {}
    consumer = _consumer(cfg)
    try:
        pending = {p: high for p, high in end.items() if high > start.get(p, 0)}
        low = {p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[0] for p in pending}
        pending = {p: high for p, high in pending.items() if high > max(low[p], start.get(p, 0))}
        if not pending:
            return
        consumer.assign([TopicPartition(topic, p, max(low[p], start.get(p, 0))) for p in pending])
        last_message = time.monotonic()
        while pending:
            message = consumer.poll(1.0)
            if message is None:
                if time.monotonic() - last_message > timeout_s:
                    raise TimeoutError(f"{topic}: partitions {sorted(pending)} not read to their end within "
                                       f"{timeout_s:.0f} s")
                continue
            if message.error():
                raise KafkaException(message.error())
            last_message = time.monotonic()
            partition = message.partition()
            if partition not in pending or message.offset() >= pending[partition]:
                continue
            if message.offset() + 1 >= pending[partition]:
                del pending[partition]
            yield message
    finally:
        consumer.close()

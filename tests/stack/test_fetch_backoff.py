"""streams/fetch_backoff.py against the local broker: an idle aiokafka consumer stops re-fetching in a tight
loop, and still gets a message published to it."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.consumer.fetcher import Fetcher
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic

from settings import Settings
from streams.fetch_backoff import install

IDLE_S = 2.0


def count_fetches(consumer_topic: str, cfg: Settings) -> tuple[int, float]:
    """How many fetch requests an idle consumer of ``consumer_topic`` makes in IDLE_S, and how long a message
    published after that takes to reach it."""
    fetches = 0
    fetch = Fetcher._proc_fetch_request

    async def counted(self: Fetcher, *args: Any) -> bool:
        nonlocal fetches
        fetches += 1
        return await fetch(self, *args)

    async def run() -> tuple[int, float]:
        nonlocal fetches
        consumer = AIOKafkaConsumer(consumer_topic, bootstrap_servers=cfg.kafka_bootstrap, group_id=None,
                                    auto_offset_reset="latest")
        await consumer.start()
        try:
            await asyncio.sleep(1)  # assigned and positioned at the end
            fetches = 0
            await asyncio.sleep(IDLE_S)
            idle_fetches = fetches
            producer = Producer({"bootstrap.servers": cfg.kafka_bootstrap})
            sent = time.monotonic()
            producer.produce(consumer_topic, key=b"test", value=b"wake up")
            producer.flush(10)
            message = await asyncio.wait_for(consumer.getone(), 10)
            assert message.value == b"wake up"
            return idle_fetches, time.monotonic() - sent
        finally:
            await consumer.stop()

    Fetcher._proc_fetch_request = counted
    try:
        return asyncio.run(run())
    finally:
        Fetcher._proc_fetch_request = fetch


def test_idle_consumer_backs_off_after_empty_fetches(stack: Settings) -> None:
    topic = "fetch-backoff-test"
    admin = AdminClient({"bootstrap.servers": stack.kafka_bootstrap})
    for future in admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)]).values():
        future.result(timeout=10)
    original = Fetcher._proc_fetch_request
    # aiokafka's own method, also where this process's output collector (loadgen) installed the pause already
    Fetcher._proc_fetch_request = getattr(original, "__wrapped__", original)
    spinning, _ = count_fetches(topic, stack)
    install(100)
    try:
        backing_off, delivered_s = count_fetches(topic, stack)
        install(100)  # a second install does not stack another pause
        assert Fetcher._proc_fetch_request.empty_fetch_backoff_ms == 100  # type: ignore[attr-defined]
    finally:
        Fetcher._proc_fetch_request = original
    print(f"fetches in {IDLE_S:g} s idle: {spinning} without the backoff, {backing_off} with 100 ms; "
          f"a message then arrived after {delivered_s:.2f} s")
    assert backing_off <= IDLE_S / 0.1 + 2  # at most one fetch per 100 ms
    assert spinning > 5 * backing_off  # noida-db answers at once: without it the consumer re-fetches in a loop


def test_install_says_what_is_missing_when_aiokafka_changed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(Fetcher, "_proc_fetch_request")
    install(0)  # 0 needs nothing from aiokafka
    with pytest.raises(RuntimeError, match="EMPTY_FETCH_BACKOFF_MS"):
        install(100)

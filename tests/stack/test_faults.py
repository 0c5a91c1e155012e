"""Faults against the real local servers: a worker killed with SIGKILL mid-stream, the broker restarted, Redis
restarted, Triton down for a while. After each, every published event has its verdict (repeats, if any,
identical: consumers dedupe by video_id) and its enriched record, nothing is dead-lettered, the archive holds
exactly one row per video and the copy and search indexes hold every video.

Each clip is a few seconds of a cellular automaton with its own seed (distinct content, fast to process).
"""

from __future__ import annotations

import os
import signal
import time
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from confluent_kafka import Consumer, TopicPartition

from loadgen.kafka_io import OutputCollector, Publisher, Received
from loadgen.samples import run_ffmpeg
from local_stack.services import SERVICES, log_file, running_pid, start, start_pipeline, stop, stop_pipeline
from settings import Settings
from storage.archive import Archive
from storage.copy_index import CopyIndex
from storage.search_index import SearchIndex

KAFKA, REDIS, TRITON = SERVICES
CLIPS = 8


@pytest.fixture(scope="module")
def clips(stack: Settings) -> list[str]:
    folder = stack.media_root / "faults"
    folder.mkdir(parents=True, exist_ok=True)
    uris = []
    for seed in range(CLIPS):
        path = folder / f"cells-{seed}.mp4"
        if not path.exists():
            run_ffmpeg([], ["-f", "lavfi", "-i", f"cellauto=seed={seed + 1}:s=160x120:rate=10:rule=110",
                            "-f", "lavfi", "-i", f"sine=frequency={300 + 70 * seed}:sample_rate=16000",
                            "-t", "3", "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest"], path)
        uris.append(f"faults/{path.name}")
    return uris


@pytest.fixture
def worker(stack: Settings) -> Iterator[Settings]:
    start_pipeline(stack, print)
    yield stack
    stop_pipeline(stack, print)


def events(prefix: str, uris: list[str]) -> list[dict[str, Any]]:
    first = datetime(2026, 7, 1, tzinfo=UTC)
    return [{"video_id": f"{prefix}-{n}", "media_uri": uri, "channel_id": "faults",
             "published_at": first + timedelta(seconds=n), "title": f"cells {n}", "description": None,
             "tags": [], "series_id": None, "episode_number": None, "language_hint": None}
            for n, uri in enumerate(uris)]


def publish(cfg: Settings, batch: list[dict[str, Any]]) -> None:
    publisher = Publisher(cfg)
    for event in batch:
        publisher.publish(event)
    publisher.flush()


def collect(collector: OutputCollector, video_ids: set[str], timeout_s: float,
            until: int | None = None) -> dict[str, dict[str, list[Received]]]:
    """Every output record per video and topic, until all ids are finished (or ``until`` verdicts arrived),
    then 3 s more to catch repeats."""
    outputs: dict[str, dict[str, list[Received]]] = defaultdict(lambda: defaultdict(list))
    cfg = collector.cfg
    deadline = time.monotonic() + timeout_s

    def done() -> bool:
        if until is not None:
            return sum(1 for v in video_ids if outputs[v][cfg.topic_verdict]) >= until
        return all(outputs[v][cfg.topic_enriched] or outputs[v][cfg.topic_dead_letter] for v in video_ids)

    while not done() and time.monotonic() < deadline:
        for item in collector.poll(0.5):
            if item.record.get("video_id") in video_ids:
                outputs[item.record["video_id"]][item.topic].append(item)
    settle = time.monotonic() + (3 if until is None else 0)
    while time.monotonic() < settle:
        for item in collector.poll(0.5):
            if item.record.get("video_id") in video_ids:
                outputs[item.record["video_id"]][item.topic].append(item)
    return outputs


def merge(*parts: dict[str, dict[str, list[Received]]]) -> dict[str, dict[str, list[Received]]]:
    merged: dict[str, dict[str, list[Received]]] = defaultdict(lambda: defaultdict(list))
    for part in parts:
        for video_id, topics in part.items():
            for topic, items in topics.items():
                merged[video_id][topic].extend(items)
    return merged


def assert_nothing_lost(cfg: Settings, batch: list[dict[str, Any]],
                        outputs: dict[str, dict[str, list[Received]]]) -> None:
    """Outputs complete and consistent; the archive (once the archiver has written them) has one row per video and
    both indexes hold every video."""
    ids = [event["video_id"] for event in batch]
    for video_id in ids:
        got = outputs[video_id]
        assert not got[cfg.topic_dead_letter], [r.record["message"] for r in got[cfg.topic_dead_letter]]
        verdicts = {(r.record["verdict"], r.record["duplicate_of"]) for r in got[cfg.topic_verdict]}
        assert len(verdicts) == 1, (video_id, verdicts)  # repeats after a crash are identical
        assert got[cfg.topic_enriched], video_id
    archive = Archive(cfg.clickhouse_dsn)
    try:
        archive.wait_for_videos(ids, timeout_s=120)
        counts = archive.counts(ids)
        assert counts["videos"] == archive.distinct_videos(ids) == len(ids), counts
    finally:
        archive.close()
    copy_index = CopyIndex(cfg.redis_url, cfg.redis_frame_index)
    assert {v.video_id for v in copy_index.indexed_videos(ids)} == set(ids)
    assert set(SearchIndex(cfg.redis_url, cfg.redis_search_index).cards(ids)) == set(ids)


def kill_hard(cfg: Settings, name: str) -> None:
    """SIGKILL the service's process group, as a crash or the OOM killer would."""
    pid = running_pid(cfg, name)
    assert pid is not None, f"{name} is not running"
    os.killpg(pid, signal.SIGKILL)
    os.waitpid(pid, 0)  # our child: reap it, so it no longer counts as running


def committed_offsets(cfg: Settings, stage: str, topic: str) -> dict[int, int]:
    """A stage's committed offsets on ``topic``, per partition (-1001: none yet)."""
    consumer = Consumer({"bootstrap.servers": cfg.kafka_bootstrap, "group.id": f"{cfg.faust_app_id}-{stage}"})
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        committed = consumer.committed([TopicPartition(topic, p) for p in partitions], timeout=10)
        return {tp.partition: tp.offset for tp in committed}
    finally:
        consumer.close()


def test_worker_killed_mid_stream_loses_nothing(worker: Settings, clips: list[str]) -> None:
    cfg = worker
    batch = events("kill", clips + clips[:4])  # 12 events; the repeated clips are copies of earlier ones
    collector = OutputCollector(cfg)
    try:
        publish(cfg, batch)
        ids = {event["video_id"] for event in batch}
        before = collect(collector, ids, timeout_s=120, until=3)
        kill_hard(cfg, "copies-1")  # both stages' workers, each in the middle of its events
        kill_hard(cfg, "enrichment-1")
        start_pipeline(cfg, print)
        after = collect(collector, ids, timeout_s=300)
    finally:
        collector.close()
    outputs = merge(before, after)
    assert "video kill-" in log_file(cfg, "copies-1").read_text()  # the restarted workers processed events
    assert "video kill-" in log_file(cfg, "enrichment-1").read_text()
    assert_nothing_lost(cfg, batch, outputs)


def test_broker_restart_mid_stream_loses_nothing(worker: Settings, clips: list[str]) -> None:
    cfg = worker
    first, second = events("broker", clips)[:4], events("broker", clips)[4:]
    collector = OutputCollector(cfg)
    publish(cfg, first)
    collect(collector, {event["video_id"] for event in first}, timeout_s=120, until=1)
    collector.close()
    stop(cfg, KAFKA.name, print)
    time.sleep(3)
    start(cfg, KAFKA, print)
    collector = OutputCollector(cfg)  # the outputs of the first batch are read back from the topics below
    try:
        publish(cfg, second)
        collect(collector, {event["video_id"] for event in second}, timeout_s=300)
    finally:
        collector.close()
    outputs = read_back(cfg, {event["video_id"] for event in first + second})
    assert_nothing_lost(cfg, first + second, outputs)


def read_back(cfg: Settings, video_ids: set[str]) -> dict[str, dict[str, list[Received]]]:
    """Every output record of ``video_ids`` on the output topics, from their beginning."""
    collector = OutputCollector(cfg, from_beginning=True)
    try:
        return collect(collector, video_ids, timeout_s=60)
    finally:
        collector.close()


def index_sizes(cfg: Settings) -> dict[str, int]:
    client = CopyIndex(cfg.redis_url, cfg.redis_frame_index).client
    return {name: int(client.ft(name).info()["num_docs"])
            for name in (cfg.redis_frame_index, f"{cfg.redis_search_index}-chunks")}


def test_redis_restart_keeps_the_indexes_and_the_stream_flowing(worker: Settings, clips: list[str]) -> None:
    cfg = worker
    first, second = events("redis", clips)[:4], events("redis", clips)[4:]
    collector = OutputCollector(cfg)
    try:
        publish(cfg, first)
        done_first = collect(collector, {event["video_id"] for event in first}, timeout_s=300)
        sizes = index_sizes(cfg)
        stop(cfg, REDIS.name, print)  # SIGTERM: Redis flushes its append-only file
        publish(cfg, second)  # published while Redis is down: the worker waits and retries, nothing dead-lettered
        time.sleep(5)
        start(cfg, REDIS, print)
        assert index_sizes(cfg) == sizes  # reloaded from the append-only file and re-indexed
        done_second = collect(collector, {event["video_id"] for event in second}, timeout_s=300)
    finally:
        collector.close()
    assert "waits, offset" in log_file(cfg, "copies-1").read_text()
    assert_nothing_lost(cfg, first + second, merge(done_first, done_second))


def test_triton_down_holds_events_until_it_is_back(worker: Settings, clips: list[str]) -> None:
    """Both stages need Triton (the copy stage describes pictures for the descriptor signal; with DESCRIPTOR_SIGNAL
    off it would not): while it is down, events wait in both, nothing is dead-lettered or committed past them, and
    once it is back each video gets one verdict and its enriched record."""
    cfg = worker
    batch = events("triton", clips[:3])
    ids = {event["video_id"] for event in batch}
    stop(cfg, TRITON.name, print)
    collector = OutputCollector(cfg)
    try:
        before = (committed_offsets(cfg, "copies", cfg.topic_publish),
                  committed_offsets(cfg, "enrichment", cfg.topic_enrichment_requests))
        publish(cfg, batch)
        during = collect(collector, ids, timeout_s=25)
        assert not any(during[v][cfg.topic_verdict] or during[v][cfg.topic_dead_letter]
                       or during[v][cfg.topic_enriched] for v in ids)
        # nothing committed past the held events
        assert (committed_offsets(cfg, "copies", cfg.topic_publish),
                committed_offsets(cfg, "enrichment", cfg.topic_enrichment_requests)) == before
        start(cfg, TRITON, print)
        after = collect(collector, ids, timeout_s=300)
    finally:
        collector.close()
        start(cfg, TRITON, print)  # whatever failed above: the tests after this one need it
    outputs = merge(during, after)
    assert all(len(outputs[v][cfg.topic_verdict]) == 1 for v in ids)  # the retry does not send it again
    assert "waits, offset" in log_file(cfg, "copies-1").read_text()
    assert_nothing_lost(cfg, batch, outputs)

"""Dead letters through the real stack: a malformed event and an event whose media file is not there yet both
land on the dead-letter topic; ``list`` shows them with their kinds; once the file is in place, ``redrive`` by
video id re-publishes the original bytes and the worker produces the verdict and the enriched record.

Everything here is unique to this module (ids ``dlq-<run>-...``, a testsrc2 clip no other test uses), so the
re-driven video crowds no other test's copy lookups.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from confluent_kafka import Consumer, TopicPartition

from jobs.dead_letters import REDRIVEN_FROM, DeadLetter, main, read_dead_letters, redrive, select
from loadgen.kafka_io import OutputCollector, Publisher, Received
from loadgen.samples import run_ffmpeg
from loadgen.soak import event_key
from local_stack.services import start_pipeline, stop_pipeline
from settings import Settings

RUN = uuid.uuid4().hex[:8]
MALFORMED_KEY = f"dlq-{RUN}-malformed"
VIDEO_ID = f"dlq-{RUN}-late-media"
MEDIA_URI = f"dlq/{RUN}/clip.mp4"
MALFORMED_VALUE = f"dead-letter test {RUN}: no Avro here".encode()


@pytest.fixture(scope="module")
def worker(stack: Settings) -> Iterator[Settings]:
    start_pipeline(stack, print)
    yield stack
    stop_pipeline(stack, print)


def collect(collector: OutputCollector, keys: set[str], until: Callable[[dict[str, dict[str, list[Received]]]], bool],
            timeout_s: float) -> dict[str, dict[str, list[Received]]]:
    """Every output of ``keys`` (video id, or a malformed event's Kafka key) until ``until(outputs)`` or timeout."""
    outputs: dict[str, dict[str, list[Received]]] = {key: {} for key in keys}
    deadline = time.monotonic() + timeout_s
    while not until(outputs) and time.monotonic() < deadline:
        for item in collector.poll(0.5):
            if (key := event_key(item)) in keys:
                outputs[key].setdefault(item.topic, []).append(item)
    return outputs


def late_media_event() -> dict[str, Any]:
    return {"video_id": VIDEO_ID, "media_uri": MEDIA_URI, "channel_id": "dlq-channel",
            "published_at": datetime.now(UTC), "title": "A clip whose file arrived late", "description": None,
            "tags": ["dead-letter-test"], "series_id": None, "episode_number": None, "language_hint": None}


@pytest.fixture(scope="module")
def failed(worker: Settings) -> dict[str, dict[str, list[Received]]]:
    """The two bad events published, and their dead letters as the worker sent them."""
    cfg = worker
    collector = OutputCollector(cfg)
    publisher = Publisher(cfg)
    publisher.publish_raw(MALFORMED_KEY.encode(), MALFORMED_VALUE)
    publisher.publish(late_media_event())
    publisher.flush()
    dead = cfg.topic_dead_letter
    outputs = collect(collector, {MALFORMED_KEY, VIDEO_ID}, lambda out: all(dead in o for o in out.values()), 180)
    collector.close()
    assert all(dead in o for o in outputs.values()), outputs
    return outputs


def test_bad_events_land_on_the_dead_letter_topic(failed: dict, worker: Settings) -> None:
    cfg = worker
    assert cfg.topic_verdict not in failed[VIDEO_ID]
    assert failed[MALFORMED_KEY][cfg.topic_dead_letter][0].record["error_kind"] == "malformed_event"
    assert failed[VIDEO_ID][cfg.topic_dead_letter][0].record["error_kind"] == "media_not_found"


def test_read_dead_letters_lists_them_with_kinds(failed: dict, worker: Settings) -> None:
    letters = read_dead_letters(worker)
    malformed = [d for d in letters if d.record["original_key"] == MALFORMED_KEY.encode()]
    late = select(letters, video_ids=[VIDEO_ID])
    assert len(malformed) == 1 and len(late) == 1
    assert malformed[0].kind == "malformed_event" and malformed[0].video_id is None
    assert malformed[0].record["original_value"] == MALFORMED_VALUE
    assert late[0].kind == "media_not_found" and late[0].record["topic"] == worker.topic_publish
    assert select(letters, kinds=["media_not_found"], positions=[(late[0].partition, late[0].offset)]) == late
    positions = [(d.partition, d.offset) for d in letters]
    assert len(set(positions)) == len(positions)  # each dead letter read once


def test_list_command_prints_lines_and_counts(failed: dict, worker: Settings,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list", "--video-id", VIDEO_ID]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 2, out
    assert out[0].startswith("dead-letter:") and "media_not_found" in out[0] and VIDEO_ID in out[0]
    assert f"{worker.topic_publish}[" in out[0] and "media file not found" in out[0]
    assert out[1] == f"1 dead letters on {worker.topic_dead_letter}: media_not_found 1"
    assert main(["list", "--kind", "malformed_event", "--limit", "1"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 2 and "malformed_event" in out[0]
    assert "(showing the last 1)" in out[1] or out[1].startswith("1 dead letters"), out


def test_redrive_needs_a_selector(worker: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["redrive"])
    assert exit_info.value.code == 2
    assert "one of the arguments --kind --video-id --at --all is required" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["redrive", "--at", "not-a-position"])
    assert "not PARTITION:OFFSET" in capsys.readouterr().err


def published_with_header(cfg: Settings, letter: DeadLetter, start_offset: int) -> list[Any]:
    """Messages of the original partition from ``start_offset`` on whose key is the letter's original key."""
    consumer = Consumer({"bootstrap.servers": cfg.kafka_bootstrap, "group.id": f"dlq-test-{time.time_ns()}",
                         "enable.auto.commit": False})
    topic, partition = letter.record["topic"], letter.record["partition"]
    _, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=10)
    consumer.assign([TopicPartition(topic, partition, start_offset)])
    found = []
    while start_offset < high and (message := consumer.poll(5)) is not None:
        assert not message.error(), message.error()
        if message.key() == letter.record["original_key"]:
            found.append(message)
        if message.offset() + 1 >= high:
            break
    consumer.close()
    return found


def test_redrive_after_the_fix_gives_a_verdict(failed: dict, worker: Settings,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    cfg = worker
    [letter] = select(read_dead_letters(cfg), video_ids=[VIDEO_ID])
    collector = OutputCollector(cfg)  # before anything is re-driven
    try:
        assert main(["redrive", "--video-id", VIDEO_ID, "--dry-run"]) == 0
        assert "dry run: 1 dead letters selected (media_not_found 1); nothing published" in capsys.readouterr().out
        quiet = collect(collector, {VIDEO_ID}, lambda out: bool(out[VIDEO_ID]), 3)
        assert quiet[VIDEO_ID] == {}, "a dry run published something"

        target = cfg.media_root / MEDIA_URI
        target.parent.mkdir(parents=True, exist_ok=True)
        run_ffmpeg([], ["-f", "lavfi", "-i", "testsrc2=s=320x240:rate=25", "-t", "6", "-c:v", "libx264",
                        "-pix_fmt", "yuv420p"], target)
        consumer = Consumer({"bootstrap.servers": cfg.kafka_bootstrap, "group.id": f"dlq-{time.time_ns()}"})
        _, start_offset = consumer.get_watermark_offsets(
            TopicPartition(letter.record["topic"], letter.record["partition"]), timeout=10)
        consumer.close()

        assert main(["redrive", "--video-id", VIDEO_ID]) == 0
        out = capsys.readouterr().out
        assert f"re-driven to {cfg.topic_publish}[{letter.record['partition']}]" in out
        assert "re-drove 1 events (media_not_found 1)" in out
        done = collect(collector, {VIDEO_ID}, lambda o: {cfg.topic_verdict, cfg.topic_enriched} <= set(o[VIDEO_ID]),
                       180)[VIDEO_ID]
        assert cfg.topic_verdict in done and cfg.topic_enriched in done, done
        assert cfg.topic_dead_letter not in done, done[cfg.topic_dead_letter][0].record
        verdict = done[cfg.topic_verdict][0].record
        assert verdict["video_id"] == VIDEO_ID and verdict["verdict"]
        enriched = done[cfg.topic_enriched][0].record
        assert enriched["duration_s"] == pytest.approx(6, abs=0.5) and enriched["title"] == late_media_event()["title"]

        [republished] = published_with_header(cfg, letter, start_offset)
        assert republished.value() == letter.record["original_value"]  # the original bytes, unchanged
        assert dict(republished.headers())[REDRIVEN_FROM] == letter.position.encode()

        # Safe to repeat: the replay re-emits the same verdict and nothing fails.
        assert redrive(cfg, [letter, letter]) == [letter]  # one original event: sent once
        again = collect(collector, {VIDEO_ID}, lambda o: cfg.topic_verdict in o[VIDEO_ID], 180)
        verdicts = again[VIDEO_ID][cfg.topic_verdict]
        assert len(verdicts) == 1 and cfg.topic_dead_letter not in again[VIDEO_ID], again
        assert (verdicts[0].record["verdict"], verdicts[0].record["duplicate_of"]) == \
            (verdict["verdict"], verdict["duplicate_of"])
    finally:
        collector.close()

"""The stages as separate workers on the real local stack: two workers of a stage share its partitions, a killed
worker loses nothing, status shows each group's lag, and an overloaded Triton holds events instead of losing them.
"""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest

from core.errors import ServiceUnavailable
from features.media import decode_video
from inference.triton_client import TritonModels
from jobs.lag import consumer_lag
from loadgen.kafka_io import OutputCollector, Publisher
from loadgen.media_kit import live_band_with_speech
from loadgen.samples import run_ffmpeg
from local_stack.__main__ import status
from local_stack.services import log_file, running_pid, start_pipeline, stop_pipeline
from settings import Settings

CLIPS = 6


@pytest.fixture(scope="module")
def clips(stack: Settings) -> list[str]:
    folder = stack.media_root / "scale"
    folder.mkdir(parents=True, exist_ok=True)
    uris = []
    for seed in range(CLIPS):
        path = folder / f"rule-{seed}.mp4"
        if not path.exists():
            run_ffmpeg([], ["-f", "lavfi", "-i", f"cellauto=seed={seed + 40}:s=160x120:rate=10:rule=30",
                            "-f", "lavfi", "-i", f"sine=frequency={400 + 50 * seed}:sample_rate=16000",
                            "-t", "3", "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest"], path)
        uris.append(f"scale/{path.name}")
    return uris


def events(prefix: str, uris: list[str]) -> list[dict[str, Any]]:
    first = datetime(2026, 9, 1, tzinfo=UTC)
    return [{"video_id": f"{prefix}-{n}", "media_uri": uri, "channel_id": "scale",
             "published_at": first + timedelta(seconds=n), "title": f"clip {n}", "description": None,
             "tags": [], "series_id": None, "episode_number": None, "language_hint": None}
            for n, uri in enumerate(uris)]


def run(cfg: Settings, batch: list[dict[str, Any]], timeout_s: float = 300,
        midway: Callable[[], None] | None = None) -> dict[str, dict[str, Any]]:
    """Publish ``batch`` and collect its outputs; ``midway`` is called once two verdicts are out."""
    collector = OutputCollector(cfg)
    publisher = Publisher(cfg)
    outputs: dict[str, dict[str, Any]] = {}
    ids = {event["video_id"] for event in batch}
    deadline = time.monotonic() + timeout_s
    try:
        for event in batch:
            publisher.publish(event)
        publisher.flush()
        while time.monotonic() < deadline and not all(
                OutputCollector.is_finished(outputs.get(v, {}), cfg) for v in ids):
            for item in collector.poll(0.5):
                if item.record.get("video_id") in ids:
                    outputs.setdefault(item.record["video_id"], {}).setdefault(item.topic, item)
            if midway is not None and sum(cfg.topic_verdict in got for got in outputs.values()) >= 2:
                midway()
                midway = None
    finally:
        collector.close()
    assert midway is None, "never two verdicts to call midway() after"
    return outputs


def assert_all_enriched(cfg: Settings, batch: list[dict[str, Any]], outputs: dict[str, dict[str, Any]]) -> None:
    for event in batch:
        got = outputs.get(event["video_id"], {})
        assert cfg.topic_dead_letter not in got, got[cfg.topic_dead_letter].record["message"]
        assert cfg.topic_verdict in got and cfg.topic_enriched in got, (event["video_id"], sorted(got))


def logs_of(cfg: Settings, worker: str) -> str:
    """A worker's log, with the one before its last restart."""
    path = log_file(cfg, worker)
    before = path.with_suffix(".log.1")
    return (before.read_text(errors="replace") if before.exists() else "") + path.read_text(errors="replace")


@pytest.fixture
def two_of_each(stack: Settings) -> Iterator[Settings]:
    start_pipeline(stack, print, workers=2)
    yield stack
    stop_pipeline(stack, print)


def test_two_workers_share_a_stage_and_a_killed_one_loses_nothing(two_of_each: Settings, clips: list[str],
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    cfg = two_of_each
    batch = events("share", clips + clips)  # the second half are copies of the first

    def kill_one_of_each() -> None:
        for name in ("copies-2", "enrichment-2"):
            pid = running_pid(cfg, name)
            assert pid is not None
            os.killpg(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        start_pipeline(cfg, print, workers=2)  # restarted with their instance ids, they take their partitions back

    outputs = run(cfg, batch, midway=kill_one_of_each)
    assert_all_enriched(cfg, batch, outputs)
    for stage in ("copies", "enrichment"):
        worked = [sum(f"video share-{k}:" in logs_of(cfg, f"{stage}-{n}") for k in range(len(batch)))
                  for n in (1, 2)]
        assert all(worked), (stage, worked)  # both workers of the stage had partitions of their own
    deadline = time.monotonic() + 30
    while (lagging := [lag for lag in consumer_lag(cfg) if lag.group.endswith("-copies") and lag.lag]) and \
            time.monotonic() < deadline:
        time.sleep(1)
    assert not lagging  # every published event committed by the copy stage
    capsys.readouterr()
    status(cfg)
    out = capsys.readouterr().out
    assert f"lag  {cfg.faust_app_id}-enrichment: lag " in out and f"{cfg.topic_enrichment_requests}[0]=" in out


class Flood:
    """Other clients keeping Triton's asr queue full (more requests in flight than it holds) for ``seconds``."""

    def __init__(self, cfg: Settings, audio: np.ndarray, requests: int, seconds: float) -> None:
        self.stop = threading.Event()
        self.until = time.monotonic() + seconds
        self.thread = threading.Thread(target=asyncio.run, args=(self._flood(cfg, audio, requests),), daemon=True)

    async def _flood(self, cfg: Settings, audio: np.ndarray, requests: int) -> None:
        models = TritonModels(cfg.replace(triton_retries=0))

        async def keep_asking() -> None:
            while not self.stop.is_set() and time.monotonic() < self.until:
                try:
                    await models.transcribe(audio, 16000)
                except ServiceUnavailable:
                    await asyncio.sleep(0.05)

        try:
            await asyncio.gather(*(keep_asking() for _ in range(requests)))
        finally:
            await models.close()

    def __enter__(self) -> Flood:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        self.thread.join(timeout=120)


def test_an_overloaded_triton_holds_events_and_loses_none(stack: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """While other clients keep Triton's asr queue (four) full, the enrichment worker's requests are refused or
    wait too long (it allows 1 s in the queue): its videos wait and are tried again, and every one is enriched,
    none dead-lettered."""
    speech = stack.media_root / "scale" / "band-speech.mp4"
    if not speech.exists():
        speech.parent.mkdir(parents=True, exist_ok=True)
        live_band_with_speech(speech)
    monkeypatch.setenv("TRITON_TIMEOUT_S", "1")
    monkeypatch.setenv("TRITON_RETRIES", "1")
    start_pipeline(stack, print)
    audio = decode_video(speech, stack).audio
    batch = events("overload", ["scale/band-speech.mp4"] * 4)
    try:
        with Flood(stack, audio[:16000 * 20], requests=6, seconds=45):
            outputs = run(stack, batch, timeout_s=500)
    finally:
        stop_pipeline(stack, print)
    assert_all_enriched(stack, batch, outputs)
    logs = log_file(stack, "enrichment-1").read_text()
    refused = sum(logs.count(answer) for answer in ("Exceeds maximum queue size", "Request timeout expired",
                                                    "Deadline Exceeded"))
    print(f"Triton requests refused or late under overload: {refused}; events held: {logs.count('waits, offset')}")
    assert refused > 0 and "waits, offset" in logs  # the overload happened, and was waited out

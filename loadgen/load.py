"""Publish events for real sample media at a chosen rate and count; report throughput and latency.

Each event gets a fresh video id, so the pipeline does full work for every one; the media cycle over
the samples and their ffmpeg-derived copies (so many verdicts are duplicates, as in real traffic).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import numpy as np

from loadgen.demo import sample_event
from loadgen.kafka_io import OutputCollector, Publisher
from loadgen.samples import Sample, prepare_samples
from settings import Settings


def percentiles(values: list[float]) -> str:
    if not values:
        return "n/a"
    p50, p95, p99 = np.percentile(values, [50, 95, 99])
    return f"median {p50:.3f}s  p95 {p95:.3f}s  p99 {p99:.3f}s  (n={len(values)})"


def load_event(sample: Sample, video_id: str) -> dict[str, Any]:
    """An event for ``sample``'s media under a fresh ``video_id``, published now."""
    return {**sample_event(sample), "video_id": video_id, "published_at": datetime.now(UTC)}


def publish_paced(count: int, rate: float, send: Callable[[int], None],
                  idle: Callable[[float], None] = time.sleep) -> float:
    """Call ``send(i)`` for i in 0..count-1 at ``rate`` per second, spending the pauses in ``idle(seconds)``
    (which may return early); returns the start time."""
    started = time.time()
    for i in range(count):
        while (pause := started + i / rate - time.time()) > 0:
            idle(pause)
        send(i)
    return started


def run_load(cfg: Settings, count: int, rate: float, timeout_s: float, sample_id: str | None = None) -> int:
    """``sample_id`` publishes only that sample (e.g. ``live-band``, the 60 s clip) instead of cycling."""
    samples = prepare_samples(cfg.media_root)
    if sample_id is not None:
        samples = [s for s in samples if s.video_id == sample_id]
        if not samples:
            raise SystemExit(f"no sample called {sample_id!r}")
    run_id = uuid.uuid4().hex[:8]
    collector = OutputCollector(cfg)
    publisher = Publisher(cfg)
    sent: dict[str, float] = {}

    def send(i: int) -> None:
        event = load_event(samples[i % len(samples)], f"load-{run_id}-{i:06d}")
        sent[event["video_id"]] = publisher.publish(event)

    started = publish_paced(count, rate, send)
    publisher.flush()
    print(f"published {count} events in {time.time() - started:.1f}s (target {rate}/s); waiting for results ...")
    results = collector.wait_for(set(sent), timeout_s, show_progress="processed")
    collector.close()
    finished_at = max((r.received_at for outputs in results.values() for r in outputs.values()), default=started)
    latencies = [outputs[cfg.topic_verdict].received_at - sent[vid]
                 for vid, outputs in results.items() if cfg.topic_verdict in outputs]
    dead = sum(1 for outputs in results.values() if cfg.topic_dead_letter in outputs)
    kinds: dict[str, int] = {}
    for outputs in results.values():
        if cfg.topic_verdict in outputs:
            kind = outputs[cfg.topic_verdict].record["verdict"]
            kinds[kind] = kinds.get(kind, 0) + 1
    missing = count - len(latencies) - dead
    print(f"verdicts: {len(latencies)}  dead letters: {dead}  missing: {missing}  kinds: {kinds}")
    print(f"throughput: {len(latencies) / max(1e-9, finished_at - started):.2f} videos/s "
          f"over {finished_at - started:.1f}s")
    print(f"publish-to-verdict latency: {percentiles(latencies)}")
    return 0 if missing == 0 else 1

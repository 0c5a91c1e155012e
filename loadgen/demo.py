"""The main job on the local stack: run the pipeline over the real sample videos and report.

Starts the pipeline's workers (if they are not running), publishes the originals first, then copies derived from
them (later ``published_at``), waits for every verdict, and prints one line per video with the expected answer
beside the one found. Ids and timestamps are fixed, so a second run replays the same events: verdicts repeat,
the archive and index gain nothing.
"""

from __future__ import annotations

import sys
from typing import Any

from loadgen.kafka_io import OutputCollector, Publisher, Received
from loadgen.samples import Sample, prepare_samples
from local_stack.services import start_pipeline
from settings import Settings
from storage.archive import Archive


def sample_event(sample: Sample) -> dict[str, Any]:
    return {"video_id": sample.video_id, "media_uri": sample.relative_path, "channel_id": "demo-channel",
            "published_at": sample.published_at, "title": sample.title, "description": None,
            "tags": ["demo"], "series_id": None, "episode_number": None, "language_hint": None}


def expected_verdict(sample: Sample) -> str:
    return f"copy of {sample.copy_of}" if sample.copy_of else "unique"


def found_verdict(outputs: dict[str, Received], cfg: Settings) -> str:
    if cfg.topic_dead_letter in outputs:
        dead = outputs[cfg.topic_dead_letter].record
        return f"dead letter: {dead['error_kind']}"
    if cfg.topic_verdict not in outputs:
        return "no verdict (timed out)"
    verdict = outputs[cfg.topic_verdict].record
    return f"copy of {verdict['duplicate_of']}" if verdict["duplicate_of"] else "unique"


def report_line(sample: Sample, outputs: dict[str, Received], sent_at: float, cfg: Settings) -> tuple[str, bool]:
    found = found_verdict(outputs, cfg)
    ok = found == expected_verdict(sample)
    verdict = outputs.get(cfg.topic_verdict)
    enriched = outputs.get(cfg.topic_enriched)
    kind = verdict.record["verdict"] if verdict else "-"
    score = f"{verdict.record['score']:.2f}" if verdict else "-"
    latency = f"{verdict.received_at - sent_at:.2f}s" if verdict else "-"
    cluster = (enriched.record["cluster_id"] or "unassigned") if enriched else "-"
    audio = ("audio" if enriched.record["has_audio"] else "no audio") if enriched else "-"
    duration = f"{enriched.record['duration_s']:.1f}s" if enriched else "-"
    line = (f"{'ok ' if ok else 'BAD'} {sample.video_id:24s} {kind:15s} {score:>5s} "
            f"{(verdict.record['duplicate_of'] if verdict else None) or '-':14s} "
            f"{duration:>6s} {audio:8s} cluster={cluster:10s} latency={latency:>6s}  [{sample.transform}]")
    if verdict:
        line += f"\n      reason: {verdict.record['reason']}"
    if enriched:
        line += f"\n      {seen_and_said(enriched.record)}"
    return line, ok


def seen_and_said(enriched: dict) -> str:
    """One line of what the models found: transcript language and opening words, overlaid text."""
    transcript = enriched.get("transcript") or {}
    if transcript.get("no_speech", True):
        said = "no speech"
    else:
        words = " ".join(s["text"] for s in transcript["segments"])
        said = f"speech ({transcript['language']}): {words[:60]!r}"
    text = [o["text"] for o in enriched.get("ocr") or []]
    return f"{said}; on screen: {text[:3] if text else 'no text'}"


def run_demo(cfg: Settings, timeout_s: float = 600) -> int:
    print(f"preparing sample media in {cfg.media_root / 'samples'} ...")
    samples = prepare_samples(cfg.media_root)
    start_pipeline(cfg, print)
    sent: dict[str, float] = {}
    results: dict[str, dict[str, Received]] = {}
    collector = OutputCollector(cfg)
    publisher = Publisher(cfg)
    try:
        for phase in ("originals", "copies"):
            batch = [s for s in samples if (s.copy_of is None) == (phase == "originals")]
            for sample in batch:
                sent[sample.video_id] = publisher.publish(sample_event(sample))
            publisher.flush()
            print(f"published {len(batch)} {phase}; waiting for the pipeline ...")
            results.update(collector.wait_for({s.video_id for s in batch}, timeout_s, show_progress="processed"))
    finally:
        collector.close()

    print("\n    video                    verdict         score duplicate-of   length audio    cluster     latency")
    lines = [report_line(s, results.get(s.video_id, {}), sent[s.video_id], cfg) for s in samples]
    for line, _ in lines:
        print(line)
    archive = Archive(cfg.clickhouse_dsn)
    archive.wait_for_videos([s.video_id for s in samples], timeout_s=60)
    counts = archive.counts()
    distinct = archive.distinct_videos()
    archive.close()
    print(f"\narchive ({cfg.clickhouse_dsn}): {counts['videos']} video rows for {distinct} distinct videos, "
          f"{counts['video_frames']} frame rows")
    print(f"{sum(ok for _, ok in lines)}/{len(samples)} verdicts as expected (BAD marks a miss)")
    unanswered = [s.video_id for s in samples if not OutputCollector.is_finished(results.get(s.video_id, {}), cfg)]
    if unanswered:
        print(f"error: no result for {unanswered}; see the workers' logs in {cfg.stack_dir / 'logs'}",
              file=sys.stderr)
        return 1
    return 0

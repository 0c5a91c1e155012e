"""Soak: a long run of good and bad events at a steady rate; every event must be accounted for.

Good events cycle over short clips (``--media short``, the default: 2-second cuts of the sample originals, see
``prepare_short_clips``) or over the sample videos themselves (``--media samples``, as ``loadgen run`` does),
each under a fresh video id. A share
of the events (``bad_share``) is bad, cycling over ``BAD_KINDS``: bytes that are no event at all, an event
of the wrong format or schema or with missing fields, absurd metadata, media URIs outside the media root or
to a metadata endpoint, a missing file, a zero-length file, a truncated mp4; and one tricky but valid kind, a video
without audio, which must get a verdict. Each event must end as expected: a verdict and an enriched
record, or a dead letter of the expected error kind. Events too malformed to name a video are matched by
their Kafka key, which their dead letter keeps (``original_key``). While it runs, the resident memory (VmRSS) of
each stage worker is sampled, to show whether it stays flat.
"""

from __future__ import annotations

import io
import json
import os
import statistics
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import av
import fastavro
import numpy as np

from loadgen.kafka_io import OutputCollector, Publisher, Received
from loadgen.load import load_event, percentiles, publish_paced
from loadgen.samples import ORIGINALS, Sample, prepare_samples, run_ffmpeg
from local_stack.services import running_pid, running_workers
from schemas.codec import MAGIC, current_schema, encode, schema_fingerprint
from settings import Settings
from telemetry.progress import progress

VERDICT = "verdict"  # the expected outcome of good events: a verdict and an enriched record
BAD_KINDS: dict[str, str] = {  # kind of input -> expected outcome (an error kind, or a verdict)
    "undecodable": "malformed_event",     # random bytes
    "json_event": "malformed_event",      # the event as JSON: a producer that skipped Avro
    "wrong_schema": "malformed_event",    # a valid Avro message of another schema
    "missing_fields": "malformed_event",  # the right schema header, a body with only the video id
    "absurd_metadata": "invalid_event",   # published in 1970 (core/event_checks.py)
    "outside_root": "media_forbidden",    # ../../etc/passwd
    "metadata_url": "media_forbidden",    # http://169.254.169.254/latest/meta-data/
    "missing_file": "media_not_found",
    "empty_file": "media_empty",          # zero bytes
    "truncated_mp4": "media_unreadable",  # the first 4 KB of a real mp4
    "no_audio": VERDICT,                  # not bad: a real video without an audio stream
}


@dataclass(frozen=True)
class Planned:
    """One event to publish: ``key`` identifies it in every output (video id, or the dead letter's key)."""

    key: str
    kind: str  # "good" or one of BAD_KINDS
    expected: str
    event: dict[str, Any] | None = None  # published as VideoPublished; else ``raw`` as it is
    raw: bytes = b""


def prepare_bad_media(media_root: Path, source: Path) -> dict[str, str]:
    """The files the bad kinds point at, under ``media_root/soak`` (made once): kind -> media_uri."""
    folder = media_root / "soak"
    folder.mkdir(parents=True, exist_ok=True)
    empty, truncated, silent = folder / "empty.mp4", folder / "truncated.mp4", folder / "no-audio.mp4"
    empty.touch()
    if not truncated.exists():
        truncated.write_bytes(source.read_bytes()[:4096])
    if not silent.exists():
        run_ffmpeg([source], ["-map", "0:v", "-c:v", "copy", "-an"], silent)
    return {kind: str(path.relative_to(media_root)) for kind, path in
            (("empty_file", empty), ("truncated_mp4", truncated), ("no_audio", silent))}


SHORT_CLIP_S = 2
SHORT_CLIP_MAX_WIDTH = 192


def prepare_short_clips(media_root: Path, samples: list[Sample]) -> list[Sample]:
    """2-second cuts of each original sample video starting at every whole second, at most 192 px wide, with
    the original's audio if it has any (75 clips, made once under ``media_root/soak/clips``). They cost the
    worker ~2 s each instead of ~5-10 s for the full samples, so a soak of thousands of events fits in an hour
    here; neighbouring cuts overlap by a second, so some are judged copies of others, as in real traffic."""
    folder = media_root / "soak" / "clips"
    folder.mkdir(parents=True, exist_ok=True)
    clips = []
    for original in (s for s in samples if s.video_id in {o.video_id for o in ORIGINALS}):
        source = media_root / original.relative_path
        with av.open(str(source)) as container:
            duration_s = container.duration / av.time_base
        for start in range(int(duration_s - SHORT_CLIP_S) + 1):
            target = folder / f"{original.video_id}-{start:02d}s.mp4"
            if not target.exists():
                run_ffmpeg([source], ["-ss", str(start), "-t", str(SHORT_CLIP_S), "-vf",
                                      f"scale='min({SHORT_CLIP_MAX_WIDTH},iw)':-2", "-c:v", "libx264", "-preset",
                                      "veryfast", "-c:a", "aac"], target)
            clips.append(Sample(target.stem, str(target.relative_to(media_root)), f"{original.title} ({start} s on)",
                                None, f"{SHORT_CLIP_S} s cut", original.published_at))
    return clips


def bad_event(kind: str, key: str, template: dict[str, Any], uris: dict[str, str]) -> Planned:
    """An event of bad ``kind`` under ``key`` (its video id, or only its Kafka key if it cannot be decoded)."""
    expected = BAD_KINDS[kind]
    event = {**template, "video_id": key, "title": f"soak {kind}"}
    if kind == "undecodable":
        return Planned(key, kind, expected, raw=f"soak-garbage:{key}:".encode() + os.urandom(48))
    if kind == "json_event":
        return Planned(key, kind, expected, raw=json.dumps(event, default=str).encode())
    if kind == "wrong_schema":
        other = {"original_value": b"", "original_key": key.encode(), "topic": "x", "partition": 0, "offset": 0,
                 "video_id": key, "error_kind": "none", "message": "not a VideoPublished", "failed_at": 0}
        return Planned(key, kind, expected, raw=encode("DeadLetter", other))
    if kind == "missing_fields":
        body = io.BytesIO()
        fastavro.schemaless_writer(body, "string", key)  # video_id, then nothing: media_uri etc. missing
        return Planned(key, kind, expected, raw=MAGIC + schema_fingerprint(current_schema("VideoPublished"))
                       + body.getvalue())
    if kind == "absurd_metadata":
        return Planned(key, kind, expected, event={**event, "published_at": datetime(1970, 1, 1, tzinfo=UTC)})
    media_uri = {"outside_root": "../../etc/passwd", "metadata_url": "http://169.254.169.254/latest/meta-data/",
                 "missing_file": f"soak/missing-{key}.mp4"}.get(kind) or uris[kind]
    return Planned(key, kind, expected, event={**event, "media_uri": media_uri})


def plan_events(count: int, bad_share: float, samples: list[Sample], uris: dict[str, str],
                run_id: str) -> list[Planned]:
    """``count`` events; every 1/bad_share-th one bad, the bad ones cycling over BAD_KINDS."""
    kinds = list(BAD_KINDS)
    planned = []
    for i in range(count):
        key = f"soak-{run_id}-{i:06d}"
        sample = samples[i % len(samples)]
        if int((i + 1) * bad_share) > int(i * bad_share):
            planned.append(bad_event(kinds[int(i * bad_share) % len(kinds)], key, load_event(sample, key), uris))
        else:
            planned.append(Planned(key, "good", VERDICT, event=load_event(sample, key)))
    return planned


def read_rss_mib(pid: int) -> float | None:
    """Resident memory of a process (VmRSS in /proc/<pid>/status), or None if it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError):
        return None
    return None


@dataclass
class MemoryWatch:
    """Samples one worker's RSS every ``every_s`` seconds, with how many events were accounted for then."""

    name: str
    pid: int | None
    every_s: float
    samples: list[tuple[float, int, float]] = field(default_factory=list)  # (seconds, events done, MiB)
    started: float = field(default_factory=time.monotonic)
    _next: float = 0.0

    def maybe_sample(self, done: int) -> None:
        now = time.monotonic()
        if self.pid is None or now < self._next:
            return
        self._next = now + self.every_s
        rss = read_rss_mib(self.pid)
        if rss is not None:
            self.samples.append((now - self.started, done, rss))

    def slope_per_1000(self) -> float | None:
        """Least-squares MiB per 1000 events accounted for, over the second half of the events."""
        if not self.samples:
            return None
        half = max(done for _, done, _ in self.samples) / 2
        points = [(done, rss) for _, done, rss in self.samples if done >= half]
        if len({done for done, _ in points}) < 3:
            return None
        x, y = np.array(points, dtype=float).T
        return float(np.polyfit(x, y, 1)[0] * 1000)

    def summary(self) -> str:
        if self.pid is None:
            return f"{self.name} memory: not sampled (not running)"
        if not self.samples:
            return f"{self.name} memory: no sample (pid {self.pid} gone?)"
        rss = [s[2] for s in self.samples]
        slope = self.slope_per_1000()
        slope_text = f"{slope:+.2f} MiB per 1000 events" if slope is not None else "n/a (too few samples)"
        return (f"{self.name} memory (VmRSS of pid {self.pid}, {len(rss)} samples every {self.every_s:g}s): "
                f"first {rss[0]:.0f} MiB, median {statistics.median(rss):.0f}, last {rss[-1]:.0f}, "
                f"max {max(rss):.0f}; slope over the second half of the events: {slope_text}\n"
                f"  MiB by events accounted for: {self.trace()}")

    def trace(self, points: int = 10) -> str:
        """The RSS when each tenth of the events had been accounted for: ``events:MiB`` pairs."""
        total = max(done for _, done, _ in self.samples)
        marks = []
        for k in range(points + 1):
            at = next((s for s in self.samples if s[1] >= total * k / points), self.samples[-1])
            if not marks or marks[-1] != at:
                marks.append(at)
        return " ".join(f"{done}:{rss:.0f}" for _, done, rss in marks)


@dataclass
class SoakResult:
    planned: list[Planned]
    outputs: dict[str, dict[str, list[Received]]]
    outcomes: dict[str, Counter[str]]  # kind -> actual outcome -> events
    missing: list[str]
    unexpected: list[tuple[str, str, str, str]]  # (key, kind, expected, actual)
    duplicates: Counter[str]  # topic -> video ids with more than one record on it
    memory: list[MemoryWatch]  # one per stage worker

    @property
    def ok(self) -> bool:
        return not self.missing and not self.unexpected


def event_key(item: Received) -> str | None:
    """Which event an output belongs to: its video id, else (a malformed event's dead letter) its Kafka key."""
    if item.record.get("video_id"):
        return item.record["video_id"]
    key = item.record.get("original_key")
    return key.decode(errors="replace") if key else None


def outcome(outputs: dict[str, list[Received]], cfg: Settings) -> str:
    """What became of one event: its dead letter's error kind, "verdict" (verdict and enriched), or what is
    still missing."""
    if outputs.get(cfg.topic_dead_letter):
        kinds = {r.record["error_kind"] for r in outputs[cfg.topic_dead_letter]}
        extra = " + verdict" if outputs.get(cfg.topic_verdict) else ""
        return "/".join(sorted(kinds)) + extra
    if outputs.get(cfg.topic_verdict) and outputs.get(cfg.topic_enriched):
        return VERDICT
    if outputs.get(cfg.topic_verdict):
        return "verdict without enriched"
    return "missing"


def run_soak(cfg: Settings, count: int, rate: float, bad_share: float, timeout_s: float = 300,
             memory_every_s: float = 5.0, media: str = "short") -> SoakResult:
    """Publish ``count`` events at ``rate``/s, good ones on ``media`` ("short" clips or the "samples"), wait
    until each is accounted for (giving up after ``timeout_s`` without progress), print the report and return it."""
    samples = prepare_samples(cfg.media_root)
    with_audio = next(s for s in samples if s.video_id == "bigbuckbunny")  # mp4 with audio: stripped for no_audio
    uris = prepare_bad_media(cfg.media_root, cfg.media_root / with_audio.relative_path)
    if media == "short":
        samples = prepare_short_clips(cfg.media_root, samples)
    run_id = uuid.uuid4().hex[:8]
    planned = plan_events(count, bad_share, samples, uris, run_id)
    by_key = {p.key: p for p in planned}
    outputs: dict[str, dict[str, list[Received]]] = defaultdict(lambda: defaultdict(list))
    done: set[str] = set()
    sent: dict[str, float] = {}
    memory = [MemoryWatch(name, running_pid(cfg, name), memory_every_s) for name in running_workers(cfg)]
    collector = OutputCollector(cfg)
    publisher = Publisher(cfg)

    def collect(seconds: float) -> None:
        for item in collector.poll(timeout_s=min(seconds, 0.5)):
            key = event_key(item)
            if key in by_key:
                outputs[key][item.topic].append(item)
                if OutputCollector.is_finished({t: r[0] for t, r in outputs[key].items()}, cfg):
                    done.add(key)
        for watch in memory:
            watch.maybe_sample(len(done))
        accounted.update(len(done) - accounted.n)

    def send(i: int) -> None:
        event = planned[i]
        sent[event.key] = time.time()
        if event.event is not None:
            publisher.publish(event.event)
        else:
            publisher.publish_raw(event.key.encode(), event.raw)

    bad = sum(p.kind != "good" for p in planned)
    print(f"soak {run_id}: {count} events at {rate:g}/s, {count - bad} good (cycling over {len(samples)} "
          f"{'short clips' if media == 'short' else 'sample videos'}), {bad} bad or tricky ({len(BAD_KINDS)} kinds, "
          "cycling)")
    with progress(count, "accounted for", "events") as accounted:
        started = publish_paced(count, rate, send, idle=collect)
        publisher.flush()
        published_s = time.time() - started
        last_progress, last_done = time.monotonic(), len(done)
        while len(done) < count and time.monotonic() - last_progress < timeout_s:
            collect(0.5)
            if len(done) != last_done:
                last_progress, last_done = time.monotonic(), len(done)
    finished_s = time.time() - started
    settle = time.monotonic() + 5  # late records: repeats of already finished events
    while time.monotonic() < settle:
        collect(0.5)
    collector.close()

    outcomes: dict[str, Counter[str]] = defaultdict(Counter)
    unexpected, missing = [], []
    for p in planned:
        actual = outcome(outputs.get(p.key, {}), cfg)
        outcomes[p.kind][actual] += 1
        if actual in ("missing", "verdict without enriched"):
            missing.append(p.key)
        elif actual != p.expected:
            unexpected.append((p.key, p.kind, p.expected, actual))
    duplicates = Counter({topic: sum(1 for topics in outputs.values() if len(topics.get(topic, [])) > 1)
                          for topic in (cfg.topic_verdict, cfg.topic_enriched, cfg.topic_dead_letter)})
    result = SoakResult(planned, outputs, outcomes, missing, unexpected, duplicates, memory)
    print_report(result, cfg, sent, published_s, finished_s)
    return result


def print_report(result: SoakResult, cfg: Settings, sent: dict[str, float], published_s: float,
                 finished_s: float) -> None:
    planned, outputs = result.planned, result.outputs
    verdicts = sum(1 for p in planned if outputs.get(p.key, {}).get(cfg.topic_verdict))
    dead = Counter(outputs[p.key][cfg.topic_dead_letter][0].record["error_kind"] for p in planned
                   if outputs.get(p.key, {}).get(cfg.topic_dead_letter))
    latencies = [outputs[p.key][cfg.topic_verdict][0].received_at - sent[p.key] for p in planned
                 if outputs.get(p.key, {}).get(cfg.topic_verdict)]
    accounted = len(planned) - len(result.missing)
    print(f"\npublished: {len(planned)} in {published_s:.1f}s; accounted for: {accounted} "
          f"in {finished_s:.1f}s ({accounted / max(finished_s, 1e-9):.2f} events/s)")
    print(f"verdicts: {verdicts}  dead letters: {sum(dead.values())} "
          f"({', '.join(f'{k} {n}' for k, n in dead.most_common()) or 'none'})  missing: {len(result.missing)}")
    print(f"duplicates by video id (at least once; consumers dedupe): verdict {result.duplicates[cfg.topic_verdict]}, "
          f"enriched {result.duplicates[cfg.topic_enriched]}, dead-letter {result.duplicates[cfg.topic_dead_letter]}")
    print(f"publish-to-verdict latency: {percentiles(latencies)}")
    print(f"\n    {'kind':16s} {'expected':18s} {'events':>6s} {'as expected':>11s}  actual")
    kinds = ["good", *BAD_KINDS]
    expected = {"good": VERDICT, **BAD_KINDS}
    for kind in kinds:
        counts = result.outcomes.get(kind, Counter())
        total = sum(counts.values())
        if not total:
            continue
        right = counts[expected[kind]]
        actual = ", ".join(f"{o} {n}" for o, n in counts.most_common())
        print(f"{'ok ' if right == total else 'BAD'} {kind:16s} {expected[kind]:18s} {total:6d} {right:11d}  {actual}")
    if not result.memory:
        print("worker memory: not sampled (no worker started by `python -m local_stack worker` found)")
    for watch in result.memory:
        print(watch.summary())
    for key, kind, want, got in result.unexpected[:10]:
        print(f"unexpected: {key} ({kind}): expected {want}, got {got}")
    if result.missing:
        print(f"missing: {len(result.missing)}, e.g. {result.missing[:5]}; "
              f"see the workers' logs in {cfg.stack_dir / 'logs'}")
    print("soak: OK, every event accounted for as expected" if result.ok else "soak: FAILED")

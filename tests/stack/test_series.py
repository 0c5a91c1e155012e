"""Recurring segments of series episodes, in the stream: a real Faust worker, broker, Redis and archive.

The quick synthetic series (bench/series_corpus.py, real media): episode 1 opens with the intro, episode 2
has a cold open and then the intro, episode 3 has no intro. Episode 1 is published and finished first, so
its intro can only be found when episode 2 arrives: its enriched record must then be sent again.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bench.series_corpus import SeriesEpisode, build_series
from bench.series_eval import episode_iou, frame_mask
from loadgen.kafka_io import OutputCollector, Publisher
from local_stack.services import start_pipeline, stop_pipeline
from settings import Settings
from storage.archive import Archive


@pytest.fixture(scope="module")
def episodes(stack: Settings) -> list[SeriesEpisode]:
    return sorted(build_series(stack.media_root / "series", quick=True), key=lambda e: e.episode_number)


@pytest.fixture(scope="module")
def worker(stack: Settings) -> Iterator[Settings]:
    start_pipeline(stack, print)
    yield stack
    stop_pipeline(stack, print)


def episode_event(episode: SeriesEpisode, cfg: Settings) -> dict[str, Any]:
    published_at = datetime(2026, 3, 1, tzinfo=UTC) + timedelta(days=7 * episode.episode_number)
    return {"video_id": episode.video_id, "media_uri": str(episode.path.relative_to(cfg.media_root)),
            "channel_id": "series-channel", "published_at": published_at, "title": f"Episode {episode.episode_number}",
            "description": None, "tags": [], "series_id": episode.series_id,
            "episode_number": episode.episode_number, "language_hint": None}


def collect_enriched(collector: OutputCollector, cfg: Settings, done: Any, timeout_s: float) -> list[dict]:
    """Every enriched record received until ``done(records)`` holds (or the timeout)."""
    records: list[dict] = []
    deadline = time.monotonic() + timeout_s
    while not done(records) and time.monotonic() < deadline:
        for item in collector.poll(timeout_s=0.5):
            assert item.topic != cfg.topic_dead_letter, item.record
            if item.topic == cfg.topic_enriched:
                records.append(item.record)
    return records


def iou(record: dict, episode: SeriesEpisode) -> float:
    truth = frame_mask([(start, end) for start, end, _ in episode.recurring], episode.duration_s)
    found = frame_mask([(s["start_s"], s["end_s"]) for s in record["recurring_segments"]], episode.duration_s)
    return episode_iou(truth, found)


@pytest.fixture(scope="module")
def published(worker: Settings, episodes: list[SeriesEpisode]) -> dict[str, list[dict]]:
    """Episode 1 alone until its record is out, then episodes 2 and 3; every enriched record, per video."""
    cfg = worker
    first, second, third = episodes
    collector = OutputCollector(cfg)
    publisher = Publisher(cfg)
    try:
        publisher.publish(episode_event(first, cfg))
        publisher.flush()
        records = collect_enriched(collector, cfg, lambda rs: any(r["video_id"] == first.video_id for r in rs), 180)
        for episode in (second, third):
            publisher.publish(episode_event(episode, cfg))
        publisher.flush()

        def all_in(rs: list[dict]) -> bool:
            updated_first = [r for r in rs if r["video_id"] == first.video_id and r["recurring_segments"]]
            return bool(updated_first) and {second.video_id, third.video_id} <= {r["video_id"] for r in rs}

        records += collect_enriched(collector, cfg, all_in, 240)
    finally:
        collector.close()
    by_video: dict[str, list[dict]] = {e.video_id: [] for e in episodes}
    for record in records:
        by_video[record["video_id"]].append(record)
    return by_video


def test_first_episode_is_resent_with_its_intro_when_the_second_arrives(
        published: dict[str, list[dict]], episodes: list[SeriesEpisode]) -> None:
    first, second, _ = episodes
    own, *updates = published[first.video_id]
    assert own["recurring_segments"] == [] and own["series_id"] == first.series_id  # nothing to compare with yet
    assert len(updates) == 1, updates  # one update: episode 3 shares nothing, so it changes nothing
    update = updates[0]
    assert [s["kind"] for s in update["recurring_segments"]] == ["intro"]
    assert update["recurring_segments"][0]["shared_with"] == [second.video_id]
    assert iou(update, first) >= 0.9
    assert update["transcript"] == own["transcript"] and update["ocr"] == own["ocr"]  # the rest is kept
    assert update["processed_at"] > own["processed_at"]


def test_later_episodes_get_their_segments_on_arrival(published: dict[str, list[dict]],
                                                      episodes: list[SeriesEpisode]) -> None:
    first, second, third = episodes
    [second_record] = published[second.video_id]
    assert [s["kind"] for s in second_record["recurring_segments"]] == ["intro"]
    assert second_record["recurring_segments"][0]["shared_with"] == [first.video_id]
    assert second_record["recurring_segments"][0]["start_s"] > 3  # after the cold open
    assert iou(second_record, second) >= 0.9
    [third_record] = published[third.video_id]
    assert third.recurring == () and third_record["recurring_segments"] == []


def test_segments_are_archived(published: dict[str, list[dict]], worker: Settings,
                               episodes: list[SeriesEpisode]) -> None:
    archive = Archive(worker.clickhouse_dsn)  # read while the archiver runs: it writes between our reads
    try:
        archive.wait_for_videos([e.video_id for e in episodes], timeout_s=60)
        time.sleep(2 * worker.archive_batch_s)  # the enriched revisions come in the same or the next batch
        rows = archive.query(
            "SELECT video_id, kinds, starts_s, ends_s, shared_with FROM recurring_segments FINAL "
            "WHERE series_id = {s:String} ORDER BY video_id", parameters={"s": episodes[0].series_id})
    finally:
        archive.close()
    archived = {row[0]: row[1:] for row in rows}
    first, second, third = episodes
    for episode in (first, second):
        record = published[episode.video_id][-1]["recurring_segments"]
        kinds, starts, ends, shared_with = archived[episode.video_id]
        assert kinds == [s["kind"] for s in record] and shared_with == [s["shared_with"] for s in record]
        assert starts == pytest.approx([s["start_s"] for s in record]) and ends == pytest.approx(
            [s["end_s"] for s in record])
    assert archived[third.video_id] == ([], [], [], [])

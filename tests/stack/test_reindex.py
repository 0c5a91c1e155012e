"""Reindex from history against the real servers: a worker processes videos into generation 0; the reindex job
replays publish-video into generation 1, reproduces every verdict and cluster, switches the search API and the
workers to it and drops generation 0.

The module runs on topics, index names and a consumer group of its own (environment variables, as an operator
would configure a second deployment), so replaying "from the start" replays only its own events.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import numpy as np
import pytest
from redis import Redis

from core.clustering import Cluster, ClusteringRun
from inference.triton_client import TritonModels
from jobs.recluster import publish_centroids
from jobs.reindex import ReindexReport, run_reindex
from jobs.topics import ensure_topics
from loadgen.kafka_io import OutputCollector, Publisher
from loadgen.samples import run_ffmpeg
from local_stack.services import SEARCH_API, start, start_pipeline, stop, stop_pipeline
from settings import Settings
from storage.archive import Archive
from storage.generations import IndexGeneration, current_generation

OWN_DEPLOYMENT = {"TOPIC_PUBLISH": "rx-publish-video", "TOPIC_VERDICT": "rx-verdict", "TOPIC_ENRICHED": "rx-enriched",
                  "TOPIC_DEAD_LETTER": "rx-dead-letter", "TOPIC_CLUSTER_CENTROIDS": "rx-cluster-centroids",
                  "REDIS_FRAME_INDEX": "rx-frames", "REDIS_SEARCH_INDEX": "rx-search",
                  "REDIS_CLUSTER_INDEX": "rx-clusters", "FAUST_APP_ID": "rx-video-understanding",
                  # Known defect, issue 36: in an index this young the descriptor signal takes these Game of Life
                  # renders (other seeds) for copies of each other; this module tests the replay, not that signal
                  "DESCRIPTOR_SIGNAL": "false"}


def event(n: int, uri: str) -> dict[str, Any]:
    return {"video_id": f"rx-{n}", "media_uri": uri, "channel_id": "reindex",
            "published_at": datetime(2026, 8, 1, tzinfo=UTC) + timedelta(minutes=n),
            "title": f"Walrus parade number {n}", "description": None, "tags": [], "series_id": None,
            "episode_number": None, "language_hint": None}


def publish_and_wait(cfg: Settings, events: list[dict[str, Any]], junk: bool = False) -> dict[str, Any]:
    collector = OutputCollector(cfg)
    publisher = Publisher(cfg)
    try:
        for item in events:
            publisher.publish(item)
        if junk:
            publisher.publish_raw(b"rx-junk", b"not an event")  # dead-lettered; the reindex counts and skips it
        publisher.flush()
        outputs = collector.wait_for({item["video_id"] for item in events}, timeout_s=300)
    finally:
        collector.close()
    assert all(cfg.topic_enriched in outputs.get(item["video_id"], {}) for item in events), outputs
    return {video_id: {"duplicate_of": topics[cfg.topic_verdict].record["duplicate_of"],
                       "cluster_id": topics[cfg.topic_enriched].record["cluster_id"]}
            for video_id, topics in outputs.items()}


def publish_walrus_cluster(cfg: Settings, titles: list[str]) -> None:
    """One topic cluster around the titles' text embeddings, published as the re-clustering job would, so
    cluster assignment is part of what the reindex must reproduce."""
    async def embed() -> np.ndarray:
        models = TritonModels(cfg)
        try:
            return await models.embed_texts(titles)
        finally:
            await models.close()

    embed_mean = asyncio.run(embed()).mean(axis=0)
    centre = (embed_mean / np.linalg.norm(embed_mean)).astype(np.float32)
    walrus = Cluster("c-walrus", "walrus parade", centre, 0.3, (), ("walrus", "parade"))
    publish_centroids(cfg, ClusteringRun([walrus], [], []), "rx-run", datetime.now(UTC))


def dead_letter_kind(cfg: Settings, item: dict[str, Any]) -> str:
    """Publish an event that must be dead-lettered; its error kind."""
    collector = OutputCollector(cfg)
    publisher = Publisher(cfg)
    try:
        publisher.publish(item)
        publisher.flush()
        outputs = collector.wait_for({item["video_id"]}, timeout_s=300)
    finally:
        collector.close()
    return outputs[item["video_id"]][cfg.topic_dead_letter].record["error_kind"]


@pytest.fixture(scope="module")
def reindexed(stack: Settings) -> Iterator[dict[str, Any]]:
    with pytest.MonkeyPatch.context() as env:
        for name, value in OWN_DEPLOYMENT.items():
            env.setenv(name, value)
        cfg = Settings.from_env()
        ensure_topics(cfg)
        folder = cfg.media_root / "reindex"
        folder.mkdir(parents=True, exist_ok=True)
        uris = []
        for seed in range(3):
            path = folder / f"life-{seed}.mp4"
            if not path.exists():
                run_ffmpeg([], ["-f", "lavfi", "-i", f"life=seed={seed + 7}:s=160x120:rate=10:mold=10",
                                "-t", "4", "-c:v", "libx264", "-pix_fmt", "yuv420p"], path)
            uris.append(f"reindex/{path.name}")
        events = [event(n, uri) for n, uri in enumerate(uris + uris[:2])]  # rx-3, rx-4: copies of rx-0, rx-1
        publish_walrus_cluster(cfg, [e["title"] for e in events] + [event(9, "")["title"]])
        start_pipeline(cfg, print)
        # Originals first, then their copies: a copy consumed before its original (another partition) is judged
        # UNIQUE live, and the reindex, in publish order, would rightly differ (README, "Reindex").
        live = publish_and_wait(cfg, events[:3], junk=True) | publish_and_wait(cfg, events[3:])
        # rx-0 again with rx-2's media: refused live (one video id, one media), and the reindex must refuse it too
        conflicting = dead_letter_kind(cfg, event(0, uris[2]))
        ids = [e["video_id"] for e in events]
        archive = Archive(cfg.clickhouse_dsn)
        try:
            archive.wait_for_videos(ids, timeout_s=60)
            time.sleep(3 * cfg.archive_batch_s)  # the enriched revisions too, which may come a batch later
            rows_before = archive.counts(ids)
            report = asyncio.run(run_reindex(cfg))  # beside the live workers
            time.sleep(3 * cfg.archive_batch_s)  # the archiver has taken the reindex's archive records by now
            rows_after = archive.counts(ids)
        finally:
            archive.close()
        start(cfg, SEARCH_API, print)
        with httpx.Client(base_url=f"http://127.0.0.1:{cfg.search_port}", timeout=30) as client:
            found = client.get("/api/search", params={"q": "walrus parade"}).json()
        stop(cfg, SEARCH_API.name, print)
        live |= publish_and_wait(cfg, [event(9, uris[2])])  # the live workers write it into the new generation
        stop_pipeline(cfg, print)
        yield {"cfg": cfg, "events": events, "live": live, "report": report, "found": found,
               "rows": (rows_before, rows_after), "conflicting": conflicting}


def test_reindex_reproduces_every_verdict_and_cluster(reindexed: dict[str, Any]) -> None:
    report: ReindexReport = reindexed["report"]
    assert report.replayed == report.compared == len(reindexed["events"])
    assert report.verdicts_same == report.clusters_same == report.compared, report.differences
    assert report.undecodable == 1 and report.failed == {"conflicting_event": 1}
    assert reindexed["conflicting"] == "conflicting_event"
    live = reindexed["live"]
    # rx-9, processed by a worker after the switch, is found to copy rx-2 in the rebuilt copy index
    assert {video_id: v["duplicate_of"] for video_id, v in live.items() if v["duplicate_of"]} == {
        "rx-3": "rx-0", "rx-4": "rx-1", "rx-9": "rx-2"}
    assert {v["cluster_id"] for v in live.values()} == {"c-walrus"}  # copies and clusters are both compared
    rows_before, rows_after = reindexed["rows"]
    assert rows_after == rows_before  # same models: the archive gains nothing


def test_readers_and_writers_switch_and_the_old_generation_is_gone(reindexed: dict[str, Any]) -> None:
    cfg: Settings = reindexed["cfg"]
    client = Redis.from_url(cfg.redis_url)
    assert current_generation(client, cfg) == reindexed["report"].new_generation == 1
    new = IndexGeneration.open(cfg, 1)
    ids = [e["video_id"] for e in reindexed["events"]] + ["rx-9"]
    assert set(new.search.cards(ids)) == set(ids)
    assert {v.video_id for v in new.copies.indexed_videos(ids)} == set(ids)
    indexes = {name.decode() for name in client.execute_command("FT._LIST")}
    assert "g1-rx-frames" in indexes and "rx-frames" not in indexes and "rx-search-chunks" not in indexes
    assert not list(client.scan_iter(match="rx-search:video:*"))
    found = reindexed["found"]["hits"]
    groups = [{hit["video"]["video_id"], *hit["copies"]} for hit in found]  # each hit with the copies it stands for
    assert set().union(*groups) >= {e["video_id"] for e in reindexed["events"]}
    assert {"rx-0", "rx-3"} in groups and {"rx-1", "rx-4"} in groups  # each original and its copy: one hit


def test_reindex_again_moves_on_to_the_next_generation(reindexed: dict[str, Any]) -> None:
    cfg: Settings = reindexed["cfg"]
    started = time.perf_counter()
    report = asyncio.run(run_reindex(cfg, keep_old=True))
    print(f"second reindex of {report.replayed} videos in {time.perf_counter() - started:.1f} s")
    assert (report.old_generation, report.new_generation) == (1, 2)
    assert report.verdicts_same == report.compared == len(reindexed["events"]) + 1
    client = Redis.from_url(cfg.redis_url)
    assert {"g1-rx-frames", "g2-rx-frames"} <= {name.decode() for name in client.execute_command("FT._LIST")}

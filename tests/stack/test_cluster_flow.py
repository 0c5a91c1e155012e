"""Topic clusters through the real stack: worker -> archive -> re-clustering job -> compacted centroid topic ->
worker loads centroids into Redis -> new videos are assigned on arrival.

Known groups by construction: videos of three themes (cooking, football, space flight), their topic given by
their titles and descriptions over one silent clip without text (ffmpeg's mandelbrot pattern, used by no other
test, so these 22 copies of it never crowd another test's copy lookups), so the topic embedding is the
metadata's. 18 videos are few for density clustering (hdbscan's result on them moves with its
settings), so this test asserts what must hold whatever it finds: clusters never mix themes, most themes are
found, new videos join their theme's cluster, ids are stable; it prints the adjusted Rand index. Clustering
quality on a larger themed set is measured in tests/unit/test_clustering.py and bench/cluster_eval.py. The
session's stack is shared, so the archive may hold other modules' videos (when they ran first): they are clustered
too, a themed cluster must not take them in, and only this module's videos are scored.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from sklearn.metrics import adjusted_rand_score

from jobs.recluster import run_recluster
from loadgen.kafka_io import OutputCollector, Publisher
from loadgen.themes import ARRIVALS, OFF_TOPIC, THEMES, themed_clip, themed_event
from local_stack.services import start_pipeline, stop_pipeline
from settings import Settings
from storage.archive import Archive
from storage.cluster_index import ClusterIndex
from storage.search_index import SearchIndex


def publish_all(cfg: Settings, events: list[dict[str, Any]]) -> dict[str, dict]:
    """Publish, wait for every enriched record; returns video id -> enriched record."""
    collector = OutputCollector(cfg)
    publisher = Publisher(cfg)
    try:
        for event in events:
            publisher.publish(event)
        publisher.flush()
        outputs = collector.wait_for({e["video_id"] for e in events}, timeout_s=300)
    finally:
        collector.close()
    assert all(cfg.topic_enriched in outputs.get(e["video_id"], {}) for e in events), outputs.keys()
    return {video_id: topics[cfg.topic_enriched].record for video_id, topics in outputs.items()}


@pytest.fixture(scope="module")
def flow(stack: Settings) -> Iterator[dict[str, Any]]:
    cfg = stack.replace(cluster_min_size=3)  # this small archive: a cluster is 3+ videos (default 5)
    clip = themed_clip(cfg.media_root)
    events, truth = [], {}
    for theme, videos in THEMES.items():
        for k, (title, description) in enumerate(videos):
            video_id = f"{theme}-{k}"
            events.append(themed_event(video_id, title, description, clip, len(events)))
            truth[video_id] = theme
    start_pipeline(cfg, print)
    first = publish_all(cfg, events)

    archive = Archive(cfg.clickhouse_dsn)  # the job runs beside the live workers and archiver
    search_index = SearchIndex(cfg.redis_url, cfg.redis_search_index)
    try:
        archive.wait_for_videos(list(truth), timeout_s=60)
        report = run_recluster(cfg, archive, search_index)
        rerun = run_recluster(cfg, archive, search_index)  # nothing changed: the same ids must come back
    finally:
        archive.close()
    clusters = ClusterIndex(cfg.redis_url, cfg.redis_cluster_index)
    # the live enrichment worker loads the centroids from the compacted topic
    deadline = time.monotonic() + 60
    while len(clusters.cluster_ids()) < len(report.run.clusters) and time.monotonic() < deadline:
        time.sleep(0.5)
    arrivals = [themed_event(f"new-{theme}", title, description, clip, 100 + n)
                for n, (theme, (title, description)) in enumerate(ARRIVALS.items())]
    arrivals.append(themed_event("new-offtopic", *OFF_TOPIC, clip, 200))
    later = publish_all(cfg, arrivals)
    stop_pipeline(cfg, print)
    yield {"cfg": cfg, "truth": truth, "first": first, "report": report, "rerun": rerun,
           "loaded": clusters.cluster_ids(), "later": later, "search_index": search_index}


def test_before_any_run_videos_are_unassigned(flow: dict[str, Any]) -> None:
    assert all(record["cluster_id"] is None for record in flow["first"].values())
    assert all(record["keywords"] for record in flow["first"].values())  # keywords extracted from the titles


def test_archive_run_finds_the_themes(flow: dict[str, Any]) -> None:
    run = flow["report"].run
    found = {video_id: cluster.cluster_id for cluster in run.clusters for video_id in cluster.members}
    found.update({video_id: f"noise-{video_id}" for video_id in run.noise})  # noise counts as singletons
    ids = sorted(flow["truth"])
    ari = adjusted_rand_score([flow["truth"][i] for i in ids], [found[i] for i in ids])
    print(f"\narchive run: {len(run.clusters)} clusters, {len(run.noise)} noise, adjusted Rand index {ari:.3f}")
    for cluster in run.clusters:
        print(f"  {cluster.cluster_id} {cluster.label!r}: {', '.join(cluster.members)}")
    themes_found = [{flow["truth"].get(m, "another test's") for m in cluster.members} for cluster in run.clusters
                    if set(cluster.members) & set(flow["truth"])]
    assert all(len(themes) == 1 for themes in themes_found), themes_found  # no cluster mixes themes
    assert len(set.union(*themes_found)) >= 2


def test_rerun_keeps_cluster_ids(flow: dict[str, Any]) -> None:
    before = {c.cluster_id: c.members for c in flow["report"].run.clusters}
    after = {c.cluster_id: c.members for c in flow["rerun"].run.clusters}
    assert before == after and flow["rerun"].run.retired == []


def test_workers_load_centroids_and_assign_new_videos(flow: dict[str, Any]) -> None:
    run = flow["report"].run
    assert flow["loaded"] == sorted(c.cluster_id for c in run.clusters)
    theme_cluster = {flow["truth"][c.members[0]]: c for c in run.clusters if c.members[0] in flow["truth"]}
    joined = 0
    for theme in ARRIVALS:
        record = flow["later"][f"new-{theme}"]
        expected = theme_cluster.get(theme)
        print(f"\nnew {theme}: cluster {record['cluster_label']!r} at {record['cluster_distance']}, its theme's "
              f"radius {expected.radius if expected else None}")
        # a video farther from its theme's centroid than the cluster's radius stays unassigned (conservative
        # by design); it must never join another theme's cluster
        assert record["cluster_id"] in (None, expected.cluster_id if expected else None), (theme, record)
        if record["cluster_id"] is not None:
            joined += 1
            assert record["cluster_label"] == expected.label and record["cluster_distance"] <= expected.radius
    assert joined >= 1
    assert flow["later"]["new-offtopic"]["cluster_id"] is None


def test_search_cards_follow_the_run(flow: dict[str, Any]) -> None:
    cards = flow["search_index"].cards(sorted(flow["truth"]))
    for cluster in flow["report"].run.clusters:
        cluster = replace(cluster, members=tuple(m for m in cluster.members if m in cards))
        if not cluster.members:  # other modules' videos only
            continue
        assert {cards[m].cluster_id for m in cluster.members} == {cluster.cluster_id}
        assert {cards[m].cluster_label for m in cluster.members} == {cluster.label}

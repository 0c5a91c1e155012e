"""The re-clustering job: hdbscan over every archived topic vector, published as the new cluster centroids.

``python -m jobs.recluster [--dry-run]``:
1. reads every archived video's topic embedding and keywords from ClickHouse (this features version);
2. clusters them (core/clustering.py: PCA, hdbscan, labels from keywords), keeping the ids of clusters that
   match the previous run's (``cluster_members`` table) by members;
3. publishes each cluster to the compacted ``cluster-centroids`` topic (key: cluster id) and a tombstone for
   every retired id; the workers' centroid agent loads them into Redis, where new videos are assigned;
4. records the run's members in ClickHouse and moves the indexed videos to their new clusters in the search
   index (so the cluster filter of search follows the run).
It runs beside the live workers: against the embedded archive it opens it between two of the archiver's batches
(storage/archive.py), against a ClickHouse server as one more client.
"""

from __future__ import annotations

import argparse
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
from confluent_kafka import Producer
from redis import Redis

from core.clustering import Cluster, ClusteringRun, recluster
from core.records import ClusterCentroid
from jobs.topics import ensure_topics
from pipeline.outputs import FEATURES_VERSION
from schemas.codec import encode_record
from settings import Settings
from storage.archive import Archive
from storage.generations import IndexGeneration
from storage.search_index import SearchIndex


@dataclass(frozen=True)
class ReclusterReport:
    run_id: str
    videos: int
    run: ClusteringRun
    seconds: dict[str, float]


def centroid_record(cluster: Cluster, run_id: str, created_at: datetime) -> ClusterCentroid:
    return ClusterCentroid(cluster_id=cluster.cluster_id, label=cluster.label, keywords=list(cluster.keywords),
                           centroid=cluster.centroid.astype(np.float32), radius=cluster.radius,
                           size=len(cluster.members), run_id=run_id, created_at=created_at)


def publish_centroids(cfg: Settings, run: ClusteringRun, run_id: str, created_at: datetime) -> None:
    """Every cluster, then a tombstone per retired id, acknowledged by the broker before returning."""
    producer = Producer({"bootstrap.servers": cfg.kafka_bootstrap, "enable.idempotence": True})
    failures: list[str] = []

    def delivered(err: object, _msg: object) -> None:
        if err is not None:
            failures.append(str(err))

    for cluster in run.clusters:
        producer.produce(cfg.topic_cluster_centroids, key=cluster.cluster_id.encode(),
                         value=encode_record(centroid_record(cluster, run_id, created_at)),
                         on_delivery=delivered)
    for cluster_id in run.retired:
        producer.produce(cfg.topic_cluster_centroids, key=cluster_id.encode(), value=None, on_delivery=delivered)
    remaining = producer.flush(60)
    if remaining or failures:
        raise RuntimeError(f"centroids not acknowledged: {remaining} pending, errors {failures[:3]}")


def run_recluster(cfg: Settings, archive: Archive, search_index: SearchIndex, publish: bool = True,
                  progress: Callable[[str], None] = print) -> ReclusterReport:
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    rows = archive.topic_rows(FEATURES_VERSION)
    previous = archive.latest_cluster_members()
    seconds["read"] = round(time.perf_counter() - started, 3)
    progress(f"read {len(rows)} archived topic vectors and {len(previous)} previous clusters "
             f"({seconds['read']:.1f} s)")
    run_id = uuid.uuid4().hex[:12]
    created_at = datetime.now(UTC)
    if len(rows) < cfg.cluster_min_size:
        progress(f"fewer videos than CLUSTER_MIN_SIZE={cfg.cluster_min_size}: no clusters")
        run = ClusteringRun(clusters=[], noise=[row.video_id for row in rows], retired=sorted(previous))
    else:
        started = time.perf_counter()
        run = recluster([row.video_id for row in rows], np.stack([row.topic_embedding for row in rows]),
                        [row.keywords for row in rows], previous, min_cluster_size=cfg.cluster_min_size,
                        min_samples=cfg.cluster_min_samples, reduced_dims=cfg.cluster_reduced_dims,
                        match_min_jaccard=cfg.cluster_match_min_jaccard, max_radius=cfg.cluster_max_radius,
                        fit_max=cfg.cluster_fit_max)
        seconds["cluster"] = round(time.perf_counter() - started, 3)
        progress(f"hdbscan: {len(run.clusters)} clusters, {len(run.noise)} videos in none, "
                 f"{len(run.retired)} ids retired ({seconds['cluster']:.1f} s)")
    if publish:
        started = time.perf_counter()
        publish_centroids(cfg, run, run_id, created_at)
        archive.record_cluster_run(run_id, created_at, {c.cluster_id: list(c.members) for c in run.clusters})
        assignments = [(video_id, c.cluster_id, c.label) for c in run.clusters for video_id in c.members]
        assignments += [(video_id, None, None) for video_id in run.noise]
        moved = search_index.set_cluster(assignments)
        seconds["publish"] = round(time.perf_counter() - started, 3)
        progress(f"published {len(run.clusters)} centroids and {len(run.retired)} tombstones to "
                 f"{cfg.topic_cluster_centroids}; {moved} indexed videos moved to their clusters "
                 f"({seconds['publish']:.1f} s)")
    return ReclusterReport(run_id, len(rows), run, seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dry-run", action="store_true", help="cluster and print, publish nothing")
    args = parser.parse_args()
    cfg = Settings.from_env()
    ensure_topics(cfg)
    archive = Archive(cfg.clickhouse_dsn)
    try:
        archive.create_schema()
        search_index = IndexGeneration.live(cfg, Redis.from_url(cfg.redis_url)).create().search
        report = run_recluster(cfg, archive, search_index, publish=not args.dry_run)
    finally:
        archive.close()
    for cluster in report.run.clusters:
        print(f"  {cluster.cluster_id}  {len(cluster.members):>5} videos  radius {cluster.radius:.3f}  {cluster.label}")


if __name__ == "__main__":
    main()

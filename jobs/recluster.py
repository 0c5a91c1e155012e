"""The re-clustering job: hdbscan over every archived topic vector and every person's face descriptor, published as
the new cluster centroids.

``python -m jobs.recluster [--dry-run] [--only topics|people]``, for topics then people (core/clustering.py; the
same steps, each with its own space and settings):
1. reads every archived item of this features version from ClickHouse: a video's topic embedding and keywords, or
   a person seen in a video (``video_people``: their mean face descriptor);
2. clusters them (PCA, hdbscan, labels from keywords for topics), keeping the ids of clusters that match the
   previous run's (``cluster_members``, ``person_members``) by members;
3. publishes each cluster to its compacted topic (``cluster-centroids``, ``person-centroids``; key: cluster id) and
   a tombstone for every retired id; the workers' centroid agents load them into Redis, where new items are
   assigned;
4. records the run's members in ClickHouse and moves the indexed videos to their new clusters in the search
   index (so the ``cluster=`` and ``person=`` filters of search follow the run).
It runs beside the live workers: against the embedded archive it opens it between two of the archiver's batches
(storage/archive.py), against a ClickHouse server as one more client.
"""

from __future__ import annotations

import argparse
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

import numpy as np
from confluent_kafka import Producer
from redis import Redis

from core.clustering import PEOPLE_SPACE, TOPIC_SPACE, Cluster, ClusteringRun, recluster
from core.records import ClusterCentroid
from jobs.topics import ensure_topics
from pipeline.outputs import FEATURES_VERSION
from schemas.codec import encode_record
from settings import Settings
from storage.archive import Archive, ClusteredRow, split_person_key
from storage.generations import IndexGeneration
from storage.search_index import SearchIndex

Kind = Literal["topics", "people"]
KINDS: tuple[Kind, ...] = ("topics", "people")


@dataclass(frozen=True)
class ReclusterReport:
    run_id: str
    items: int  # videos (topics) or people seen in videos (people) read from the archive
    run: ClusteringRun
    seconds: dict[str, float]


def centroid_record(cluster: Cluster, run_id: str, created_at: datetime) -> ClusterCentroid:
    return ClusterCentroid(cluster_id=cluster.cluster_id, label=cluster.label, keywords=list(cluster.keywords),
                           centroid=cluster.centroid.astype(np.float32), radius=cluster.radius,
                           size=len(cluster.members), run_id=run_id, created_at=created_at)


def publish_centroids(cfg: Settings, run: ClusteringRun, run_id: str, created_at: datetime,
                      topic: str | None = None) -> None:
    """Every cluster, then a tombstone per retired id, to ``topic`` (default: the topic clusters' one),
    acknowledged by the broker before returning."""
    topic = topic or cfg.topic_cluster_centroids
    producer = Producer({**cfg.kafka_client_config(), "enable.idempotence": True})
    failures: list[str] = []

    def delivered(err: object, _msg: object) -> None:
        if err is not None:
            failures.append(str(err))

    for cluster in run.clusters:
        producer.produce(topic, key=cluster.cluster_id.encode(),
                         value=encode_record(centroid_record(cluster, run_id, created_at)),
                         on_delivery=delivered)
    for cluster_id in run.retired:
        producer.produce(topic, key=cluster_id.encode(), value=None, on_delivery=delivered)
    remaining = producer.flush(60)
    if remaining or failures:
        raise RuntimeError(f"centroids not acknowledged: {remaining} pending, errors {failures[:3]}")


def cluster_rows(cfg: Settings, kind: Kind, rows: list[ClusteredRow], previous: Mapping[str, Collection[str]]
                 ) -> ClusteringRun:
    """``recluster`` with the kind's space and settings (CLUSTER_* for topics, PEOPLE_* for people)."""
    ids = [row.item_id for row in rows]
    embeddings = np.stack([row.embedding for row in rows])
    keywords = [row.keywords for row in rows]
    shared = {"match_min_jaccard": cfg.cluster_match_min_jaccard, "fit_max": cfg.cluster_fit_max}
    if kind == "topics":
        return recluster(ids, embeddings, keywords, previous, space=TOPIC_SPACE, min_cluster_size=cfg.cluster_min_size,
                         min_samples=cfg.cluster_min_samples, reduced_dims=cfg.cluster_reduced_dims,
                         max_radius=cfg.cluster_max_radius, id_prefix="c", **shared)
    # A person cluster's radius is the same-person rule itself, not its members' spread: a cluster of two
    # appearances would otherwise only take faces nearer its centroid than those two (settings.py, PEOPLE_RADIUS).
    # Dense groups within that distance are one person: hdbscan alone made one cluster per photo of a person
    # (the videos of one photo lie 0.02-0.22 apart, other photos of the person 0.22-0.45; bench/faces_eval.py).
    return recluster(ids, embeddings, keywords, previous, space=PEOPLE_SPACE, min_cluster_size=cfg.people_min_size,
                     min_samples=cfg.people_min_samples, reduced_dims=cfg.people_reduced_dims,
                     max_radius=cfg.people_radius, min_radius=cfg.people_radius, merge_within=cfg.people_radius,
                     id_prefix="p", **shared)


def move_indexed_videos(search_index: SearchIndex, kind: Kind, run: ClusteringRun) -> int:
    """The search index's videos follow the run: their topic cluster, or the person id of each person seen."""
    if kind == "topics":
        assignments = [(video_id, c.cluster_id, c.label) for c in run.clusters for video_id in c.members]
        return search_index.set_cluster(assignments + [(video_id, None, None) for video_id in run.noise])
    people: dict[str, dict[int, str | None]] = defaultdict(dict)
    for cluster in run.clusters:
        for member in cluster.members:
            video_id, index = split_person_key(member)
            people[video_id][index] = cluster.cluster_id
    for member in run.noise:
        video_id, index = split_person_key(member)
        people[video_id][index] = None
    return search_index.set_people(people)


def run_recluster(cfg: Settings, archive: Archive, search_index: SearchIndex, publish: bool = True,
                  progress: Callable[[str], None] = print, kind: Kind = "topics") -> ReclusterReport:
    """Re-cluster one kind of item (topics or people), and unless not ``publish``, publish and record the run."""
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    people = kind == "people"
    rows = archive.person_rows(FEATURES_VERSION) if people else archive.topic_rows(FEATURES_VERSION)
    previous = archive.latest_cluster_members(people=people)
    seconds["read"] = round(time.perf_counter() - started, 3)
    what = "people seen in videos" if people else "topic vectors"
    progress(f"{kind}: read {len(rows)} archived {what} and {len(previous)} previous clusters "
             f"({seconds['read']:.1f} s)")
    run_id = uuid.uuid4().hex[:12]
    created_at = datetime.now(UTC)
    smallest, setting = (cfg.people_min_size, "PEOPLE_MIN_SIZE") if people \
        else (cfg.cluster_min_size, "CLUSTER_MIN_SIZE")
    if len(rows) < smallest:
        progress(f"{kind}: fewer items than {setting}={smallest}: no clusters")
        run = ClusteringRun(clusters=[], noise=[row.item_id for row in rows], retired=sorted(previous))
    else:
        started = time.perf_counter()
        run = cluster_rows(cfg, kind, rows, previous)
        seconds["cluster"] = round(time.perf_counter() - started, 3)
        progress(f"{kind}: hdbscan: {len(run.clusters)} clusters, {len(run.noise)} items in none, "
                 f"{len(run.retired)} ids retired ({seconds['cluster']:.1f} s)")
    if publish:
        started = time.perf_counter()
        topic = cfg.topic_person_centroids if people else cfg.topic_cluster_centroids
        publish_centroids(cfg, run, run_id, created_at, topic)
        archive.record_cluster_run(run_id, created_at, {c.cluster_id: list(c.members) for c in run.clusters},
                                   people=people)
        moved = move_indexed_videos(search_index, kind, run)
        seconds["publish"] = round(time.perf_counter() - started, 3)
        progress(f"{kind}: published {len(run.clusters)} centroids and {len(run.retired)} tombstones to {topic}; "
                 f"{moved} indexed videos moved to their clusters ({seconds['publish']:.1f} s)")
    return ReclusterReport(run_id, len(rows), run, seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dry-run", action="store_true", help="cluster and print, publish nothing")
    parser.add_argument("--only", choices=KINDS, help="re-cluster only topics or only people (default: both)")
    args = parser.parse_args()
    cfg = Settings.from_env()
    ensure_topics(cfg)
    archive = Archive(cfg.clickhouse_dsn)
    try:
        archive.create_schema()
        search_index = IndexGeneration.live(cfg, Redis.from_url(cfg.redis_url)).create().search
        for kind in [args.only] if args.only else KINDS:
            report = run_recluster(cfg, archive, search_index, publish=not args.dry_run, kind=kind)
            for cluster in report.run.clusters:
                print(f"  {cluster.cluster_id}  {len(cluster.members):>5} {'people' if kind == 'people' else 'videos'}"
                      f"  radius {cluster.radius:.3f}  {cluster.label}")
    finally:
        archive.close()


if __name__ == "__main__":
    main()

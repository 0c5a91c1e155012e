"""Rebuild the Redis indexes from history into a new generation and switch readers and writers to it.

``python -m streams.reindex [--keep-old]``

1. Generation n+1 (storage/generations.py) gets fresh, empty indexes (leftovers of an interrupted run are
   dropped first).
2. The cluster centroids are read from the compacted ``cluster-centroids`` topic into it, so videos are
   assigned as the workers assign them.
3. ``publish-video`` is read from its beginning to its current end and replayed, in publish order (the
   last event per video id), through the worker's pipeline code (streams/pipeline.py) into the new
   generation: copy index, search index and series results are rebuilt. Nothing is sent to Kafka; the
   archive gains rows only where it has none for this FEATURES_VERSION (after a model change: the new
   features). Undecodable or failing events are counted and skipped (they are on the dead-letter topic).
4. Each video's verdict and cluster are compared with the latest on the ``verdict`` and ``enriched`` topics
   (with the same models they are the same) and the differences printed.
5. One SET of the generation key (storage/generations.py) switches every worker (before its next event) and
   the search API (before its next request). Events published since step 3 began are then replayed too (live
   workers wrote them into the old generation until the switch), and the old generation is dropped unless
   ``--keep-old``.

With the embedded archive (chdb admits one process) stop the local worker while this runs.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from redis import Redis

from inference.errors import PipelineError
from inference.triton_client import TritonModels
from schemas.codec import SchemaError, decode
from settings import Settings
from storage.archive import Archive
from storage.cluster_index import Centroid, ClusterIndex
from storage.copy_index import CopyIndex
from storage.generations import current_generation, generation_settings, switch_generation
from storage.search_index import SearchIndex
from streams.pipeline import VideoPipeline
from streams.topic_reader import end_offsets, read_topic

PROGRESS_EVERY_S = 5.0


@dataclass
class ReindexReport:
    old_generation: int
    new_generation: int
    replayed: int = 0  # videos processed into the new generation
    undecodable: int = 0
    failed: Counter[str] = field(default_factory=Counter)  # error kind -> videos
    verdicts_same: int = 0
    clusters_same: int = 0
    compared: int = 0  # videos with an earlier verdict and enriched record to compare with
    differences: list[str] = field(default_factory=list)
    seconds: float = 0.0


def drop_generation(cfg: Settings, generation: int) -> None:
    """Drop a generation's indexes with their documents, and its other keys (signatures, cards, series)."""
    names = generation_settings(cfg, generation)
    client = Redis.from_url(cfg.redis_url)
    for index in (names.redis_frame_index, f"{names.redis_search_index}-chunks",
                  f"{names.redis_search_index}-frames", names.redis_cluster_index):
        if index.encode() in client.execute_command("FT._LIST"):
            client.execute_command("FT.DROPINDEX", index, "DD")
    frames = names.redis_frame_index
    for pattern in (f"signature:{frames}:*", f"series:{frames}:*", f"recurring:{frames}:*",
                    f"series-lock:{frames}:*", f"inflight:{frames}*", f"{names.redis_search_index}:video:*"):
        for batch in _batches(client.scan_iter(match=pattern, count=1000)):
            client.delete(*batch)


def _batches(keys: Iterable[bytes], size: int = 500) -> Iterator[list[bytes]]:
    batch: list[bytes] = []
    for key in keys:
        batch.append(key)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def load_centroids(cfg: Settings, clusters: ClusterIndex) -> int:
    """The latest centroid per cluster id from the compacted topic (a null value retires the id)."""
    latest: dict[str, dict[str, Any] | None] = {}
    for message in read_topic(cfg, cfg.topic_cluster_centroids):
        key = message.key().decode()
        try:
            latest[key] = None if message.value() is None else decode("ClusterCentroid", message.value())
        except SchemaError:
            continue  # the worker skips it too
    for record in latest.values():
        if record is not None:
            clusters.upsert(Centroid(cluster_id=record["cluster_id"], label=record["label"],
                                     keywords=tuple(record["keywords"]),
                                     centroid=np.asarray(record["centroid"], np.float32), radius=record["radius"],
                                     size=record["size"], run_id=record["run_id"]))
    return sum(1 for record in latest.values() if record is not None)


def published_events(cfg: Settings, start: dict[int, int] | None, end: dict[int, int],
                     report: ReindexReport) -> list[dict[str, Any]]:
    """The decodable events between the offsets, the last one per video id, in publish order."""
    events: dict[str, dict[str, Any]] = {}
    for message in read_topic(cfg, cfg.topic_publish, start, end):
        try:
            event = decode("VideoPublished", message.value())
        except SchemaError:
            report.undecodable += 1
            continue
        events[event["video_id"]] = event
    return sorted(events.values(), key=lambda e: (e["published_at"], e["video_id"]))


def latest_outputs(cfg: Settings) -> dict[str, dict[str, Any]]:
    """Per video id, the latest verdict (verdict, duplicate_of) and cluster id the live workers sent."""
    latest: dict[str, dict[str, Any]] = {}
    for topic, schema in ((cfg.topic_verdict, "DuplicateVerdict"), (cfg.topic_enriched, "EnrichedVideo")):
        for message in read_topic(cfg, topic):
            try:
                record = decode(schema, message.value())
            except SchemaError:
                continue
            entry = latest.setdefault(record["video_id"], {})
            if schema == "DuplicateVerdict":
                entry["verdict"] = (record["verdict"], record["duplicate_of"])
            else:
                entry["cluster_id"] = record["cluster_id"]
    return latest


async def replay(pipeline: VideoPipeline, events: list[dict[str, Any]], report: ReindexReport,
                 results: dict[str, dict[str, Any]], progress: Callable[[str], None]) -> None:
    started = last = time.perf_counter()
    for n, event in enumerate(events, start=1):
        try:
            outcome = await pipeline.process(event)
        except PipelineError as exc:
            report.failed[exc.kind] += 1
            continue
        report.replayed += 1
        results[event["video_id"]] = {"verdict": (outcome.verdict["verdict"], outcome.verdict["duplicate_of"]),
                                      "cluster_id": outcome.enriched["cluster_id"]}
        now = time.perf_counter()
        if now - last >= PROGRESS_EVERY_S or n == len(events):
            rate = n / (now - started)
            progress(f"  replayed {n}/{len(events)} ({rate:.1f} videos/s, {(len(events) - n) / rate:.0f} s left)")
            last = now


def compare(report: ReindexReport, results: dict[str, dict[str, Any]], before: dict[str, dict[str, Any]]) -> None:
    for video_id, result in results.items():
        earlier = before.get(video_id, {})
        if "verdict" not in earlier or "cluster_id" not in earlier:
            continue
        report.compared += 1
        report.verdicts_same += earlier["verdict"] == result["verdict"]
        report.clusters_same += earlier["cluster_id"] == result["cluster_id"]
        if earlier["verdict"] != result["verdict"] or earlier["cluster_id"] != result["cluster_id"]:
            report.differences.append(f"{video_id}: verdict {earlier['verdict']} -> {result['verdict']}, "
                                      f"cluster {earlier['cluster_id']} -> {result['cluster_id']}")


async def run_reindex(cfg: Settings, archive: Archive, keep_old: bool = False,
                      progress: Callable[[str], None] = print) -> ReindexReport:
    client = Redis.from_url(cfg.redis_url)
    old = current_generation(client, cfg)
    report = ReindexReport(old, old + 1)
    started = time.perf_counter()
    drop_generation(cfg, report.new_generation)  # what an interrupted run may have left
    new = generation_settings(cfg, report.new_generation)
    copy_index = CopyIndex(new.redis_url, new.redis_frame_index)
    search_index = SearchIndex(new.redis_url, new.redis_search_index)
    clusters = ClusterIndex(new.redis_url, new.redis_cluster_index)
    for index in (copy_index, search_index, clusters):
        index.create()
    progress(f"generation {report.new_generation}: {load_centroids(cfg, clusters)} cluster centroids loaded")
    models = TritonModels(new)
    pipeline = VideoPipeline(new, copy_index, archive, models, search_index, clusters)
    results: dict[str, dict[str, Any]] = {}
    try:
        snapshot = end_offsets(cfg, cfg.topic_publish)
        events = published_events(cfg, None, snapshot, report)
        progress(f"replaying {len(events)} videos of {cfg.topic_publish} into generation {report.new_generation}")
        await replay(pipeline, events, report, results, progress)
        compare(report, results, latest_outputs(cfg))
        switch_generation(client, cfg, report.new_generation)
        progress(f"switched to generation {report.new_generation}")
        late = published_events(cfg, snapshot, end_offsets(cfg, cfg.topic_publish), report)
        if late:
            progress(f"replaying {len(late)} videos published meanwhile")
            await replay(pipeline, late, report, results, progress)
    finally:
        await models.close()
    if not keep_old:
        drop_generation(cfg, old)
        progress(f"generation {old} dropped")
    report.seconds = time.perf_counter() - started
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--keep-old", action="store_true", help="keep the previous generation's indexes")
    args = parser.parse_args()
    cfg = Settings.from_env()
    archive = Archive(cfg.clickhouse_dsn)
    try:
        archive.create_schema()
        report = asyncio.run(run_reindex(cfg, archive, args.keep_old))
    finally:
        archive.close()
    failed = ", ".join(f"{kind} {count}" for kind, count in report.failed.items()) or "none"
    print(f"generation {report.old_generation} -> {report.new_generation} in {report.seconds:.0f} s: "
          f"{report.replayed} videos indexed; undecodable events {report.undecodable}; failed: {failed}")
    print(f"compared with the live outputs: verdicts {report.verdicts_same}/{report.compared} the same, "
          f"clusters {report.clusters_same}/{report.compared} the same")
    for line in report.differences:
        print(f"  differs: {line}")


if __name__ == "__main__":
    main()

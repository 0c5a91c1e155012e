"""Rebuild the Redis indexes from history into a new generation and switch readers and writers to it.

``python -m jobs.reindex [--keep-old]``

1. Generation n+1 (storage/generations.py) gets fresh, empty indexes (leftovers of an interrupted run are
   dropped first).
2. The cluster centroids are read from the compacted ``cluster-centroids`` and ``person-centroids`` topics into
   it, so videos and the people in them are assigned as the workers assign them.
3. ``publish-video`` is read from its beginning to its current end and replayed, in publish order, through the
   stages' code (pipeline/copy_stage.py, then pipeline/enrichment_stage.py) into the new generation: copy index,
   search index and series results are rebuilt. A video id's distinct events are judged in the order they were
   published, so it is bound to its first media as it was live (a later event with other media is refused as
   conflicting_event), and its last accepted event is enriched. Nothing is sent to the output topics; archive
   records go to the ``archive`` topic, where the archiver keeps only those it has none of for this
   FEATURES_VERSION (after a model change: the new features).
   Undecodable or failing events are counted and skipped (they are on the dead-letter topic), and so are deleted
   videos (jobs/delete_video.py).
4. Each video's verdict and cluster are compared with the latest on the ``verdict`` and ``enriched`` topics
   (with the same models they are the same) and the differences printed.
5. One SET of the generation key (storage/generations.py) switches every worker (before its next event) and
   the search API (before its next request). Events published since step 3 began are then replayed too (live
   workers wrote them into the old generation until the switch), and the old generation is dropped unless
   ``--keep-old``.

It runs beside the live workers: it reads topics outside their consumer groups, writes only to its own
generation until the switch, and never opens the archive itself.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import Producer
from redis import Redis

from core.errors import PipelineError
from core.records import ArchivedVideo, ClusterCentroid, DuplicateVerdict, EnrichedVideo, VideoPublished
from inference.triton_client import TritonModels
from jobs.topic_reader import end_offsets, read_topic
from pipeline.copy_stage import CopyStage, Judged
from pipeline.enrichment_stage import EnrichmentStage
from schemas.codec import SchemaError, decode_record, encode_record
from settings import Settings
from storage.cluster_index import ClusterIndex
from storage.generations import IndexGeneration, current_generation, switch_generation
from telemetry.progress import track


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
    deleted: int = 0  # videos deleted since they were published: not replayed into the search index
    differences: list[str] = field(default_factory=list)
    seconds: float = 0.0


def load_centroids(cfg: Settings, clusters: ClusterIndex, topic: str) -> int:
    """The latest centroid per cluster id from a compacted centroid topic (a null value retires the id)."""
    latest: dict[str, ClusterCentroid | None] = {}
    for message in read_topic(cfg, topic):
        key = message.key().decode()
        try:
            latest[key] = None if message.value() is None else decode_record(ClusterCentroid, message.value())
        except SchemaError:
            continue  # the worker skips it too
    loaded = [record for record in latest.values() if record is not None and clusters.fits(record)]  # as the worker
    for record in loaded:
        clusters.upsert(record)
    return len(loaded)


def published_events(cfg: Settings, start: dict[int, int] | None, end: dict[int, int],
                     report: ReindexReport) -> list[list[VideoPublished]]:
    """The decodable events between the offsets, per video id its distinct events in the order the topic holds
    them (one partition per id), the ids in publish order of their last event."""
    events: dict[str, list[VideoPublished]] = {}
    for message in read_topic(cfg, cfg.topic_publish, start, end):
        try:
            event = decode_record(VideoPublished, message.value())
        except SchemaError:
            report.undecodable += 1
            continue
        same_id = events.setdefault(event.video_id, [])
        if event not in same_id:  # else a replay or re-drive of an event already there
            same_id.append(event)
    return sorted(events.values(), key=lambda group: (group[-1].published_at, group[-1].video_id))


def latest_outputs(cfg: Settings) -> dict[str, dict[str, Any]]:
    """Per video id, the latest verdict (verdict, duplicate_of) and cluster id the live workers sent."""
    latest: dict[str, dict[str, Any]] = {}
    for message in read_topic(cfg, cfg.topic_verdict):
        try:
            verdict = decode_record(DuplicateVerdict, message.value())
        except SchemaError:
            continue
        latest.setdefault(verdict.video_id, {})["verdict"] = (verdict.verdict, verdict.duplicate_of)
    for message in read_topic(cfg, cfg.topic_enriched):
        try:
            enriched = decode_record(EnrichedVideo, message.value())
        except SchemaError:
            continue
        latest.setdefault(enriched.video_id, {})["cluster_id"] = enriched.cluster_id
    return latest


@dataclass
class Replayer:
    """Both stages on one generation, and the archive topic their archive records go to."""

    copies: CopyStage
    enrichment: EnrichmentStage
    archive: Producer
    archive_topic: str

    def send_archived(self, archived: ArchivedVideo) -> None:
        self.archive.produce(self.archive_topic, key=archived.video_id.encode(), value=encode_record(archived))
        self.archive.poll(0)

    def flush(self) -> None:
        if remaining := self.archive.flush(60):
            raise RuntimeError(f"{remaining} archive records not acknowledged by the broker")


async def judge_in_order(replayer: Replayer, events: list[VideoPublished],
                         report: ReindexReport) -> tuple[VideoPublished, Judged] | None:
    """One video id's events judged in the order they were published (as live: the first accepted binds the id to
    its media); the last one accepted, with its verdict."""
    accepted = None
    for event in events:
        try:
            accepted = (event, await replayer.copies.judge(event))
        except PipelineError as exc:
            report.failed[exc.kind] += 1
    return accepted


async def replay(replayer: Replayer, events: list[list[VideoPublished]], report: ReindexReport,
                 results: dict[str, dict[str, Any]]) -> None:
    for same_id in track(events, len(events), "replayed", "videos"):
        if (accepted := await judge_in_order(replayer, same_id, report)) is None:
            continue
        event, judged = accepted
        try:
            enriched = await replayer.enrichment.enrich(event, judged.verdict)
        except PipelineError as exc:
            report.failed[exc.kind] += 1
            continue
        if enriched is None:
            report.deleted += 1
            continue
        replayer.send_archived(enriched.archived)
        report.replayed += 1
        results[event.video_id] = {"verdict": (judged.verdict.verdict, judged.verdict.duplicate_of),
                                   "cluster_id": enriched.enriched.cluster_id}


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


async def run_reindex(cfg: Settings, keep_old: bool = False, progress: Callable[[str], None] = print) -> ReindexReport:
    client = Redis.from_url(cfg.redis_url)
    old = current_generation(client, cfg)
    report = ReindexReport(old, old + 1)
    started = time.perf_counter()
    new = IndexGeneration.open(cfg, report.new_generation)
    new.drop()  # what an interrupted run may have left
    new.create()
    progress(f"generation {report.new_generation}: "
             f"{load_centroids(cfg, new.clusters, cfg.topic_cluster_centroids)} topic cluster centroids and "
             f"{load_centroids(cfg, new.people, cfg.topic_person_centroids)} person cluster centroids loaded")
    models = TritonModels(cfg)
    replayer = Replayer(CopyStage(cfg, new, models), EnrichmentStage(cfg, new, models),
                        Producer({**cfg.kafka_client_config(), "enable.idempotence": True}),
                        cfg.topic_archive)
    results: dict[str, dict[str, Any]] = {}
    try:
        snapshot = end_offsets(cfg, cfg.topic_publish)
        events = published_events(cfg, None, snapshot, report)
        progress(f"replaying {len(events)} videos of {cfg.topic_publish} into generation {report.new_generation}")
        await replay(replayer, events, report, results)
        replayer.flush()
        compare(report, results, latest_outputs(cfg))
        switch_generation(client, cfg, report.new_generation)
        progress(f"switched to generation {report.new_generation}")
        late = published_events(cfg, snapshot, end_offsets(cfg, cfg.topic_publish), report)
        if late:
            progress(f"replaying {len(late)} videos published meanwhile")
            await replay(replayer, late, report, results)
            replayer.flush()
    finally:
        await models.close()
    if not keep_old:
        IndexGeneration.open(cfg, old).drop()
        progress(f"generation {old} dropped")
    report.seconds = time.perf_counter() - started
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--keep-old", action="store_true", help="keep the previous generation's indexes")
    args = parser.parse_args()
    cfg = Settings.from_env()
    report = asyncio.run(run_reindex(cfg, args.keep_old))
    failed = ", ".join(f"{kind} {count}" for kind, count in report.failed.items()) or "none"
    print(f"generation {report.old_generation} -> {report.new_generation} in {report.seconds:.0f} s: "
          f"{report.replayed} videos indexed; deleted videos skipped {report.deleted}; undecodable events "
          f"{report.undecodable}; failed: {failed}")
    print(f"compared with the live outputs: verdicts {report.verdicts_same}/{report.compared} the same, "
          f"clusters {report.clusters_same}/{report.compared} the same")
    for line in report.differences:
        print(f"  differs: {line}")


if __name__ == "__main__":
    main()

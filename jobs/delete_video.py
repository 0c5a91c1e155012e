"""Delete videos: ``python -m jobs.delete_video VIDEO_ID [VIDEO_ID ...]``, when their owners delete them.

In order:
1. the ids join the deleted-videos set (storage/deleted_videos.py): from then on the enrichment stage does not
   enrich them and the archiver drops their records, so a request in flight, a replayed event or a reindex never
   brings them back;
2. the search index (the generation in use, and the next one if a reindex is building it) forgets them: card
   (with the face descriptors an exact copy would reuse), chunks and frames. They are no longer found, listed
   under a person, or suggested;
3. the archive loses every row of theirs (storage/archive.py PER_VIDEO_TABLES: the videos, their frames, chunks,
   people with their face descriptors, enriched records, and their places in topic and person clusters).

Left as they are: the copy index's fingerprints (PDQ frames, chromaprint; not biometric: a re-upload of deleted
content is still recognised as a copy); their records on the Kafka topics until the topics' retention (the
``archive`` topic's face descriptors: TOPIC_ARCHIVE_RETENTION_HOURS); and the person-cluster centroids they
helped average (each over PEOPLE_MIN_SIZE people or more) until the next ``python -m jobs.recluster``, which no
longer reads them.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from redis import Redis

from settings import Settings
from storage.archive import Archive
from storage.deleted_videos import DeletedVideos
from storage.generations import IndexGeneration, current_generation


@dataclass(frozen=True)
class DeletionReport:
    videos: int
    unindexed: int  # search-index entries removed (a video may be in two generations during a reindex)
    archived_rows: dict[str, int]  # rows removed per archive table


def delete_videos(cfg: Settings, archive: Archive, video_ids: Sequence[str],
                  progress: Callable[[str], None] = print) -> DeletionReport:
    ids = sorted(set(video_ids))
    client = Redis.from_url(cfg.redis_url)
    DeletedVideos(client, cfg.redis_deleted_videos).add(ids)
    progress(f"{len(ids)} videos marked deleted: no stage enriches or archives them any more")
    live = current_generation(client, cfg)
    unindexed = 0
    for number in (live, live + 1):
        search = IndexGeneration.open(cfg, number).search
        unindexed += sum(search.delete_video(video_id) for video_id in ids)
    progress(f"search index: {unindexed} videos removed (cards with their face data, chunks, frames)")
    rows = archive.delete_videos(ids)
    progress("archive: " + ", ".join(f"{table} {count}" for table, count in rows.items()) + " rows removed")
    return DeletionReport(len(ids), unindexed, rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("video_ids", nargs="+", metavar="VIDEO_ID")
    args = parser.parse_args()
    cfg = Settings.from_env()
    archive = Archive(cfg.clickhouse_dsn)
    try:
        archive.create_schema()
        delete_videos(cfg, archive, args.video_ids)
    finally:
        archive.close()


if __name__ == "__main__":
    main()

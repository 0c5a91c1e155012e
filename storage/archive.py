"""The ClickHouse embedding archive, through clickhouse-connect.

``CLICKHOUSE_DSN`` picks the engine: ``chdb:///abs/dir`` is the embedded engine (one process at a
time may open a directory), ``http://host:8123`` a real server. The SQL is the same.

Writes are idempotent, so replaying ``publish-video`` never adds a second row:
- a video already archived with the same features version is skipped (point lookup on the key);
- each insert carries an ``insert_deduplication_token``, so a retried block is dropped by ClickHouse;
- tables are ReplacingMergeTree on their natural key, so any race still collapses to one row.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pyarrow as pa

from core.records import ArchiveRef
from core.recurring_segments import RecurringSegment
from core.text import TextChunk

VIDEOS_DDL = """
CREATE TABLE IF NOT EXISTS videos (
    video_id String,
    features_version LowCardinality(String),
    channel_id String,
    published_at DateTime64(3, 'UTC'),
    duration_s Float32,
    title String,
    verdict LowCardinality(String),
    duplicate_of Nullable(String),
    frame_count UInt32,
    text_embedding Array(Float32) CODEC(LZ4),
    archived_at DateTime64(3, 'UTC'),
    topic_embedding Array(Float32) CODEC(LZ4),
    keywords Array(String),
    cluster_id Nullable(String)
) ENGINE = ReplacingMergeTree(archived_at)
ORDER BY (video_id, features_version)
SETTINGS non_replicated_deduplication_window = 10000
"""

FRAMES_DDL = """
CREATE TABLE IF NOT EXISTS video_frames (
    video_id String,
    features_version LowCardinality(String),
    frame_index UInt32,
    t_s Float32,
    pdq_hex FixedString(64),
    pdq_quality UInt8
) ENGINE = ReplacingMergeTree
ORDER BY (video_id, features_version, frame_index)
SETTINGS non_replicated_deduplication_window = 10000
"""


# Columns added to ``videos`` after its first release: an archive made by an older version gets them (empty).
VIDEOS_ADDED_COLUMNS = ("topic_embedding Array(Float32) CODEC(LZ4)", "keywords Array(String)",
                        "cluster_id Nullable(String)")

CHUNKS_DDL = """
CREATE TABLE IF NOT EXISTS video_chunks (
    video_id String,
    features_version LowCardinality(String),
    chunk_index UInt32,
    kind LowCardinality(String),
    start_s Float32,
    end_s Float32,
    text String,
    embedding Array(Float32) CODEC(LZ4)
) ENGINE = ReplacingMergeTree
ORDER BY (video_id, features_version, chunk_index)
SETTINGS non_replicated_deduplication_window = 10000
"""

CLUSTER_MEMBERS_DDL = """
CREATE TABLE IF NOT EXISTS cluster_members (
    run_id String,
    run_at DateTime64(3, 'UTC'),
    cluster_id String,
    video_id String
) ENGINE = ReplacingMergeTree
ORDER BY (run_at, run_id, cluster_id, video_id)
"""

ENRICHED_DDL = """
CREATE TABLE IF NOT EXISTS enriched_records (
    video_id String,
    features_version LowCardinality(String),
    revision UInt64,
    record String CODEC(ZSTD)
) ENGINE = ReplacingMergeTree(revision)
ORDER BY (video_id, features_version)
SETTINGS non_replicated_deduplication_window = 10000
"""

RECURRING_DDL = """
CREATE TABLE IF NOT EXISTS recurring_segments (
    video_id String,
    features_version LowCardinality(String),
    series_id String,
    revision UInt64,
    kinds Array(LowCardinality(String)),
    starts_s Array(Float32),
    ends_s Array(Float32),
    shared_with Array(Array(String))
) ENGINE = ReplacingMergeTree(revision)
ORDER BY (video_id, features_version)
SETTINGS non_replicated_deduplication_window = 10000
"""


@dataclass(frozen=True)
class ArchiveRecord:
    """Everything archived for one processed video."""

    video_id: str
    features_version: str
    channel_id: str
    published_at: datetime
    duration_s: float
    title: str
    verdict: str
    duplicate_of: str | None
    text_embedding: np.ndarray
    frame_times_s: list[float]
    frame_pdq_hex: list[str]
    frame_pdq_quality: list[int]
    topic_embedding: np.ndarray | None = None  # None: the video has no text
    keywords: list[str] = field(default_factory=list)
    cluster_id: str | None = None  # assigned on arrival
    chunks: list[TextChunk] = field(default_factory=list)


@dataclass(frozen=True)
class TopicRow:
    """What re-clustering reads of one archived video."""

    video_id: str
    topic_embedding: np.ndarray
    keywords: list[str]


class Archive:
    VIDEOS, FRAMES, CHUNKS = "videos", "video_frames", "video_chunks"

    def __init__(self, dsn: str) -> None:
        import clickhouse_connect

        self.dsn = dsn
        self.client = clickhouse_connect.get_client(dsn=dsn)

    def create_schema(self) -> None:
        self.client.command(VIDEOS_DDL)
        for column in VIDEOS_ADDED_COLUMNS:
            self.client.command(f"ALTER TABLE videos ADD COLUMN IF NOT EXISTS {column}")
        self.client.command(FRAMES_DDL)
        self.client.command(CHUNKS_DDL)
        self.client.command(CLUSTER_MEMBERS_DDL)
        self.client.command(ENRICHED_DDL)
        self.client.command(RECURRING_DDL)

    def close(self) -> None:
        self.client.close()

    @classmethod
    def reference(cls, features_version: str) -> ArchiveRef:
        """Where a video's embeddings of ``features_version`` are (EnrichedVideo.archive)."""
        return ArchiveRef(videos_table=cls.VIDEOS, frames_table=cls.FRAMES, chunks_table=cls.CHUNKS,
                          features_version=features_version)

    def has_video(self, video_id: str, features_version: str) -> bool:
        result = self.client.query(
            "SELECT count() FROM videos WHERE video_id = {v:String} AND features_version = {f:String}",
            parameters={"v": video_id, "f": features_version},
        )
        return result.result_rows[0][0] > 0

    def archive(self, record: ArchiveRecord) -> bool:
        """Store one video; returns False when it was already archived (a replay)."""
        if self.has_video(record.video_id, record.features_version):
            return False
        token = f"{record.video_id}:{record.features_version}"
        n = len(record.frame_times_s)
        if n:
            frames = pa.table({
                "video_id": [record.video_id] * n,
                "features_version": [record.features_version] * n,
                "frame_index": pa.array(range(n), type=pa.uint32()),
                "t_s": pa.array(record.frame_times_s, type=pa.float32()),
                "pdq_hex": record.frame_pdq_hex,
                "pdq_quality": pa.array(record.frame_pdq_quality, type=pa.uint8()),
            })
            self.client.insert_arrow(self.FRAMES, frames, settings={"insert_deduplication_token": token})
        if record.chunks:
            count = len(record.chunks)
            chunks = pa.table({
                "video_id": [record.video_id] * count,
                "features_version": [record.features_version] * count,
                "chunk_index": pa.array(range(count), type=pa.uint32()),
                "kind": [chunk.kind for chunk in record.chunks],
                "start_s": pa.array([chunk.start_s for chunk in record.chunks], type=pa.float32()),
                "end_s": pa.array([chunk.end_s for chunk in record.chunks], type=pa.float32()),
                "text": [chunk.text for chunk in record.chunks],
                "embedding": pa.array([chunk.embedding.astype(np.float32) for chunk in record.chunks],
                                      type=pa.list_(pa.float32())),
            })
            self.client.insert_arrow(self.CHUNKS, chunks, settings={"insert_deduplication_token": token})
        # The videos row goes last: its presence marks the whole record as archived.
        video = pa.table({
            "video_id": [record.video_id],
            "features_version": [record.features_version],
            "channel_id": [record.channel_id],
            "published_at": pa.array([record.published_at], type=pa.timestamp("ms", tz="UTC")),
            "duration_s": pa.array([record.duration_s], type=pa.float32()),
            "title": [record.title],
            "verdict": [record.verdict],
            "duplicate_of": pa.array([record.duplicate_of], type=pa.string()),
            "frame_count": pa.array([n], type=pa.uint32()),
            "text_embedding": pa.array([record.text_embedding.astype(np.float32)], type=pa.list_(pa.float32())),
            "archived_at": pa.array([datetime.now(UTC)], type=pa.timestamp("ms", tz="UTC")),
            "topic_embedding": pa.array([np.zeros(0, np.float32) if record.topic_embedding is None
                                         else record.topic_embedding.astype(np.float32)], type=pa.list_(pa.float32())),
            "keywords": [record.keywords],
            "cluster_id": pa.array([record.cluster_id], type=pa.string()),
        })
        self.client.insert_arrow(self.VIDEOS, video, settings={"insert_deduplication_token": token})
        return True

    def latest_enriched(self, video_id: str, features_version: str) -> bytes | None:
        """The last archived EnrichedVideo message of a video (Avro single-object bytes), if any."""
        result = self.client.query(
            "SELECT record FROM enriched_records WHERE video_id = {v:String} AND features_version = {f:String} "
            "ORDER BY revision DESC LIMIT 1", parameters={"v": video_id, "f": features_version},
            column_formats={"record": "bytes"})
        return result.result_rows[0][0] if result.result_rows else None

    def archive_enriched(self, video_id: str, features_version: str, revision: int, record: bytes,
                         series_id: str | None, recurring: list[RecurringSegment]) -> None:
        """Store a revision of a video's enriched record (and, for a series episode, its recurring segments).
        The latest revision wins on merge."""
        token = f"{video_id}:{features_version}:{revision}"
        self.client.insert_arrow("enriched_records", pa.table({
            "video_id": [video_id], "features_version": [features_version],
            "revision": pa.array([revision], type=pa.uint64()), "record": pa.array([record], type=pa.binary()),
        }), settings={"insert_deduplication_token": token})
        if series_id is None:
            return
        self.client.insert_arrow("recurring_segments", pa.table({
            "video_id": [video_id], "features_version": [features_version], "series_id": [series_id],
            "revision": pa.array([revision], type=pa.uint64()),
            "kinds": [[segment.kind for segment in recurring]],
            "starts_s": pa.array([[segment.start_s for segment in recurring]], type=pa.list_(pa.float32())),
            "ends_s": pa.array([[segment.end_s for segment in recurring]], type=pa.list_(pa.float32())),
            "shared_with": [[list(segment.shared_with) for segment in recurring]],
        }), settings={"insert_deduplication_token": token})

    def topic_rows(self, features_version: str) -> list[TopicRow]:
        """Every archived video with a topic embedding (videos with no text have none), by video id."""
        table = self.client.query_arrow(
            "SELECT video_id, topic_embedding, keywords FROM videos FINAL "
            "WHERE features_version = {f:String} AND length(topic_embedding) > 0 ORDER BY video_id",
            parameters={"f": features_version})
        embeddings = table.column("topic_embedding").to_pylist()
        return [TopicRow(video_id, np.asarray(embedding, np.float32), keywords) for video_id, embedding, keywords
                in zip(table.column("video_id").to_pylist(), embeddings, table.column("keywords").to_pylist(),
                       strict=True)]

    def latest_cluster_members(self) -> dict[str, list[str]]:
        """The previous re-clustering run's clusters: cluster id -> member video ids (empty before any run)."""
        rows = self.client.query(
            "SELECT cluster_id, groupArray(video_id) FROM cluster_members "
            "WHERE run_id = (SELECT argMax(run_id, run_at) FROM cluster_members) GROUP BY cluster_id").result_rows
        return {cluster_id: sorted(members) for cluster_id, members in rows}

    def record_cluster_run(self, run_id: str, run_at: datetime, members: dict[str, list[str]]) -> None:
        pairs = [(cluster_id, video_id) for cluster_id, ids in sorted(members.items()) for video_id in ids]
        self.client.insert_arrow("cluster_members", pa.table({
            "run_id": [run_id] * len(pairs),
            "run_at": pa.array([run_at] * len(pairs), type=pa.timestamp("ms", tz="UTC")),
            "cluster_id": [cluster_id for cluster_id, _ in pairs], "video_id": [video_id for _, video_id in pairs],
        }), settings={"insert_deduplication_token": f"cluster-run:{run_id}"})

    def _where_ids(self, video_ids: Collection[str] | None) -> tuple[str, dict[str, Any]]:
        if video_ids is None:
            return "", {}
        return " WHERE has({ids:Array(String)}, video_id)", {"ids": sorted(video_ids)}

    def distinct_videos(self, video_ids: Collection[str] | None = None) -> int:
        """How many different video ids are archived, of ``video_ids`` if given (a replay must leave
        counts() equal to this)."""
        where, parameters = self._where_ids(video_ids)
        return self.client.query(f"SELECT uniqExact(video_id) FROM videos{where}",
                                 parameters=parameters).result_rows[0][0]

    def counts(self, video_ids: Collection[str] | None = None) -> dict[str, int]:
        """Physical row counts (not FINAL), of ``video_ids`` if given: what a duplicate insert would show up in."""
        where, parameters = self._where_ids(video_ids)
        return {
            table: self.client.query(f"SELECT count() FROM {table}{where}", parameters=parameters).result_rows[0][0]
            for table in (self.VIDEOS, self.FRAMES, self.CHUNKS, "enriched_records")
        }

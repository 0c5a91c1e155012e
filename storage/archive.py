"""The ClickHouse embedding archive, through clickhouse-connect, written by the archiver alone.

``CLICKHOUSE_DSN`` picks the engine: ``chdb:///abs/dir`` is the embedded engine, ``http://host:8123`` a real
server; the SQL is the same. The embedded engine admits one process at a time, so against it every operation
opens the engine, works and closes it again (~50 ms): the archiver between two batches, the re-clustering job
or a test can then each take their turn, waiting while another holds it (ARCHIVE_LOCK_WAIT_S).

The workers never open it: they send ArchivedVideo records to the archive topic, and the archiver
(streams/archiver.py) writes them here in batches, with the revisions of the enriched topic. Writes are
idempotent, so replaying an event never adds a second row: a video already archived with the same features
version is skipped (one query per batch), and the tables are ReplacingMergeTree on their natural key, so any
race still collapses to one row.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pyarrow as pa

from core.records import ArchivedVideo, ArchiveRef, EnrichedVideo

PDQ_HEX_CHARS = 64  # video_frames.pdq_hex is a FixedString(64)
# How long an operation waits for the embedded engine while another process holds it.
ARCHIVE_LOCK_WAIT_S = 120.0
_LOCKED = "Failed to create connection"  # what chdb answers while another process has the directory open


class ArchiveBusy(RuntimeError):
    """The embedded archive stayed held by another process for ARCHIVE_LOCK_WAIT_S."""


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

PEOPLE_DDL = """
CREATE TABLE IF NOT EXISTS video_people (
    video_id String,
    features_version LowCardinality(String),
    person_index UInt32,
    first_s Float32,
    last_s Float32,
    faces UInt32,
    confidence Float32,
    embedding Array(Float32) CODEC(LZ4)
) ENGINE = ReplacingMergeTree
ORDER BY (video_id, features_version, person_index)
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

# The person clusters of each re-clustering run: a member is one person seen in a video (video_people's key).
PERSON_MEMBERS_DDL = """
CREATE TABLE IF NOT EXISTS person_members (
    run_id String,
    run_at DateTime64(3, 'UTC'),
    cluster_id String,
    video_id String,
    person_index UInt32
) ENGINE = ReplacingMergeTree
ORDER BY (run_at, run_id, cluster_id, video_id, person_index)
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


# Every table with rows per video (keyed by video_id): what deleting a video removes.
PER_VIDEO_TABLES = ("videos", "video_frames", "video_chunks", "video_people", "enriched_records", "recurring_segments",
                    "cluster_members", "person_members")


@dataclass(frozen=True)
class ClusteredRow:
    """What re-clustering reads of one archived item: a video's topic vector and keywords, or one person's face
    descriptor (``item_id`` is then ``person_key(video_id, person_index)``; no keywords)."""

    item_id: str
    embedding: np.ndarray
    keywords: list[str]


def person_key(video_id: str, person_index: int) -> str:
    """The id of a person seen in a video, as person clusters list their members."""
    return f"{video_id}#{person_index}"


def split_person_key(key: str) -> tuple[str, int]:
    video_id, _, index = key.rpartition("#")
    return video_id, int(index)


def _float_lists(rows: Sequence[np.ndarray]) -> pa.Array:
    return pa.array([np.asarray(row, np.float32) for row in rows], type=pa.list_(pa.float32()))


def _timestamps(values: Sequence[datetime]) -> pa.Array:
    return pa.array(values, type=pa.timestamp("ms", tz="UTC"))


def _items_table(videos: Sequence[ArchivedVideo], items_of: Callable[[ArchivedVideo], Sequence[Any]],
                 index_column: str, columns: dict[str, pa.DataType | None]) -> pa.Table:
    """One row per item of each video (its frames, chunks or people): the video's key, the item's index, and each
    of ``columns``, an attribute of the item (name -> its arrow type; None: a list of float32)."""
    rows = [(video, n, item) for video in videos for n, item in enumerate(items_of(video))]
    table = {"video_id": pa.array([v.video_id for v, _, _ in rows], type=pa.string()),
             "features_version": pa.array([v.features_version for v, _, _ in rows], type=pa.string()),
             index_column: pa.array([n for _, n, _ in rows], type=pa.uint32())}
    for name, arrow_type in columns.items():
        values = [getattr(item, name) for _, _, item in rows]
        table[name] = _float_lists(values) if arrow_type is None else pa.array(values, type=arrow_type)
    return pa.table(table)


def _video_tables(videos: Sequence[ArchivedVideo]) -> tuple[pa.Table, pa.Table, pa.Table, pa.Table]:
    """The rows of ``videos`` for the frames, chunks, people and videos tables (raises ValueError for a value a
    column cannot hold, e.g. a PDQ hash that is not 64 hex digits)."""
    if any(len(f.pdq_hex) != PDQ_HEX_CHARS for v in videos for f in v.frames):
        raise ValueError(f"a frame's pdq_hex is not {PDQ_HEX_CHARS} hex digits")
    return (
        _items_table(videos, lambda v: v.frames, "frame_index",
                     {"t_s": pa.float32(), "pdq_hex": pa.string(), "pdq_quality": pa.uint8()}),
        _items_table(videos, lambda v: v.chunks, "chunk_index",
                     {"kind": pa.string(), "start_s": pa.float32(), "end_s": pa.float32(), "text": pa.string(),
                      "embedding": None}),
        _items_table(videos, lambda v: v.people, "person_index",
                     {"first_s": pa.float32(), "last_s": pa.float32(), "faces": pa.uint32(),
                      "confidence": pa.float32(), "embedding": None}),
        pa.table({
            "video_id": [v.video_id for v in videos],
            "features_version": [v.features_version for v in videos],
            "channel_id": [v.channel_id for v in videos],
            "published_at": _timestamps([v.published_at for v in videos]),
            "duration_s": pa.array([v.duration_s for v in videos], type=pa.float32()),
            "title": [v.title for v in videos],
            "verdict": [v.verdict for v in videos],
            "duplicate_of": pa.array([v.duplicate_of for v in videos], type=pa.string()),
            "frame_count": pa.array([len(v.frames) for v in videos], type=pa.uint32()),
            "text_embedding": _float_lists([v.text_embedding for v in videos]),
            "archived_at": _timestamps([datetime.now(UTC)] * len(videos)),
            "topic_embedding": _float_lists([v.topic_embedding for v in videos]),
            "keywords": [v.keywords for v in videos],
            "cluster_id": pa.array([v.cluster_id for v in videos], type=pa.string()),
        }),
    )


class Archive:
    VIDEOS, FRAMES, CHUNKS, PEOPLE = "videos", "video_frames", "video_chunks", "video_people"

    def __init__(self, dsn: str) -> None:
        import clickhouse_connect

        self.dsn = dsn
        self._connect = clickhouse_connect.get_client
        self._embedded = dsn.startswith("chdb")
        self._client = None if self._embedded else clickhouse_connect.get_client(dsn=dsn)
        self._in_use = threading.Lock()  # one session at a time in this process, too

    @contextmanager
    def session(self) -> Iterator[Any]:
        """A clickhouse-connect client for one operation: the server's connection, or the embedded engine opened
        for it (waiting while another process holds it) and closed after."""
        with self._in_use:
            if not self._embedded:
                yield self._client
                return
            deadline = time.monotonic() + ARCHIVE_LOCK_WAIT_S
            delay = 0.05
            while True:
                try:
                    client = self._connect(dsn=self.dsn)
                    break
                except Exception as exc:  # noqa: BLE001 - chdb raises a ProgrammingError naming the cause
                    if _LOCKED not in str(exc):
                        raise
                    if time.monotonic() > deadline:
                        raise ArchiveBusy(f"{self.dsn} stayed held by another process for "
                                          f"{ARCHIVE_LOCK_WAIT_S:.0f} s") from exc
                    time.sleep(delay)
                    delay = min(delay * 2, 1.0)
            try:
                yield client
            finally:
                client.close()

    def create_schema(self) -> None:
        with self.session() as client:
            client.command(VIDEOS_DDL)
            for column in VIDEOS_ADDED_COLUMNS:
                client.command(f"ALTER TABLE videos ADD COLUMN IF NOT EXISTS {column}")
            for ddl in (FRAMES_DDL, CHUNKS_DDL, PEOPLE_DDL, CLUSTER_MEMBERS_DDL, PERSON_MEMBERS_DDL, ENRICHED_DDL,
                        RECURRING_DDL):
                client.command(ddl)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()

    @classmethod
    def reference(cls, features_version: str) -> ArchiveRef:
        """Where a video's embeddings of ``features_version`` are (EnrichedVideo.archive)."""
        return ArchiveRef(videos_table=cls.VIDEOS, frames_table=cls.FRAMES, chunks_table=cls.CHUNKS,
                          features_version=features_version)

    def write_videos(self, videos: Sequence[ArchivedVideo]) -> int:
        """Store a batch of videos in one insert per table, skipping those already archived with their features
        version (and repeats within the batch); returns how many were new."""
        with self.session() as client:
            keys = sorted({(v.video_id, v.features_version) for v in videos})
            present = {(row[0], row[1]) for row in client.query(
                "SELECT video_id, features_version FROM videos "
                "WHERE (video_id, features_version) IN {keys:Array(Tuple(String, String))}",
                parameters={"keys": keys}).result_rows} if keys else set()
            fresh: dict[tuple[str, str], ArchivedVideo] = {}
            for video in videos:
                key = (video.video_id, video.features_version)
                if key not in present:
                    fresh.setdefault(key, video)
            if not fresh:
                return 0
            new = list(fresh.values())
            tables = _video_tables(new)  # all converted before the first insert: a bad value stops nothing half-way
            for table, rows in zip((self.FRAMES, self.CHUNKS, self.PEOPLE, self.VIDEOS), tables, strict=True):
                if rows.num_rows:
                    # the videos rows go last: a row there marks its video's frames, chunks and people as written
                    client.insert_arrow(table, rows)
            return len(new)

    def write_enriched(self, records: Sequence[tuple[EnrichedVideo, bytes]]) -> int:
        """Store revisions of enriched records ((record, its message bytes); the revision is its processed_at),
        skipping those already stored, with a series episode's recurring segments. The latest revision wins."""
        revisions = {(r.video_id, r.archive.features_version, int(r.processed_at.timestamp() * 1000)): (r, data)
                     for r, data in records}
        with self.session() as client:
            present = {tuple(row) for row in client.query(
                "SELECT video_id, features_version, revision FROM enriched_records "
                "WHERE (video_id, features_version, revision) IN {keys:Array(Tuple(String, String, UInt64))}",
                parameters={"keys": sorted(revisions)}).result_rows} if revisions else set()
            new = [(key, record, data) for key, (record, data) in sorted(revisions.items()) if key not in present]
            if not new:
                return 0
            client.insert_arrow("enriched_records", pa.table({
                "video_id": [key[0] for key, _, _ in new], "features_version": [key[1] for key, _, _ in new],
                "revision": pa.array([key[2] for key, _, _ in new], type=pa.uint64()),
                "record": pa.array([data for _, _, data in new], type=pa.binary()),
            }))
            episodes = [(key, record) for key, record, _ in new if record.series_id is not None]
            if episodes:
                client.insert_arrow("recurring_segments", pa.table({
                    "video_id": [key[0] for key, _ in episodes], "features_version": [key[1] for key, _ in episodes],
                    "series_id": [record.series_id for _, record in episodes],
                    "revision": pa.array([key[2] for key, _ in episodes], type=pa.uint64()),
                    "kinds": [[s.kind for s in record.recurring_segments] for _, record in episodes],
                    "starts_s": pa.array([[s.start_s for s in record.recurring_segments] for _, record in episodes],
                                         type=pa.list_(pa.float32())),
                    "ends_s": pa.array([[s.end_s for s in record.recurring_segments] for _, record in episodes],
                                       type=pa.list_(pa.float32())),
                    "shared_with": [[list(s.shared_with) for s in record.recurring_segments] for _, record in episodes],
                }))
            return len(new)

    def latest_enriched(self, video_id: str, features_version: str) -> bytes | None:
        """The last archived EnrichedVideo message of a video (Avro single-object bytes), if any."""
        with self.session() as client:
            result = client.query(
                "SELECT record FROM enriched_records WHERE video_id = {v:String} AND features_version = {f:String} "
                "ORDER BY revision DESC LIMIT 1", parameters={"v": video_id, "f": features_version},
                column_formats={"record": "bytes"})
        return result.result_rows[0][0] if result.result_rows else None

    def topic_rows(self, features_version: str) -> list[ClusteredRow]:
        """Every archived video with a topic embedding (videos with no text have none), by video id."""
        with self.session() as client:
            table = client.query_arrow(
                "SELECT video_id, topic_embedding, keywords FROM videos FINAL "
                "WHERE features_version = {f:String} AND length(topic_embedding) > 0 ORDER BY video_id",
                parameters={"f": features_version})
        return [ClusteredRow(video_id, np.asarray(embedding, np.float32), keywords) for video_id, embedding, keywords
                in zip(table.column("video_id").to_pylist(), table.column("topic_embedding").to_pylist(),
                       table.column("keywords").to_pylist(), strict=True)]

    def person_rows(self, features_version: str) -> list[ClusteredRow]:
        """Every person seen in an archived video, with their mean face descriptor, by video id and person."""
        with self.session() as client:
            table = client.query_arrow(
                "SELECT video_id, person_index, embedding FROM video_people FINAL "
                "WHERE features_version = {f:String} ORDER BY video_id, person_index",
                parameters={"f": features_version})
        return [ClusteredRow(person_key(video_id, index), np.asarray(embedding, np.float32), [])
                for video_id, index, embedding in zip(table.column("video_id").to_pylist(),
                                                      table.column("person_index").to_pylist(),
                                                      table.column("embedding").to_pylist(), strict=True)]

    def latest_cluster_members(self, people: bool = False) -> dict[str, list[str]]:
        """The previous re-clustering run's topic clusters (or person clusters): cluster id -> member ids (video
        ids, or person_key ids), empty before any run."""
        table, member = ("person_members", "concat(video_id, '#', toString(person_index))") if people \
            else ("cluster_members", "video_id")
        with self.session() as client:
            rows = client.query(
                f"SELECT cluster_id, groupArray({member}) FROM {table} "
                f"WHERE run_id = (SELECT argMax(run_id, run_at) FROM {table}) GROUP BY cluster_id").result_rows
        return {cluster_id: sorted(members) for cluster_id, members in rows}

    def record_cluster_run(self, run_id: str, run_at: datetime, members: dict[str, list[str]],
                           people: bool = False) -> None:
        """A run's clusters (cluster id -> member ids), read back by latest_cluster_members."""
        pairs = [(cluster_id, member) for cluster_id, ids in sorted(members.items()) for member in ids]
        columns: dict[str, Any] = {"run_id": [run_id] * len(pairs), "run_at": _timestamps([run_at] * len(pairs)),
                                   "cluster_id": [cluster_id for cluster_id, _ in pairs]}
        if people:
            keys = [split_person_key(member) for _, member in pairs]
            columns |= {"video_id": [video_id for video_id, _ in keys],
                        "person_index": pa.array([index for _, index in keys], type=pa.uint32())}
        else:
            columns["video_id"] = [member for _, member in pairs]
        with self.session() as client:
            client.insert_arrow("person_members" if people else "cluster_members", pa.table(columns),
                                settings={"insert_deduplication_token": f"cluster-run:{run_id}"})

    def delete_videos(self, video_ids: Collection[str]) -> dict[str, int]:
        """Remove every row of the videos from every table, rewriting the parts that hold them (a mutation, waited
        for: the rows are gone from disk, not only hidden, when this returns). Returns the rows removed per table."""
        ids = {"ids": sorted(video_ids)}
        removed = {}
        with self.session() as client:
            for table in PER_VIDEO_TABLES:
                removed[table] = client.query(f"SELECT count() FROM {table} WHERE has({{ids:Array(String)}}, video_id)",
                                              parameters=ids).result_rows[0][0]
                if removed[table]:
                    client.command(f"ALTER TABLE {table} DELETE WHERE has({{ids:Array(String)}}, video_id)",
                                   parameters=ids, settings={"mutations_sync": 2})
        return removed

    def _where_ids(self, video_ids: Collection[str] | None) -> tuple[str, dict[str, Any]]:
        if video_ids is None:
            return "", {}
        return " WHERE has({ids:Array(String)}, video_id)", {"ids": sorted(video_ids)}

    def distinct_videos(self, video_ids: Collection[str] | None = None) -> int:
        """How many different video ids are archived, of ``video_ids`` if given (a replay must leave
        counts() equal to this)."""
        where, parameters = self._where_ids(video_ids)
        with self.session() as client:
            return client.query(f"SELECT uniqExact(video_id) FROM videos{where}",
                                parameters=parameters).result_rows[0][0]

    def query(self, sql: str, parameters: dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
        """The rows of a read-only query (for tests and operators; the pipeline uses the methods above)."""
        with self.session() as client:
            return [tuple(row) for row in client.query(sql, parameters=parameters or {}).result_rows]

    def wait_for_videos(self, video_ids: Collection[str], timeout_s: float) -> int:
        """Wait until every one of ``video_ids`` is archived (the archiver writes in batches, after the stages), or
        ``timeout_s`` passed; returns how many are."""
        deadline = time.monotonic() + timeout_s
        while (archived := self.distinct_videos(video_ids)) < len(set(video_ids)) and time.monotonic() < deadline:
            time.sleep(0.5)
        return archived

    def counts(self, video_ids: Collection[str] | None = None) -> dict[str, int]:
        """Physical row counts (not FINAL), of ``video_ids`` if given: what a duplicate insert would show up in."""
        where, parameters = self._where_ids(video_ids)
        with self.session() as client:
            return {table: client.query(f"SELECT count() FROM {table}{where}", parameters=parameters).result_rows[0][0]
                    for table in (self.VIDEOS, self.FRAMES, self.CHUNKS, "enriched_records")}

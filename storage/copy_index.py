"""The real-time copy index in Redis: frame vectors for KNN (redisvl, HNSW), each video's signature for
verification, and the register of videos in flight.

- KNN index ``<name>``: one hash per (index frame, framing), key ``<name>:<video_id>:<frame>:<framing>``,
  holding the frame's PDQ bits as a 256-d +-1 vector. Squared L2 between two such vectors is 4 x their
  Hamming distance, so HNSW's L2 ranking is Hamming ranking.
- Signatures ``signature:<name>:<video_id>``: a hash with the video's frame times, packed PDQ hashes at
  every framing, PDQ quality and chromaprint fingerprint (~10 KB for 60 s), read back for alignment; for a
  video judged a full copy, also the earliest original it copies (``keep_original``), so that lookups can
  keep that original in view however many copies of it crowd the nearest neighbours.
- Media ``media:<name>:<video_id>``: the SHA-256 of the file the video was first accepted with; the id stays
  bound to it (``claim_media``: a re-publish with other bytes is refused, README "One video id, one media").
- Verdicts ``verdict:<name>:<video_id>``: the verdict first sent for the video (its encoded record), sent again
  as it is when the event is replayed (``keep_verdict``, ``kept_verdict``).
- In flight ``inflight:<name>``: a sorted set of videos being processed, by publish time, each with a
  ``inflight:<name>:<video_id>`` liveness key that expires if its worker dies. A video waits for every
  earlier-published video in flight to be indexed before it is judged, so two copies racing through
  different partitions never both come out as originals.

Every write is idempotent by key: replaying a video rewrites the same keys.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from dataclasses import dataclass

import numpy as np
from redis import Redis
from redisvl.index import SearchIndex
from redisvl.query import VectorQuery

from core.bits import PDQ_BITS, PDQ_BYTES, signed_vectors
from core.errors import PipelineError
from core.signature import FRAMINGS, INDEX_FRAMINGS, CopySignature
from storage.redis_keys import delete_matching

IN_FLIGHT_POLL_S = 0.05

log = logging.getLogger(__name__)


def copy_index_schema(name: str) -> dict:
    return {
        "index": {"name": name, "prefix": name, "storage_type": "hash"},
        "fields": [
            {"name": "video_id", "type": "tag"},
            {"name": "frame", "type": "numeric"},
            {"name": "t_s", "type": "numeric"},
            {"name": "published_at_ms", "type": "numeric"},
            {"name": "pdq", "type": "vector", "attrs": {
                "dims": PDQ_BITS, "algorithm": "hnsw", "distance_metric": "l2", "datatype": "float16",
                "m": 16, "ef_construction": 100}},
        ],
    }


class IndexSchemaError(RuntimeError):
    """The Redis index exists with a layout this version cannot use."""


@dataclass(frozen=True)
class Candidate:
    """An indexed video some query frames landed near."""

    video_id: str
    published_at_ms: int
    frames_hit: int  # distinct query frames with a neighbour from this video
    best_hamming: int
    view: str  # the query view that found it (CopySignature.query_views)


@dataclass(frozen=True)
class IndexedVideo:
    video_id: str
    published_at_ms: int
    signature: CopySignature  # as stored: no turned or tile hashes, no index frames


class CopyIndex:
    def __init__(self, redis_url: str, name: str) -> None:
        self.name = name
        self.client = Redis.from_url(redis_url)
        self.index = SearchIndex.from_dict(copy_index_schema(name), redis_client=self.client)
        self._in_flight = f"inflight:{name}"

    def create(self) -> None:
        """Create the KNN index if it does not exist (keeps existing data). An index of the same name with
        another vector layout (left by an older version) is refused with what to do, rather than every
        lookup failing later."""
        if self.index.exists():
            existing = SearchIndex.from_existing(self.name, redis_client=self.client).schema.fields.get("pdq")
            wanted = self.index.schema.fields["pdq"]
            if existing is None or (existing.attrs.dims, existing.attrs.datatype) != (wanted.attrs.dims,
                                                                                     wanted.attrs.datatype):
                raise IndexSchemaError(
                    f"Redis index {self.name!r} exists with another vector layout than this version's "
                    f"({wanted.attrs.dims}-d {wanted.attrs.datatype.value}): drop it (FT.DROPINDEX {self.name} DD) "
                    "and replay publish-video to rebuild it, or set REDIS_FRAME_INDEX to a new name")
            return
        self.index.create(overwrite=False)

    def drop(self) -> None:
        """Delete the KNN index with its documents, every stored signature, media binding and verdict, and the
        in-flight register."""
        if self.index.exists():
            self.index.delete(drop=True)
        delete_matching(self.client, self._signature_key("*"), self._media_key("*"), self._verdict_key("*"),
                        self._in_flight, f"{self._in_flight}:*")

    def _signature_key(self, video_id: str) -> str:
        return f"signature:{self.name}:{video_id}"

    def _media_key(self, video_id: str) -> str:
        return f"media:{self.name}:{video_id}"

    def _verdict_key(self, video_id: str) -> str:
        return f"verdict:{self.name}:{video_id}"

    def keep_verdict(self, video_id: str, verdict: bytes) -> None:
        """Keep the verdict decided for ``video_id`` (the first one kept stays)."""
        self.client.set(self._verdict_key(video_id), verdict, nx=True)

    def kept_verdict(self, video_id: str) -> bytes | None:
        """The verdict decided for ``video_id`` before, if any."""
        return self.client.get(self._verdict_key(video_id))

    def claim_media(self, video_id: str, digest: str) -> None:
        """Bind ``video_id`` to the media with SHA-256 ``digest`` unless it is bound already (atomically: of two
        racing claims one wins). Raises PipelineError (conflicting_event) if it is bound to other media."""
        pipe = self.client.pipeline(transaction=True)
        pipe.set(self._media_key(video_id), digest, nx=True)
        pipe.get(self._media_key(video_id))
        _, bound = pipe.execute()
        if bound.decode() != digest:
            raise PipelineError(f"video {video_id} was published before with other media (SHA-256 "
                                f"{bound.decode()[:16]}..., this file's {digest[:16]}...): a video id keeps its "
                                "first media; publish other media under a new id", kind="conflicting_event")

    def upsert(self, video_id: str, published_at_ms: int, signature: CopySignature) -> None:
        """Store the signature, then the index frames' vectors at every framing of INDEX_FRAMINGS."""
        self.client.hset(self._signature_key(video_id), mapping={
            "published_at_ms": published_at_ms, "duration_s": signature.duration_s,
            "times_s": signature.times_s.astype(np.float32).tobytes(),
            "cuts": signature.cuts.astype(np.uint8).tobytes(),
            "quality": signature.quality.astype(np.int16).tobytes(),
            "bits": signature.bits.astype(np.uint8).tobytes(),
            "audio": signature.audio_fingerprint.astype(np.int32).tobytes(),
        })
        docs, keys = [], []
        for framing in INDEX_FRAMINGS:
            framing_bits = signature.bits[framing]
            vectors = signed_vectors(framing_bits[signature.index_frames]) if signature.index_frames else []
            for frame, vector in zip(signature.index_frames, vectors, strict=True):
                docs.append({"video_id": video_id, "frame": frame, "t_s": float(signature.times_s[frame]),
                             "published_at_ms": published_at_ms, "pdq": vector.astype(np.float16).tobytes()})
                keys.append(f"{self.name}:{video_id}:{frame}:{framing}")
        if docs:
            self.index.load(docs, keys=keys)

    def keep_original(self, video_id: str, original_id: str, original_published_at_ms: int) -> None:
        """Record that ``video_id`` is a full copy of ``original_id`` (itself no copy of an earlier video)."""
        self.client.hset(self._signature_key(video_id), mapping={
            "original": original_id, "original_published_at_ms": original_published_at_ms})

    def originals(self, video_ids: list[str]) -> dict[str, tuple[str, int]]:
        """video id -> (its original, when that was published) for those of ``video_ids`` kept as full copies."""
        pipe = self.client.pipeline(transaction=False)
        for video_id in video_ids:
            pipe.hmget(self._signature_key(video_id), ["original", "original_published_at_ms"])
        return {video_id: (original.decode(), int(published))
                for video_id, (original, published) in zip(video_ids, pipe.execute(), strict=True)
                if original is not None}

    def candidates(self, views: dict[str, np.ndarray], video_id: str, published_until_ms: int, k: int,
                   max_hamming: int, ef_runtime: int) -> list[Candidate]:
        """Videos published no later than ``published_until_ms`` (other than ``video_id``) with frames within
        ``max_hamming`` of the query's. ``views`` maps a view name -> packed query hashes (n, 32).

        Both conditions are checked here rather than as query filters: a filtered KNN query costs Redis
        5-7x more (measured with bench/lookup_latency.py). ``k`` is widened by the slots the video's own
        frames can take, since it is indexed before it is looked up."""
        queries, query_views = [], []
        for view, packed in views.items():
            for vector in signed_vectors(packed):
                queries.append(VectorQuery(
                    vector=vector.astype(np.float16).tobytes(), vector_field_name="pdq", dtype="float16",
                    num_results=k + len(INDEX_FRAMINGS), return_fields=["video_id", "published_at_ms"],
                    ef_runtime=ef_runtime))
                query_views.append(view)
        hits: dict[tuple[str, str], list[tuple[int, int]]] = defaultdict(list)  # -> [(query n, hamming)]
        published: dict[str, int] = {}
        for n, (view, found) in enumerate(zip(query_views, self.index.batch_query(queries), strict=True)):
            for hit in found:
                distance = round(float(hit["vector_distance"]) / 4)
                if (distance <= max_hamming and hit["video_id"] != video_id
                        and int(hit["published_at_ms"]) <= published_until_ms):
                    hits[(hit["video_id"], view)].append((n, distance))
                    published[hit["video_id"]] = int(hit["published_at_ms"])
        best: dict[str, Candidate] = {}
        for (found_id, view), pairs in hits.items():
            candidate = Candidate(found_id, published[found_id], len({n for n, _ in pairs}),
                                  min(d for _, d in pairs), view)
            current = best.get(found_id)
            if current is None or (candidate.frames_hit, -candidate.best_hamming) > (current.frames_hit,
                                                                                      -current.best_hamming):
                best[found_id] = candidate
        # Among equally good candidates the earliest published first: an original before its copies.
        return sorted(best.values(), key=lambda c: (-c.frames_hit, c.best_hamming, c.published_at_ms, c.video_id))

    def indexed_videos(self, video_ids: list[str]) -> list[IndexedVideo]:
        """The stored signatures of ``video_ids`` (those that exist), in one round trip."""
        pipe = self.client.pipeline(transaction=False)
        for video_id in video_ids:
            pipe.hgetall(self._signature_key(video_id))
        videos = []
        for video_id, stored in zip(video_ids, pipe.execute(), strict=True):
            if not stored:
                continue
            times = np.frombuffer(stored[b"times_s"], dtype=np.float32)
            bits = np.frombuffer(stored[b"bits"], dtype=np.uint8).reshape(FRAMINGS, len(times), PDQ_BYTES)
            videos.append(IndexedVideo(video_id, int(stored[b"published_at_ms"]), CopySignature(
                times_s=times, cuts=np.frombuffer(stored.get(b"cuts", bytes(len(times))), np.uint8).astype(bool),
                quality=np.frombuffer(stored[b"quality"], dtype=np.int16), bits=bits,
                turned_bits=np.zeros((0, len(times), PDQ_BYTES), np.uint8),
                tile_bits=np.zeros((0, len(times), PDQ_BYTES), np.uint8),
                index_frames=[],
                audio_fingerprint=np.frombuffer(stored[b"audio"], dtype=np.int32),
                duration_s=float(stored[b"duration_s"]))))
        return videos

    def vector_count(self) -> int:
        return int(self.index.info()["num_docs"])

    # --- videos in flight -------------------------------------------------------------------------------

    def mark_in_flight(self, video_id: str, published_at_ms: int, ttl_s: float) -> None:
        pipe = self.client.pipeline(transaction=True)
        pipe.set(f"{self._in_flight}:{video_id}", 1, px=int(ttl_s * 1000))
        pipe.zadd(self._in_flight, {video_id: published_at_ms})
        pipe.execute()

    def clear_in_flight(self, video_id: str) -> None:
        pipe = self.client.pipeline(transaction=True)
        pipe.zrem(self._in_flight, video_id)
        pipe.delete(f"{self._in_flight}:{video_id}")
        pipe.execute()

    def earlier_in_flight(self, video_id: str, published_at_ms: int) -> list[str]:
        """Videos published before this one (ties by id) still being processed by a live worker."""
        earlier = []
        for member, score in self.client.zrangebyscore(self._in_flight, "-inf", published_at_ms, withscores=True):
            other = member.decode()
            if other == video_id or (int(score), other) > (published_at_ms, video_id):
                continue
            if self.client.exists(f"{self._in_flight}:{other}"):
                earlier.append(other)
            else:  # its worker died: the liveness key expired
                self.client.zrem(self._in_flight, other)
        return earlier

    def wait_for_earlier(self, video_id: str, published_at_ms: int, timeout_s: float) -> list[str]:
        """Block until no earlier-published video is in flight; return those still there at the timeout."""
        deadline = time.monotonic() + timeout_s
        while (waiting := self.earlier_in_flight(video_id, published_at_ms)) and time.monotonic() < deadline:
            time.sleep(IN_FLIGHT_POLL_S)
        if waiting:
            log.warning("%s judged without waiting further for earlier videos in flight: %s", video_id, waiting)
        return waiting

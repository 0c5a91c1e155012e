"""The free-text search index in Redis (redisvl): what was said, shown and written in every video, by moment.

- Chunk index ``<name>-chunks``: one hash per text chunk (the title/description/tags, each transcript segment,
  each OCR line), key ``<name>:chunk:<video_id>:<n>``: video id, channel, cluster, publish time, kind, start
  and end second, the text (RediSearch full text, English stemming, BM25) and its MiniLM embedding (384-d,
  HNSW, cosine).
- Frame index ``<name>-frames`` (only with CLIP weights): one hash per key frame, key
  ``<name>:frame:<video_id>:<n>``, with the same filter fields, its time and its CLIP embedding.
- Video cards ``<name>:video:<video_id>``: what a hit shows (title, channel, media, duration, cluster label,
  keywords, verdict), how many chunks/frames the video has, so re-indexing a video deletes the ones it no
  longer has, and a summary of its enrichment (language, OCR confidences...), so an exact copy can reuse it.

Writes are idempotent by key (replaying a video rewrites the same keys). Readers go through the index names
only, so a rebuilt generation of the indexes can replace this one (storage/generations.py).
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
from redis import Redis
from redisvl.index import SearchIndex as RedisVLIndex
from redisvl.query import TextQuery, VectorQuery
from redisvl.query.filter import FilterExpression, Num, Tag
from redisvl.utils.stopwords import get_stopwords

from core.text import TEXT_EMBEDDING_DIMS, TextChunk
from storage.redis_keys import delete_matching

CLIP_DIMS = 512
HIT_FIELDS = ["video_id", "kind", "start_s", "end_s", "text"]
ENGLISH_STOPWORDS = frozenset(get_stopwords("english"))
WORD = re.compile(r"\w*[^\W_]\w*")  # with a letter or digit: RediSearch refuses a lone "_" as a term


def _filter_fields() -> list[dict]:
    return [{"name": "video_id", "type": "tag"}, {"name": "channel_id", "type": "tag"},
            {"name": "cluster_id", "type": "tag"}, {"name": "published_at_ms", "type": "numeric"}]


def _vector_field(dims: int) -> dict:
    return {"name": "embedding", "type": "vector", "attrs": {
        "dims": dims, "algorithm": "hnsw", "distance_metric": "cosine", "datatype": "float32",
        "m": 16, "ef_construction": 200}}


def chunk_schema(name: str) -> dict:
    return {"index": {"name": f"{name}-chunks", "prefix": f"{name}:chunk:", "storage_type": "hash"},
            "fields": [*_filter_fields(), {"name": "kind", "type": "tag"},
                       {"name": "start_s", "type": "numeric"}, {"name": "end_s", "type": "numeric"},
                       {"name": "text", "type": "text"}, _vector_field(TEXT_EMBEDDING_DIMS)]}


def frame_schema(name: str) -> dict:
    return {"index": {"name": f"{name}-frames", "prefix": f"{name}:frame:", "storage_type": "hash"},
            "fields": [*_filter_fields(), {"name": "start_s", "type": "numeric"}, _vector_field(CLIP_DIMS)]}


@dataclass(frozen=True)
class VideoCard:
    """What a search hit shows of its video."""

    video_id: str
    channel_id: str
    published_at_ms: int
    title: str
    duration_s: float
    media_uri: str
    verdict: str
    duplicate_of: str | None = None
    cluster_id: str | None = None
    cluster_label: str | None = None
    keywords: tuple[str, ...] = ()


@dataclass(frozen=True)
class EnrichmentSummary:
    """What the enriched record says of a video beyond its chunks, kept on its card so an exact copy of it can be
    given the same enrichment without running the models again (stored_enrichment)."""

    has_audio: bool
    language: str | None
    no_speech: bool
    speech_s: float
    ocr_confidence: tuple[float, ...]  # of its OCR chunks, in order


@dataclass(frozen=True)
class StoredEnrichment:
    """A video's enrichment as its card and chunks keep it."""

    summary: EnrichmentSummary
    chunks: list[TextChunk]  # its transcript segments, then its OCR lines (not its title: that is each video's own)
    frame_times_s: list[float]  # its CLIP key frames
    frame_embeddings: np.ndarray | None  # None without CLIP


@dataclass(frozen=True)
class SearchFilters:
    channel_id: str | None = None
    cluster_id: str | None = None
    published_from_ms: int | None = None  # inclusive
    published_to_ms: int | None = None  # inclusive

    def expression(self) -> FilterExpression | None:
        parts: list[FilterExpression] = []
        if self.channel_id:
            parts.append(Tag("channel_id") == self.channel_id)
        if self.cluster_id:
            parts.append(Tag("cluster_id") == self.cluster_id)
        if self.published_from_ms is not None:
            parts.append(Num("published_at_ms") >= self.published_from_ms)
        if self.published_to_ms is not None:
            parts.append(Num("published_at_ms") <= self.published_to_ms)
        combined: FilterExpression | None = None
        for part in parts:
            combined = part if combined is None else combined & part
        return combined


@dataclass(frozen=True)
class ChunkHit:
    """A chunk (or CLIP frame) one retrieval signal returned, with that signal's score."""

    video_id: str
    kind: str  # "title", "transcript", "ocr" (core.text.TextChunk.kind) or "frame"
    start_s: float
    end_s: float
    text: str
    score: float  # cosine similarity for embeddings, BM25 for keywords
    terms: tuple[str, ...] = field(default=())  # keyword signal: the query terms the text contains


def _unit_bytes(vector: np.ndarray) -> bytes:
    return np.asarray(vector, dtype=np.float32).tobytes()


class SearchIndex:
    def __init__(self, redis_url: str, name: str) -> None:
        self.name = name
        self.client = Redis.from_url(redis_url)
        self.chunks = RedisVLIndex.from_dict(chunk_schema(name), redis_client=self.client)
        self.frames = RedisVLIndex.from_dict(frame_schema(name), redis_client=self.client)

    def create(self) -> None:
        """Create both indexes if missing (existing data is kept)."""
        for index in (self.chunks, self.frames):
            if not index.exists():
                index.create(overwrite=False)

    def drop(self) -> None:
        """Delete both indexes with their documents, and every video card."""
        for index in (self.chunks, self.frames):
            if index.exists():
                index.delete(drop=True)
        delete_matching(self.client, self._card_key("*"))

    def video_count(self) -> int:
        """How many videos are indexed (one card each)."""
        return sum(1 for _ in self.client.scan_iter(match=self._card_key("*"), count=1000))

    def _card_key(self, video_id: str) -> str:
        return f"{self.name}:video:{video_id}"

    def _chunk_key(self, video_id: str, n: int) -> str:
        return f"{self.name}:chunk:{video_id}:{n}"

    def _frame_key(self, video_id: str, n: int) -> str:
        return f"{self.name}:frame:{video_id}:{n}"

    def upsert_video(self, card: VideoCard, chunks: Sequence[TextChunk], frame_times_s: Sequence[float] = (),
                     frame_embeddings: np.ndarray | None = None, summary: EnrichmentSummary | None = None) -> None:
        """Index (or re-index) one video's chunks and CLIP frames and store its card, in one transaction."""
        filters = {"video_id": card.video_id, "channel_id": card.channel_id,
                   "cluster_id": card.cluster_id or "", "published_at_ms": card.published_at_ms}
        frames = [] if frame_embeddings is None else list(zip(frame_times_s, frame_embeddings, strict=True))
        old = self.client.hmget(self._card_key(card.video_id), ["chunks", "frames"])
        old_chunks, old_frames = (int(value or 0) for value in old)
        pipe = self.client.pipeline(transaction=True)
        for n, chunk in enumerate(chunks):
            pipe.hset(self._chunk_key(card.video_id, n), mapping={
                **filters, "kind": chunk.kind, "start_s": chunk.start_s, "end_s": chunk.end_s, "text": chunk.text,
                "embedding": _unit_bytes(chunk.embedding)})
        for n, (time_s, embedding) in enumerate(frames):
            pipe.hset(self._frame_key(card.video_id, n), mapping={
                **filters, "start_s": float(time_s), "embedding": _unit_bytes(embedding)})
        for n in range(len(chunks), old_chunks):
            pipe.delete(self._chunk_key(card.video_id, n))
        for n in range(len(frames), old_frames):
            pipe.delete(self._frame_key(card.video_id, n))
        pipe.hset(self._card_key(card.video_id), mapping={
            "channel_id": card.channel_id, "published_at_ms": card.published_at_ms, "title": card.title,
            "duration_s": card.duration_s, "media_uri": card.media_uri, "verdict": card.verdict,
            "duplicate_of": card.duplicate_of or "", "cluster_id": card.cluster_id or "",
            "cluster_label": card.cluster_label or "", "keywords": json.dumps(list(card.keywords)),
            "chunks": len(chunks), "frames": len(frames),
            "enrichment": json.dumps(dataclasses.asdict(summary)) if summary is not None else ""})
        pipe.execute()

    def stored_enrichment(self, video_id: str) -> StoredEnrichment | None:
        """What the video's enrichment left here, or None if it has not been indexed (with its summary)."""
        counts = self.client.hmget(self._card_key(video_id), ["enrichment", "chunks", "frames"])
        if not counts[0]:
            return None
        stored = json.loads(counts[0])
        summary = EnrichmentSummary(**{**stored, "ocr_confidence": tuple(stored["ocr_confidence"])})
        pipe = self.client.pipeline(transaction=False)
        for n in range(int(counts[1])):
            pipe.hmget(self._chunk_key(video_id, n), ["kind", "start_s", "end_s", "text", "embedding"])
        for n in range(int(counts[2])):
            pipe.hmget(self._frame_key(video_id, n), ["start_s", "embedding"])
        found = pipe.execute()
        chunks = [TextChunk(kind.decode(), float(start), float(end), text.decode(),
                            np.frombuffer(vector, np.float32))
                  for kind, start, end, text, vector in found[:int(counts[1])] if kind != b"title"]
        frames = found[int(counts[1]):]
        embeddings = np.stack([np.frombuffer(vector, np.float32) for _, vector in frames]) if frames else None
        return StoredEnrichment(summary, chunks, [float(start) for start, _ in frames], embeddings)

    def set_cluster(self, assignments: Iterable[tuple[str, str | None, str | None]]) -> int:
        """Move videos to new clusters after a re-clustering: (video_id, cluster_id or None, label).
        Returns how many indexed videos were updated (videos not in this index are skipped)."""
        updated = 0
        for video_id, cluster_id, label in assignments:
            card_key = self._card_key(video_id)
            counts = self.client.hmget(card_key, ["chunks", "frames"])
            if counts[0] is None:
                continue
            pipe = self.client.pipeline(transaction=True)
            pipe.hset(card_key, mapping={"cluster_id": cluster_id or "", "cluster_label": label or ""})
            for n in range(int(counts[0])):
                pipe.hset(self._chunk_key(video_id, n), "cluster_id", cluster_id or "")
            for n in range(int(counts[1] or 0)):
                pipe.hset(self._frame_key(video_id, n), "cluster_id", cluster_id or "")
            pipe.execute()
            updated += 1
        return updated

    def cards(self, video_ids: Sequence[str]) -> dict[str, VideoCard]:
        pipe = self.client.pipeline(transaction=False)
        for video_id in video_ids:
            pipe.hgetall(self._card_key(video_id))
        cards = {}
        for video_id, stored in zip(video_ids, pipe.execute(), strict=True):
            if not stored:
                continue
            value = {key.decode(): item.decode() for key, item in stored.items()}
            cards[video_id] = VideoCard(
                video_id=video_id, channel_id=value["channel_id"], published_at_ms=int(value["published_at_ms"]),
                title=value["title"], duration_s=float(value["duration_s"]), media_uri=value["media_uri"],
                verdict=value["verdict"], duplicate_of=value["duplicate_of"] or None,
                cluster_id=value["cluster_id"] or None, cluster_label=value["cluster_label"] or None,
                keywords=tuple(json.loads(value["keywords"])))
        return cards

    def semantic(self, vector: np.ndarray, filters: SearchFilters, k: int, ef_runtime: int) -> list[ChunkHit]:
        """The ``k`` chunks nearest the query embedding (cosine), best first."""
        query = VectorQuery(_unit_bytes(vector), "embedding", return_fields=HIT_FIELDS, num_results=k,
                            filter_expression=filters.expression(), ef_runtime=ef_runtime)
        return [_hit(doc, 1.0 - float(doc["vector_distance"])) for doc in self.chunks.query(query)]

    def frames_near(self, vector: np.ndarray, filters: SearchFilters, k: int, ef_runtime: int) -> list[ChunkHit]:
        """The ``k`` key frames nearest a CLIP text embedding, best first."""
        query = VectorQuery(_unit_bytes(vector), "embedding", return_fields=["video_id", "start_s"], num_results=k,
                            filter_expression=filters.expression(), ef_runtime=ef_runtime)
        return [ChunkHit(doc["video_id"], "frame", float(doc["start_s"]), float(doc["start_s"]), "",
                         1.0 - float(doc["vector_distance"])) for doc in self.frames.query(query)]

    def keyword(self, text: str, filters: SearchFilters, k: int) -> list[ChunkHit]:
        """The ``k`` chunks with the best BM25 score for any of the query's words (stemmed, stopwords dropped).
        Only the words go to RediSearch, never the user's punctuation: ``|``, quotes or ``@`` are query syntax."""
        words = _words(text) - ENGLISH_STOPWORDS
        if not words:  # e.g. "the" or "|": redisvl would send an empty, invalid query
            return []
        query = TextQuery(" ".join(sorted(words)), "text", filter_expression=filters.expression(),
                          return_fields=HIT_FIELDS, num_results=k, stopwords=set(ENGLISH_STOPWORDS))
        docs = self.chunks.query(query)
        hits = []
        for doc in docs:
            chunk_words = _words(doc["text"])
            terms = tuple(sorted(word for word in words if any(w.startswith(word[:5]) for w in chunk_words)))
            hits.append(_hit(doc, float(doc["score"]), terms))
        return hits


def _words(text: str) -> set[str]:
    """The text's words (runs of Unicode letters, digits and underscores, with a letter or digit), lower case."""
    return {word.lower() for word in WORD.findall(text)}


def _hit(doc: dict, score: float, terms: tuple[str, ...] = ()) -> ChunkHit:
    return ChunkHit(video_id=doc["video_id"], kind=doc["kind"], start_s=float(doc["start_s"]),
                    end_s=float(doc["end_s"]), text=doc["text"], score=score, terms=terms)

"""The free-text search index in Redis (redisvl): what was said, shown and written in every video, by moment.

- Chunk index ``<name>-chunks``: one hash per text chunk (the title/description/tags, each transcript segment,
  each OCR line), key ``<name>:chunk:<video_id>:<n>``: video id, channel, cluster, publish time, kind, start
  and end second, the text (RediSearch full text, BM25, stemmed in the chunk's own language: core/languages.py)
  and its text embedding (HNSW, cosine).
- Frame index ``<name>-frames`` (only with CLIP weights): one hash per key frame, key
  ``<name>:frame:<video_id>:<n>``, with the same filter fields, its time and its CLIP embedding.
- Suggestions ``<name>:suggest`` (FT.SUGADD / FT.SUGGET): titles, keywords and queries users repeated, for
  completing what a user types (a title or keyword also from each of its later words on, with the whole of it
  as payload, so "Stadtb" completes "Die Stadtbibliothek"); ``<name>:queries`` counts the queries that found
  something.
- Video cards ``<name>:video:<video_id>``: what a hit shows (title, channel, media, duration, cluster label,
  keywords, verdict, the people seen), how many chunks/frames the video has, so re-indexing a video deletes the
  ones it no longer has, and a summary of its enrichment (language, OCR confidences, face descriptors...), so an
  exact copy can reuse it. Card index ``<name>-videos``: the cards by person id and publish time (a person's
  videos).
- Every chunk, frame and card carries the ids of the person clusters seen in its video (tag ``person_ids``), for
  the ``person=`` filter.

Writes are idempotent by key (replaying a video rewrites the same keys). Readers go through the index names
only, so a rebuilt generation of the indexes can replace this one (storage/generations.py).
"""

from __future__ import annotations

import dataclasses
import functools
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import stopwordsiso
from redis import Redis
from redis.commands.search.index_definition import IndexDefinition, IndexType
from redis.commands.search.query import Query
from redisvl.index import SearchIndex as RedisVLIndex
from redisvl.query import VectorQuery
from redisvl.query.filter import FilterExpression, Num, Tag
from redisvl.utils.stopwords import get_stopwords
from redisvl.utils.token_escaper import TokenEscaper

from core.faces import Person
from core.languages import DEFAULT_LANGUAGE, STEMMERS, code_of, stemmer_of, text_language
from core.lexicon import forms, is_dictionary_word, stem, transliterated
from core.records import PersonSeen
from core.text import TEXT_EMBEDDING_DIMS, TextChunk
from storage.index_layout import require_vector_layout
from storage.redis_keys import delete_matching

CLIP_DIMS = 512
HIT_FIELDS = ["video_id", "kind", "start_s", "end_s", "text"]
KEYWORD_FIELDS = [*HIT_FIELDS, "language", "lang"]  # with the chunk's stemmer and ISO 639-1 code
WORD = re.compile(r"\w*[^\W_]\w*")  # with a letter or digit: RediSearch refuses a lone "_" as a term
MIN_SPELLCHECKED_LETTERS = 4  # shorter words are not corrected: too many neighbours
LONG_WORD_LETTERS = 7  # words this long may be two edits off (a swap is two), shorter ones one
SUGGESTION_CHARS = 80  # longer titles and queries are not offered as completions
# FT.SUGGET refuses a prefix of 100 UTF-16 code units or more ("Invalid query length"; a character outside the
# Basic Multilingual Plane, an emoji, counts two)
SUGGET_MAX_UNITS = 99
CHANNEL_HISTORY = 100  # a channel's latest videos remembered for its language history (channel_languages)
TRACKED_QUERIES = 100_000  # the query counter keeps the most frequent this many
LATER_WORD_SCORE = 0.5  # a completion from a later word of a title ranks below one from its start
_ESCAPER = TokenEscaper()
NLTK_NAMES = {**STEMMERS, "zh": "chinese"}  # redisvl's stopword lists (NLTK's) are named as RediSearch's stemmers


@functools.cache
def stopwords(code: str) -> frozenset[str]:
    """The stopwords of the language ``code`` (ISO 639-1): NLTK's list as redisvl bundles it, else stopwords-iso's
    (Japanese, Korean, Polish, Thai, which NLTK lacks); none for a language neither has."""
    try:
        return frozenset(get_stopwords(NLTK_NAMES[code]))
    except (KeyError, ValueError):
        return frozenset(stopwordsiso.stopwords(code)) if stopwordsiso.has_lang(code) else frozenset()


def _filter_fields() -> list[dict]:
    return [{"name": "video_id", "type": "tag"}, {"name": "channel_id", "type": "tag"},
            {"name": "cluster_id", "type": "tag"}, {"name": "published_at_ms", "type": "numeric"}, PERSON_IDS_FIELD]


PERSON_IDS_FIELD = {"name": "person_ids", "type": "tag"}  # added after the first release: FT.ALTER adds it


def _vector_field(dims: int) -> dict:
    return {"name": "embedding", "type": "vector", "attrs": {
        "dims": dims, "algorithm": "hnsw", "distance_metric": "cosine", "datatype": "float32",
        "m": 16, "ef_construction": 200}}


def chunk_schema(name: str) -> dict:
    return {"index": {"name": f"{name}-chunks", "prefix": f"{name}:chunk:", "storage_type": "hash"},
            "fields": [*_filter_fields(), {"name": "kind", "type": "tag"},
                       {"name": "start_s", "type": "numeric"}, {"name": "end_s", "type": "numeric"},
                       {"name": "words", "type": "text"}, _vector_field(TEXT_EMBEDDING_DIMS)]}
# the chunk hash field naming the language RediSearch stems its text in (FT.CREATE ... LANGUAGE_FIELD)
LANGUAGE_FIELD = "language"
CODE_FIELD = "lang"  # the chunk's language as an ISO 639-1 code (not indexed: its stopwords and stems in Python)
# A chunk's hash keeps its text as found ("text", shown, not indexed) and lower-cased with its Cyrillic words
# also in Latin letters and its Latin words in Cyrillic ones ("words", the full-text field): RediSearch 2.10 folds
# the case of ASCII letters only, so "Вокзал" would not match "вокзал", and "роблокс" should find "Roblox".


def frame_schema(name: str) -> dict:
    return {"index": {"name": f"{name}-frames", "prefix": f"{name}:frame:", "storage_type": "hash"},
            "fields": [*_filter_fields(), {"name": "start_s", "type": "numeric"}, _vector_field(CLIP_DIMS)]}


def video_schema(name: str) -> dict:
    return {"index": {"name": f"{name}-videos", "prefix": f"{name}:video:", "storage_type": "hash"},
            "fields": [PERSON_IDS_FIELD, {"name": "published_at_ms", "type": "numeric", "attrs": {"sortable": True}}]}


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
    people: tuple[PersonSeen, ...] = ()  # in order of first appearance, each with its person cluster id or None

    @property
    def person_ids(self) -> str:
        return _person_ids_tag(self.people)


def _person_ids_tag(people: Iterable[PersonSeen]) -> str:
    """The person clusters seen, as the ``person_ids`` tag holds them."""
    return ",".join(sorted({person.person_id for person in people if person.person_id}))


def _people_json(people: Sequence[PersonSeen]) -> str:
    return json.dumps([dataclasses.asdict(person) for person in people])


@dataclass(frozen=True)
class EnrichmentSummary:
    """What the enriched record says of a video beyond its chunks, kept on its card so an exact copy of it can be
    given the same enrichment without running the models again (stored_enrichment)."""

    has_audio: bool
    language: str | None
    no_speech: bool
    speech_s: float
    ocr_confidence: tuple[float, ...]  # of its OCR chunks, in order
    people: tuple[Person, ...] = ()  # with their face descriptors (biometric: deleted with the card)
    seen: tuple[tuple[str, str, float], ...] = ()  # of its seen chunks, in order: concept, ImageNet class, confidence

    def as_json(self) -> str:
        stored = dataclasses.asdict(self)
        stored["people"] = [{**person, "embedding": [float(x) for x in person["embedding"]]}
                            for person in stored["people"]]
        return json.dumps(stored)

    @classmethod
    def from_json(cls, text: str | bytes) -> EnrichmentSummary:
        stored = json.loads(text)
        people = tuple(Person(**{**person, "embedding": np.asarray(person["embedding"], np.float32)})
                       for person in stored.pop("people", []))  # cards written before faces have none
        seen = tuple(tuple(concept) for concept in stored.pop("seen", []))  # cards written before it have none
        return cls(**{**stored, "ocr_confidence": tuple(stored["ocr_confidence"]), "people": people, "seen": seen})


@dataclass(frozen=True)
class StoredEnrichment:
    """A video's enrichment as its card and chunks keep it."""

    summary: EnrichmentSummary
    chunks: list[TextChunk]  # its transcript segments, OCR lines, concepts seen (not its title: each video's own)
    frame_times_s: list[float]  # its CLIP key frames
    frame_embeddings: np.ndarray | None  # None without CLIP


@dataclass(frozen=True)
class SearchFilters:
    channel_id: str | None = None
    cluster_id: str | None = None
    published_from_ms: int | None = None  # inclusive
    published_to_ms: int | None = None  # inclusive
    person_id: str | None = None  # videos showing this person cluster

    def expression(self) -> FilterExpression | None:
        parts: list[FilterExpression] = []
        if self.channel_id:
            parts.append(Tag("channel_id") == self.channel_id)
        if self.cluster_id:
            parts.append(Tag("cluster_id") == self.cluster_id)
        if self.person_id:
            parts.append(Tag("person_ids") == self.person_id)
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
    kind: str  # "title", "transcript", "ocr", "seen" (core.text.TextChunk.kind) or "frame"
    start_s: float
    end_s: float
    text: str
    score: float  # cosine similarity for embeddings, BM25 for keywords
    terms: tuple[str, ...] = field(default=())  # keyword signal: the words of the text that matched the query
    coverage: float = 1.0  # keyword signal: the share of the query's words the text contains


@dataclass(frozen=True)
class KeywordResult:
    """The keyword signal's chunks, best first, and the spelling corrections it searched with."""

    hits: list[ChunkHit]
    corrections: dict[str, str]  # query word -> the indexed word it was taken for (a word nothing in the index has)


def _unit_bytes(vector: np.ndarray) -> bytes:
    return np.asarray(vector, dtype=np.float32).tobytes()


class SearchIndex:
    def __init__(self, redis_url: str, name: str) -> None:
        self.name = name
        self.client = Redis.from_url(redis_url)
        self.chunks = RedisVLIndex.from_dict(chunk_schema(name), redis_client=self.client)
        self.frames = RedisVLIndex.from_dict(frame_schema(name), redis_client=self.client)
        self.videos = RedisVLIndex.from_dict(video_schema(name), redis_client=self.client)

    def create(self) -> None:
        """Create the indexes that are missing (existing data is kept). The chunk index stems each chunk in the
        language its LANGUAGE_FIELD names, which redisvl's schema cannot say: it is created through redis-py. A chunk
        index of the same name left by another text encoder (another width) is refused with what to do; one made
        before people were indexed gets their tag field (FT.ALTER: documents written since carry it)."""
        if self.chunks.exists():
            require_vector_layout(self.chunks, "embedding", "run python -m jobs.reindex (a new generation of every "
                                  f"index), or drop it (FT.DROPINDEX {self.chunks.name} DD)")
        else:
            self.client.ft(self.chunks.name).create_index(
                fields=self.chunks.schema.redis_fields,
                definition=IndexDefinition(prefix=[self.chunks.schema.index.prefix], index_type=IndexType.HASH,
                                           language_field=LANGUAGE_FIELD, language=DEFAULT_LANGUAGE))
        for index in (self.frames, self.videos):
            if not index.exists():
                index.create(overwrite=False)
        for index in (self.chunks, self.frames):
            if not any(attribute[1] == b"person_ids" for attribute in self.client.ft(index.name).info()["attributes"]):
                self.client.execute_command("FT.ALTER", index.name, "SCHEMA", "ADD", "person_ids", "TAG")

    def drop(self) -> None:
        """Delete the indexes with their documents, every video card and the channels' video lists."""
        for index in (self.chunks, self.frames, self.videos):
            if index.exists():
                index.delete(drop=True)
        delete_matching(self.client, self._card_key("*"))
        delete_matching(self.client, self._channel_key("*"))
        self.client.delete(self._suggestions_key, self._queries_key)

    def video_count(self) -> int:
        """How many videos are indexed (one card each)."""
        return sum(1 for _ in self.client.scan_iter(match=self._card_key("*"), count=1000))

    def _card_key(self, video_id: str) -> str:
        return f"{self.name}:video:{video_id}"

    def _chunk_key(self, video_id: str, n: int) -> str:
        return f"{self.name}:chunk:{video_id}:{n}"

    def _frame_key(self, video_id: str, n: int) -> str:
        return f"{self.name}:frame:{video_id}:{n}"

    @property
    def _suggestions_key(self) -> str:
        return f"{self.name}:suggest"

    def _channel_key(self, channel_id: str) -> str:
        return f"{self.name}:channel-videos:{channel_id}"

    @property
    def _queries_key(self) -> str:
        return f"{self.name}:queries"

    def upsert_video(self, card: VideoCard, chunks: Sequence[TextChunk], frame_times_s: Sequence[float] = (),
                     frame_embeddings: np.ndarray | None = None, summary: EnrichmentSummary | None = None) -> None:
        """Index (or re-index) one video's chunks and CLIP frames and store its card, in one transaction; its title
        and keywords become suggestions. Each chunk is stemmed in its own language (core/languages.py): a transcript
        segment in the language ``summary`` says whisper decoded."""
        spoken = summary.language if summary is not None else None
        filters = {"video_id": card.video_id, "channel_id": card.channel_id,
                   "cluster_id": card.cluster_id or "", "published_at_ms": card.published_at_ms,
                   "person_ids": card.person_ids}
        frames = [] if frame_embeddings is None else list(zip(frame_times_s, frame_embeddings, strict=True))
        old = self.client.hmget(self._card_key(card.video_id), ["chunks", "frames"])
        old_chunks, old_frames = (int(value or 0) for value in old)
        pipe = self.client.pipeline(transaction=True)
        for n, chunk in enumerate(chunks):
            code = text_language(chunk.text, spoken if chunk.kind == "transcript" else None)
            pipe.hset(self._chunk_key(card.video_id, n), mapping={
                **filters, "kind": chunk.kind, "start_s": chunk.start_s, "end_s": chunk.end_s, "text": chunk.text,
                "words": _indexed_words(chunk.text), LANGUAGE_FIELD: stemmer_of(code), CODE_FIELD: code,
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
            "people": _people_json(card.people), "person_ids": card.person_ids, "chunks": len(chunks),
            "frames": len(frames),
            "enrichment": summary.as_json() if summary is not None else ""})
        pipe.zadd(self._channel_key(card.channel_id), {card.video_id: card.published_at_ms})
        pipe.zremrangebyrank(self._channel_key(card.channel_id), 0, -CHANNEL_HISTORY - 1)
        for phrase in (card.title.strip(), *(keyword.strip() for keyword in card.keywords)):
            if phrase and len(phrase) <= SUGGESTION_CHARS:
                for start in _completion_starts(phrase):
                    pipe.execute_command("FT.SUGADD", self._suggestions_key, phrase[start:],
                                         LATER_WORD_SCORE if start else 1, "PAYLOAD", phrase)
        pipe.execute()

    def channel_languages(self, channel_id: str, n: int, before_ms: int) -> list[str]:
        """The spoken languages of the channel's latest ``n`` (at most CHANNEL_HISTORY) indexed videos published
        before ``before_ms``, newest first (videos without speech, or deleted, say nothing)."""
        ids = self.client.zrevrangebyscore(self._channel_key(channel_id), f"({before_ms}", "-inf", start=0,
                                           num=min(n, CHANNEL_HISTORY)) if n > 0 else []
        pipe = self.client.pipeline(transaction=False)
        for video_id in ids:
            pipe.hget(self._card_key(video_id.decode()), "enrichment")
        summaries = [EnrichmentSummary.from_json(found) for found in pipe.execute() if found] if ids else []
        return [summary.language for summary in summaries if summary.language]

    def stored_enrichment(self, video_id: str) -> StoredEnrichment | None:
        """What the video's enrichment left here, or None if it has not been indexed (with its summary)."""
        counts = self.client.hmget(self._card_key(video_id), ["enrichment", "chunks", "frames"])
        if not counts[0]:
            return None
        summary = EnrichmentSummary.from_json(counts[0])
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
        return sum(self._set_on_video(video_id, {"cluster_id": cluster_id or "", "cluster_label": label or ""},
                                      {"cluster_id": cluster_id or ""})
                   for video_id, cluster_id, label in assignments)

    def set_people(self, person_ids: Mapping[str, Mapping[int, str | None]]) -> int:
        """Give the people seen in videos their person cluster after a re-clustering: video id -> {person index
        (order on the card) -> person id or None}. Returns how many indexed videos were updated."""
        updated = 0
        for video_id, by_index in person_ids.items():
            stored = self.client.hget(self._card_key(video_id), "people")
            if stored is None:
                continue
            people = tuple(dataclasses.replace(person, person_id=by_index.get(n, person.person_id))
                           for n, person in enumerate(_people_from_json(stored)))
            tag = _person_ids_tag(people)
            updated += self._set_on_video(video_id, {"people": _people_json(people), "person_ids": tag},
                                          {"person_ids": tag})
        return updated

    def _item_keys(self, video_id: str) -> list[str] | None:
        """The keys of an indexed video's chunks and frames, as its card counts them; None when it has no card."""
        counts = self.client.hmget(self._card_key(video_id), ["chunks", "frames"])
        if counts[0] is None:
            return None
        return [*(self._chunk_key(video_id, n) for n in range(int(counts[0]))),
                *(self._frame_key(video_id, n) for n in range(int(counts[1] or 0)))]

    def _set_on_video(self, video_id: str, card_fields: dict[str, str], item_fields: dict[str, str]) -> bool:
        """Set fields on an indexed video's card and on each of its chunks and frames, in one transaction; False
        when the video is not in this index."""
        items = self._item_keys(video_id)
        if items is None:
            return False
        pipe = self.client.pipeline(transaction=True)
        pipe.hset(self._card_key(video_id), mapping=card_fields)
        for key in items:
            pipe.hset(key, mapping=item_fields)
        pipe.execute()
        return True

    def videos_with_person(self, person_id: str, offset: int, limit: int) -> tuple[int, list[VideoCard]]:
        """How many indexed videos show the person, and a page of their cards, newest first."""
        query = (Query(f"@person_ids:{{{_ESCAPER.escape(person_id)}}}").sort_by("published_at_ms", asc=False)
                 .paging(offset, limit).no_content().dialect(2))
        found = self.client.ft(self.videos.name).search(query)
        prefix = len(self._card_key(""))
        ids = [doc.id[prefix:] for doc in found.docs]
        cards = self.cards(ids)
        return found.total, [cards[video_id] for video_id in ids if video_id in cards]

    def delete_video(self, video_id: str) -> bool:
        """Remove a video from the index: its chunks, frames and card (with its face descriptors). False when it
        was not indexed."""
        items = self._item_keys(video_id)
        if items is None:
            return False
        self.client.delete(*items, self._card_key(video_id))  # one command: atomic
        return True

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
                keywords=tuple(json.loads(value["keywords"])), people=_people_from_json(value.get("people", "[]")))
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

    def keyword(self, text: str, filters: SearchFilters, k: int, language: str | None = None) -> KeywordResult:
        """The ``k`` chunks that hold most of the query's words, best BM25 first among equals. The query is in
        ``language`` (ISO 639-1; by default its script's), stemmed in it, its stopwords dropped; a chunk's words
        match in its own language or the query's, each word also in the other script (Cyrillic <-> Latin), and a
        stopword of the chunk's language matches nothing. A word of no dictionary that nothing in the index has,
        not even stemmed or transliterated, is taken for a typo and searched with its correction too
        (FT.SPELLCHECK over the indexed words). Only the words go to RediSearch, never the user's punctuation:
        ``|``, quotes or ``@`` are query syntax."""
        code = language or text_language(text)
        words = _words(text) - stopwords(code)
        if not words:  # e.g. "the" or "|": nothing to search for
            return KeywordResult([], {})
        corrections = self._corrections(words, code)
        wanted = {word: {*forms(word), *(forms(corrections[word]) if word in corrections else ())} for word in words}
        terms = " | ".join(_ESCAPER.escape(term) for term in sorted(set().union(*wanted.values())))
        where = filters.expression()
        query = (Query(f"{where} @words:({terms})" if where else f"@words:({terms})").language(stemmer_of(code))
                 .scorer("BM25STD").with_scores().return_fields(*KEYWORD_FIELDS).paging(0, k).dialect(2))
        hits = []
        for doc in self.client.ft(self.chunks.name).search(query).docs:
            fields = vars(doc)
            chunk_code = fields.get(CODE_FIELD) or code_of(fields.get(LANGUAGE_FIELD, DEFAULT_LANGUAGE))
            matched = _matched(doc.text, chunk_code, wanted, code)
            if matched is not None:  # else it matched only through stopwords of its language
                hits.append(_hit(fields, float(doc.score), *matched))
        hits.sort(key=lambda hit: (-hit.coverage, -hit.score))
        return KeywordResult(hits, corrections)

    def _corrections(self, words: set[str], code: str) -> dict[str, str]:
        """Query word -> the most frequent indexed word within one edit (two for long words), for the words of
        MIN_SPELLCHECKED_LETTERS or more that are in no dictionary (core/lexicon.py) and that the index does not
        hold in any form."""
        checked = [word for word in words if len(word) >= MIN_SPELLCHECKED_LETTERS
                   and not any(is_dictionary_word(form) for form in forms(word))]
        if not checked:
            return {}
        pipe = self.client.pipeline(transaction=False)
        for distance in (1, 2):
            batch = [w for w in checked if (len(w) >= LONG_WORD_LETTERS) == (distance == 2)]
            if batch:
                pipe.execute_command("FT.SPELLCHECK", self.chunks.name, " ".join(batch), "DISTANCE", distance)
        unknown: dict[str, str] = {}
        for reply in pipe.execute():
            for _term, word, suggestions in reply:
                candidates = [(float(score), term.decode()) for score, term in suggestions
                              if not term.startswith(b"+")]  # "+..." are stems, not words
                if candidates:
                    unknown[word.decode()] = max(candidates)[1]
        if not unknown:
            return {}
        pipe = self.client.pipeline(transaction=False)  # a word form the stemmer knows, or transliterated, is no typo
        for word in unknown:
            any_form = " | ".join(_ESCAPER.escape(form) for form in forms(word))
            pipe.execute_command("FT.SEARCH", self.chunks.name, f"@words:({any_form})",
                                 "LANGUAGE", stemmer_of(code), "LIMIT", 0, 0, "DIALECT", 2)
        return {word: fix for (word, fix), found in zip(unknown.items(), pipe.execute(), strict=True)
                if found[0] == 0}  # the reply is [how many documents match]

    def suggest(self, prefix: str, n: int) -> list[str]:
        """Up to ``n`` completions of what a user has typed: titles, keywords and repeated queries, those it
        begins first, best first, then those it begins with one typo (from four characters on). A prefix longer
        than SUGGESTION_CHARS has none: no completion is that long, and Redis is not asked (it refuses prefixes of
        SUGGET_MAX_UNITS + 1 UTF-16 units)."""
        prefix = prefix.strip()
        if len(prefix) > SUGGESTION_CHARS or len(prefix.encode("utf-16-le")) // 2 > SUGGET_MAX_UNITS:
            return []
        found = self._completions(prefix, n, fuzzy=False)
        if len(found) < n and len(prefix) >= MIN_SPELLCHECKED_LETTERS:
            found += [phrase for phrase in self._completions(prefix, n, fuzzy=True) if phrase not in found]
        return found[:n]

    def _completions(self, prefix: str, n: int, fuzzy: bool) -> list[str]:
        """Up to ``n`` distinct phrases completing ``prefix`` (with one typo if ``fuzzy``), best first."""
        found = self.client.execute_command("FT.SUGGET", self._suggestions_key, prefix, *(["FUZZY"] if fuzzy else []),
                                            "MAX", 3 * n, "WITHPAYLOADS")  # a title may come from several words
        phrases = (payload or completion for completion, payload in zip(found[::2], found[1::2], strict=True))
        return list(dict.fromkeys(phrase.decode() for phrase in phrases))[:n]

    def record_query(self, query: str, repeats_to_suggest: int) -> None:
        """Count a query that found something; once asked ``repeats_to_suggest`` times it is offered as a
        completion (never sooner: a query asked once may be private). The counter keeps the TRACKED_QUERIES most
        frequent queries."""
        phrase = " ".join(query.lower().split())
        if len(phrase) > SUGGESTION_CHARS:
            return
        pipe = self.client.pipeline(transaction=False)
        pipe.zincrby(self._queries_key, 1, phrase)
        pipe.zremrangebyrank(self._queries_key, 0, -TRACKED_QUERIES - 1)
        count, _ = pipe.execute()
        if count >= repeats_to_suggest:
            self.client.execute_command("FT.SUGADD", self._suggestions_key, phrase, 1, "INCR")


def _people_from_json(text: str | bytes) -> tuple[PersonSeen, ...]:
    return tuple(PersonSeen(**person) for person in json.loads(text))


def _matched(text: str, code: str, wanted: Mapping[str, set[str]], query_code: str
             ) -> tuple[tuple[str, ...], float] | None:
    """The words of a chunk (its ``text`` in language ``code``) that match the query, and the share of the query's
    words they match; None when none does. ``wanted``: each query word -> its forms (itself, its correction, in the
    other script). A word matches a form when their stems agree in the chunk's or the query's language; stopwords
    of the chunk's language match nothing and do not count."""
    chunk_stopwords = stopwords(code)
    counted = [word for word in wanted if word not in chunk_stopwords]
    codes = {code, query_code}

    def stems(word: str) -> set[str]:
        return {stem(form, language) for form in forms(word) for language in codes}

    chunk_stems = {word: stems(word) for word in _words(text) - chunk_stopwords}
    shown: set[str] = set()
    found = 0
    for word in counted:
        query_stems = set().union(*(stems(form) for form in wanted[word]))
        holding = [chunk_word for chunk_word, its_stems in chunk_stems.items() if its_stems & query_stems]
        shown.update(holding)
        found += bool(holding)
    return (tuple(sorted(shown)), found / len(counted)) if found else None


def _indexed_words(text: str) -> str:
    """The full-text field of a chunk: its text lower-cased, then its words that have one in the other script."""
    lower = text.lower()
    others = [other for word in dict.fromkeys(WORD.findall(lower)) if (other := transliterated(word))]
    return " ".join([lower, *others])


def _completion_starts(phrase: str) -> list[int]:
    """Where a phrase is completed from: its start and each later word that is no stopword of its language."""
    ignored = stopwords(text_language(phrase))
    return [0, *(word.start() for word in WORD.finditer(phrase)
                 if word.start() and word.group().lower() not in ignored)]


def _words(text: str) -> set[str]:
    """The text's words (runs of Unicode letters, digits and underscores, with a letter or digit), lower case."""
    return {word.lower() for word in WORD.findall(text)}


def _hit(doc: dict, score: float, terms: tuple[str, ...] = (), coverage: float = 1.0) -> ChunkHit:
    return ChunkHit(video_id=doc["video_id"], kind=doc["kind"], start_s=float(doc["start_s"]),
                    end_s=float(doc["end_s"]), text=doc["text"], score=score, terms=terms, coverage=coverage)

"""Free-text video search: three retrieval signals over the Redis search index, fused by reciprocal rank.

A query runs, concurrently:
- *semantic*: its multilingual embedding (Triton ``text_encoder``) against every chunk's embedding (KNN), so a
  query in one language finds speech or on-screen text in another; chunks below ``SEARCH_MIN_SIMILARITY`` cosine
  similarity are dropped (KNN always returns k neighbours);
- *keyword*: RediSearch full text (BM25, each chunk stemmed in its own language and the query in its own,
  stopwords dropped, typos corrected against the indexed words) over the chunk texts;
- *picture* (only with CLIP weights): its CLIP text embedding (``clip_text_encoder``) against key frames.
Each signal ranks videos by their best chunk; a video's score is the sum over signals of
weight / (RRF_K + rank) (reciprocal rank fusion: no score calibration between BM25 and cosine needed). The weight
says how good the video's best chunk is by the signal's own measure: for keywords the share of the query's words
it holds, for embeddings its similarity over the signal's best similarity. So one incidental shared word ("home"
in a long query) on a video whose meaning is only weakly near does not outrank a strong match of meaning, which
plain reciprocal rank let happen (ranks 1 and 3 are worth nearly the same). Equal scores are ordered by meaning
(semantic similarity). Each hit carries the moments that matched, best first, each with its reasons (for
keywords, the words of the moment that matched). Full copies of one video (the copy stage keeps each one's
original: storage/copy_index.py) are one hit, their best-ranked, which lists the others it stands for, unless the
search asks to expand them. The page's ``did_you_mean`` is the query with its typos corrected, when it had any.
If Triton is unreachable the search still answers from keywords and says so in ``warnings``.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from core.errors import InferenceError
from inference.triton_client import TritonModels
from settings import Settings
from storage.search_index import WORD, ChunkHit, KeywordResult, SearchFilters, SearchIndex, VideoCard

RRF_K = 60
MOMENTS_PER_HIT = 5


@dataclass
class Moment:
    kind: str  # "title", "transcript", "ocr", "seen" (an ImageNet concept) or "frame"
    start_s: float
    end_s: float
    text: str
    reasons: list[str] = field(default_factory=list)
    score: float = 0.0  # its share of the fused score


@dataclass(frozen=True)
class Hit:
    video: VideoCard
    score: float
    ranks: dict[str, int]  # signal -> the video's rank in it (1 = best)
    moments: list[Moment]
    copies: list[str] = field(default_factory=list)  # its full copies (or original) found too, collapsed into it


@dataclass(frozen=True)
class SearchPage:
    query: str
    hits: list[Hit]
    total: int  # hits: videos matched (within each signal's SEARCH_CANDIDATES chunks), each group of copies once
    page: int
    page_size: int
    took_ms: float
    signals: list[str]  # the signals that ran
    warnings: list[str]
    did_you_mean: str | None = None  # the query with its typos corrected, if it had any


@dataclass
class FusedVideo:
    score: float = 0.0
    ranks: dict[str, int] = field(default_factory=dict)  # signal -> the video's rank in it (1 = best)
    meaning: float = 0.0  # the best semantic similarity of its chunks (0 if the semantic signal missed it)
    moments: dict[tuple[str, float, float], Moment] = field(default_factory=dict)


def _reason(signal: str, hit: ChunkHit) -> str:
    if signal == "keyword":
        return f"words: {', '.join(hit.terms)}" if hit.terms else "words match (stemmed)"
    if signal == "picture":
        return f"the picture matches (CLIP similarity {hit.score:.2f})"
    return f"similar meaning (similarity {hit.score:.2f})"


def fuse(signals: dict[str, list[ChunkHit]]) -> dict[str, FusedVideo]:
    """Per video: its fused score, rank per signal, meaning and matching moments (see the module's docstring)."""
    fused: dict[str, FusedVideo] = defaultdict(FusedVideo)
    for signal, hits in signals.items():
        video_rank: dict[str, int] = {}
        best_similarity = max(hits[0].score, 1e-6) if hits else 1.0  # embedding signals come best first
        for position, hit in enumerate(hits, start=1):
            weight = hit.coverage if signal == "keyword" else max(hit.score, 0.0) / best_similarity
            video = fused[hit.video_id]
            if hit.video_id not in video_rank:  # the video's best chunk in this signal gives its rank
                video_rank[hit.video_id] = len(video_rank) + 1
                video.ranks[signal] = video_rank[hit.video_id]
                video.score += weight / (RRF_K + video_rank[hit.video_id])
                if signal == "semantic":
                    video.meaning = hit.score
            key = (hit.kind, hit.start_s, hit.end_s)
            moment = video.moments.setdefault(key, Moment(hit.kind, hit.start_s, hit.end_s, hit.text))
            moment.reasons.append(_reason(signal, hit))
            moment.score += weight / (RRF_K + position)  # where the chunk itself ranks: the best chunk leads
    return fused


def best_moments(video: FusedVideo) -> list[Moment]:
    return sorted(video.moments.values(), key=lambda m: (-m.score, m.start_s))[:MOMENTS_PER_HIT]


def corrected(query: str, corrections: dict[str, str]) -> str | None:
    """The query with each misspelled word replaced by its correction, or None if it had none."""
    if not corrections:
        return None
    return WORD.sub(lambda word: corrections.get(word.group().lower(), word.group()), query)


def collapse_copies(ranked: list[str], originals: dict[str, str]) -> list[tuple[str, list[str]]]:
    """Videos best first -> one entry per group of copies (an original and the videos ``originals`` says copy it),
    at its best-ranked member's place: that member and the others, best first."""
    groups: dict[str, tuple[str, list[str]]] = {}
    for video_id in ranked:
        key = originals.get(video_id, video_id)
        if key in groups:
            groups[key][1].append(video_id)
        else:
            groups[key] = (video_id, [])
    return list(groups.values())


# video ids -> (its original, when that was published) for those kept as full copies (CopyIndex.originals)
Originals = Callable[[list[str]], dict[str, tuple[str, int]]]


class SearchEngine:
    def __init__(self, cfg: Settings, index: SearchIndex, models: TritonModels, use_clip: bool,
                 originals: Originals | None = None) -> None:
        self.cfg = cfg
        self.index = index
        self.models = models
        self.use_clip = use_clip
        self.originals = originals  # None: copies are not collapsed

    async def _semantic(self, query: str, filters: SearchFilters) -> list[ChunkHit]:
        vector = (await self.models.embed_texts([query]))[0]
        hits = await asyncio.to_thread(self.index.semantic, vector, filters, self.cfg.search_candidates,
                                       self.cfg.search_ef_runtime)
        return [hit for hit in hits if hit.score >= self.cfg.search_min_similarity]

    async def _picture(self, query: str, filters: SearchFilters) -> list[ChunkHit]:
        vector = (await self.models.embed_clip_texts([query]))[0]
        return await asyncio.to_thread(self.index.frames_near, np.asarray(vector), filters,
                                       self.cfg.search_candidates, self.cfg.search_ef_runtime)

    async def search(self, query: str, filters: SearchFilters, page: int = 1, page_size: int = 20,
                     expand_copies: bool = False) -> SearchPage:
        """A page of hits; each group of full copies is one hit unless ``expand_copies``."""
        started = time.perf_counter()
        calls = {"semantic": self._semantic(query, filters),
                 "keyword": asyncio.to_thread(self.index.keyword, query, filters, self.cfg.search_candidates)}
        if self.use_clip:
            calls["picture"] = self._picture(query, filters)
        results = await asyncio.gather(*calls.values(), return_exceptions=True)
        signals: dict[str, list[ChunkHit]] = {}
        corrections: dict[str, str] = {}
        warnings = []
        for name, result in zip(calls, results, strict=True):
            if isinstance(result, InferenceError):
                warnings.append(f"{name} search unavailable: {result}")
            elif isinstance(result, BaseException):
                raise result
            elif isinstance(result, KeywordResult):
                signals[name], corrections = result.hits, result.corrections
            else:
                signals[name] = result
        fused = fuse(signals)
        ranked = [video_id for video_id, _ in sorted(fused.items(), key=lambda item: (-item[1].score,
                                                                                       -item[1].meaning, item[0]))]
        originals: dict[str, str] = {}
        if self.originals is not None and not expand_copies:
            originals = {video_id: original for video_id, (original, _) in
                         (await asyncio.to_thread(self.originals, ranked)).items()}
        groups = collapse_copies(ranked, originals)
        window = groups[(page - 1) * page_size:page * page_size]
        cards = await asyncio.to_thread(self.index.cards, [video_id for video_id, _ in window])
        hits = [Hit(cards[video_id], round(fused[video_id].score, 6), fused[video_id].ranks,
                    best_moments(fused[video_id]), copies)
                for video_id, copies in window if video_id in cards]
        if hits and page == 1:
            await asyncio.to_thread(self.index.record_query, query, self.cfg.search_suggest_min_repeats)
        return SearchPage(query=query, hits=hits, total=len(groups), page=page, page_size=page_size,
                          took_ms=round((time.perf_counter() - started) * 1000, 2), signals=list(signals),
                          warnings=warnings, did_you_mean=corrected(query, corrections))

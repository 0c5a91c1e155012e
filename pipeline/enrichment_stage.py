"""The enrichment stage: what happens to a video once the copy stage has judged it.

key frames (chosen from the signature the copy stage stored) and audio decoded -> the models (Triton: asr, ocr,
CLIP and faces when configured, text_encoder) -> keywords, topic embedding and its cluster, each person's person
cluster (Redis) -> search index (Redis) -> for a series episode, its recurring segments (intro, credits) against
other episodes -> the enriched record (handed to ``on_enriched``) and the archive record (returned, for the
archive topic). A series episode can also update the recurring segments of episodes published before it: their
latest records are then sent again with the new segments (the latest record of a video supersedes). Every sink
is idempotent, so replaying a request changes nothing but re-emitting the same records. A video deleted
meanwhile (storage/deleted_videos.py) is not enriched: nothing is indexed, sent or archived for it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from core.bits import select_key_frames
from core.clustering import topic_embedding
from core.event_checks import check_event
from core.languages import served_languages
from core.records import ArchivedVideo, DuplicateVerdict, EnrichedVideo, VideoPublished
from core.signature import CopySignature
from features.copy_media import copy_media
from features.keywords import extract_keywords
from features.media import decode_key_frames
from features.media_budget import within_budget
from inference.enrichment import Enrichment, enrich, enrichment_summary, reused_enrichment
from inference.language_prior import language_prior
from inference.triton_client import CLIP_MODELS, FACES_MODEL, TritonModels
from pipeline.outputs import archived_video, enriched_record, people_seen, video_card
from pipeline.series_detection import SeriesDetector
from pipeline.stopwatch import Stopwatch
from schemas.codec import decode_record, encode_record
from settings import Settings
from storage.deleted_videos import DeletedVideos
from storage.generations import IndexGeneration
from storage.media_files import media_digest, resolve_media_path

log = logging.getLogger(__name__)

EnrichedCallback = Callable[[EnrichedVideo], Awaitable[None]]


@dataclass(frozen=True)
class Enriched:
    enriched: EnrichedVideo
    archived: ArchivedVideo
    stage_seconds: dict[str, float]


class EnrichmentStage:
    def __init__(self, cfg: Settings, indexes: IndexGeneration, models: TritonModels) -> None:
        self.cfg = cfg
        self.indexes = indexes
        self.series = SeriesDetector(indexes.copies, indexes.series, cfg)
        self.models = models
        self.deleted = DeletedVideos(indexes.copies.client, cfg.redis_deleted_videos)
        self.features_on: dict[str, bool] = {}  # decided on the first event, from Triton's model states

    async def _feature_on(self, feature: str, model_names: tuple[str, ...]) -> bool:
        """Whether the optional ``feature`` runs: its models are ready in Triton (checked once, logged)."""
        if feature not in self.features_on:
            states = await self.models.model_states()
            missing = [f"{name}: {states[name].reason if name in states else 'not in the repository'}"
                       for name in model_names if name not in states or not states[name].ready]
            self.features_on[feature] = not missing
            if missing:
                log.warning("%s features off (%s)", feature, "; ".join(missing))
            else:
                log.info("%s features on", feature)
        return self.features_on[feature]

    async def _signature(self, event: VideoPublished) -> CopySignature:
        """The signature the copy stage stored; computed again if this generation lacks it (a reindex switched
        generations between the two stages)."""
        stored = await asyncio.to_thread(self.indexes.copies.indexed_videos, [event.video_id])
        if stored:
            return stored[0].signature
        log.info("video %s: no stored signature in generation %d, computing it", event.video_id,
                 self.indexes.number)
        path = resolve_media_path(event.media_uri, self.cfg.media_root)
        media = await asyncio.to_thread(within_budget, copy_media, path, self.cfg, event.media_uri, False,
                                        cfg=self.cfg, name=event.media_uri)
        return media.signature

    async def _language_prior(self, event: VideoPublished) -> dict[str, float]:
        """The served languages' prior weights for the video's speech: its title's language, its channel's."""
        channel = await asyncio.to_thread(self.indexes.search.channel_languages, event.channel_id,
                                          self.cfg.channel_language_videos, event.published_at_ms)
        return await asyncio.to_thread(language_prior, served_languages(self.cfg.spoken_languages),
                                       event.metadata_text, channel)

    async def enrich(self, event: VideoPublished, verdict: DuplicateVerdict,
                     on_enriched: EnrichedCallback | None = None) -> Enriched | None:
        """Enrich one judged video; ``on_enriched`` gets its enriched record, and the updated records of earlier
        episodes whose recurring segments it changed (raises PipelineError for media at fault). None: the video
        was deleted, nothing was done."""
        stopwatch = Stopwatch()
        check_event(event, datetime.now(UTC))  # as the copy stage did: a forged request is refused alike
        if await asyncio.to_thread(self.deleted.contains, event.video_id):
            log.info("video %s was deleted: not enriched", event.video_id)
            return None
        signature = await self._signature(event)
        path = resolve_media_path(event.media_uri, self.cfg.media_root)
        # the file is still the media the copy stage judged (or, in a generation that lacks it, becomes bound)
        await asyncio.to_thread(self.indexes.copies.claim_media, event.video_id, event.published_at_ms,
                                await asyncio.to_thread(media_digest, path))
        reused = await self._reuse(event, verdict)
        if reused is not None:
            enrichment, has_audio = reused
            stopwatch.lap("reused")
        else:
            key_frames = select_key_frames(signature.full_frame_bits, signature.quality, signature.cuts, 0,
                                           self.cfg.key_frame_min_hamming, self.cfg.key_frames_max)
            media = await asyncio.to_thread(within_budget, decode_key_frames, path,
                                            [float(signature.times_s[i]) for i in key_frames], self.cfg,
                                            event.media_uri, cfg=self.cfg, name=event.media_uri)
            stopwatch.lap("decode")
            enrichment = await enrich(media, event.metadata_text, self.models,
                                      await self._feature_on("CLIP", CLIP_MODELS), event.language_hint,
                                      self.cfg.faces_enabled and await self._feature_on("faces", (FACES_MODEL,)),
                                      signature.duration_s, self.cfg.seen_min_confidence,
                                      None if event.language_hint else await self._language_prior(event))
            has_audio = media.audio is not None and media.audio.size > 0
            stopwatch.lap("models")
        stopwatch.add({f"model_{name}": s for name, s in enrichment.model_seconds.items()})
        chunks = enrichment.text_chunks(event.metadata_text, signature.duration_s)
        keywords = await asyncio.to_thread(extract_keywords, [event.metadata_text, *enrichment.chunk_texts],
                                           self.cfg.keywords_max)
        topic = topic_embedding(enrichment.metadata_embedding if event.metadata_text else None,
                                enrichment.chunk_embeddings)
        cluster = await asyncio.to_thread(self.indexes.clusters.assign, topic)
        people = people_seen(enrichment.people, await asyncio.to_thread(
            lambda: [self.indexes.people.assign(person.embedding) for person in enrichment.people]))
        stopwatch.lap("keywords_cluster")
        if await asyncio.to_thread(self.deleted.contains, event.video_id):  # deleted while the models ran
            log.info("video %s was deleted: not indexed", event.video_id)
            return None
        await asyncio.to_thread(self.indexes.search.upsert_video, video_card(event, signature, verdict, keywords,
                                                                             cluster, people),
                                chunks, [round(t, 3) for t in enrichment.key_times_s], enrichment.clip_embeddings,
                                enrichment_summary(enrichment, has_audio))
        stopwatch.lap("search_index")
        enriched = enriched_record(event, signature, has_audio, verdict, enrichment, keywords, cluster, people,
                                   datetime.now(UTC))
        if event.series_id:
            enriched = await self._publish_series_episode(enriched, event.published_at_ms, signature, on_enriched)
            stopwatch.lap("series")
        elif on_enriched is not None:
            await on_enriched(enriched)
        archived = archived_video(event, signature, verdict, enrichment, topic, keywords, cluster, chunks)
        return Enriched(enriched, archived, stopwatch.seconds)

    async def _reuse(self, event: VideoPublished, verdict: DuplicateVerdict) -> tuple[Enrichment, bool] | None:
        """For an exact copy (every frame identical, the same audio) whose original is enriched: the original's
        transcript, on-screen text, chunk and frame embeddings, and whether it has audio; only the copy's own title
        and tags are embedded. Re-uploads of the same file are common, and skip every model but one this way."""
        if verdict.verdict != "EXACT_DUPLICATE" or verdict.duplicate_of is None:
            return None
        stored = await asyncio.to_thread(self.indexes.search.stored_enrichment, verdict.duplicate_of)
        if stored is None:  # the original's enrichment is not done yet
            return None
        started = time.perf_counter()
        metadata = (await self.models.embed_texts([event.metadata_text]))[0] if event.metadata_text else None
        log.info("video %s: enrichment of its original %s reused", event.video_id, verdict.duplicate_of)
        return reused_enrichment(stored, metadata, time.perf_counter() - started), stored.summary.has_audio

    async def _publish_series_episode(self, enriched: EnrichedVideo, published_at_ms: int,
                                      signature: CopySignature, on_enriched: EnrichedCallback | None) -> EnrichedVideo:
        """Compare the episode with its series under the series lock, publish its record with its recurring
        segments, and re-publish the other compared episodes whose segments changed. Holding the lock
        until they are sent means two workers never publish one series' records out of order, and an
        episode whose record was not sent yet (still being processed) reads its segments itself when it gets
        the lock."""
        assert enriched.series_id is not None
        store = self.indexes.series
        lock = await asyncio.to_thread(store.lock, enriched.series_id, self.cfg.series_lock_timeout_s)
        try:
            compared = await asyncio.to_thread(self.series.compare, enriched.series_id, enriched.video_id,
                                               published_at_ms, signature)
            enriched = await self._with_recurring_segments(enriched)
            await self._publish_episode(enriched, None, on_enriched)
            for other_id in compared:
                stored = await asyncio.to_thread(store.record, other_id)
                if stored is not None:
                    previous = decode_record(EnrichedVideo, stored)
                    update = await self._with_recurring_segments(
                        dataclasses.replace(previous, processed_at=datetime.now(UTC)))
                    await self._publish_episode(update, previous, on_enriched)
        finally:
            await asyncio.to_thread(store.unlock, lock)
        return enriched

    async def _with_recurring_segments(self, record: EnrichedVideo) -> EnrichedVideo:
        segments = await asyncio.to_thread(self.series.recurring_segments, record.video_id, record.duration_s)
        return dataclasses.replace(record, recurring_segments=segments)

    async def _publish_episode(self, record: EnrichedVideo, previous: EnrichedVideo | None,
                               on_enriched: EnrichedCallback | None) -> None:
        """Send an episode's record (an update of ``previous`` only if more than processed_at changed) and keep it
        as the episode's latest."""
        if previous is not None and _content(previous) == _content(record):
            return
        if on_enriched is not None:
            await on_enriched(record)
        await asyncio.to_thread(self.indexes.series.save_record, record.video_id, encode_record(record))


def _content(record: EnrichedVideo) -> bytes:
    """An enriched record's encoding without its processing time: equal when the content is."""
    return encode_record(dataclasses.replace(record, processed_at=datetime.fromtimestamp(0, UTC)))

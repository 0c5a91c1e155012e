"""What happens to one ``publish-video`` event.

decode media once -> copy signature (PDQ at ten framings, mirrored PDQ, chromaprint) -> index it in
Redis -> wait for earlier-published videos still in flight -> candidates, alignment and audio check ->
verdict (handed to ``on_verdict`` at once); meanwhile the enrichment models (Triton: asr, ocr, CLIP when
configured, text_encoder) -> keywords, topic embedding and its cluster (Redis) -> archive (ClickHouse) and
search index (Redis) -> for a series episode, its recurring segments (intro,
credits) against other episodes -> enriched record (handed to ``on_enriched``, then archived).
A series episode can also update the recurring segments of episodes published before it: their archived
enriched records are then sent again with the new segments (the latest record of a video supersedes).
Every sink is idempotent, so replaying an event changes nothing but re-emitting the same records.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from core.clustering import topic_embedding
from core.event_checks import check_event
from core.records import DuplicateVerdict, EnrichedVideo, VideoPublished
from core.signature import CopySignature
from features.copy_signature import copy_signature
from features.keywords import extract_keywords
from features.media import DecodedVideo, decode_video
from inference.enrichment import Enrichment, enrich
from inference.triton_client import CLIP_MODELS, TritonModels
from pipeline.copy_detection import CopyDetector
from pipeline.outputs import FEATURES_VERSION, archive_record, enriched_record, verdict_record, video_card
from pipeline.series_detection import SeriesDetector
from pipeline.stopwatch import Stopwatch
from schemas.codec import decode_record, encode_record
from settings import Settings
from storage.archive import Archive
from storage.generations import IndexGeneration
from storage.media_files import resolve_media_path

log = logging.getLogger(__name__)

VerdictCallback = Callable[[DuplicateVerdict], Awaitable[None]]
EnrichedCallback = Callable[[EnrichedVideo], Awaitable[None]]


@dataclass(frozen=True)
class Outcome:
    verdict: DuplicateVerdict
    enriched: EnrichedVideo
    newly_archived: bool
    stage_seconds: dict[str, float]


class VideoPipeline:
    def __init__(self, cfg: Settings, indexes: IndexGeneration, archive: Archive, models: TritonModels) -> None:
        self.cfg = cfg
        self.indexes = indexes
        self.detector = CopyDetector(indexes.copies, cfg)
        self.series = SeriesDetector(indexes.copies, indexes.series, cfg)
        self.archive = archive
        self.models = models
        self.use_clip: bool | None = None  # decided on the first event, from Triton's model states

    async def _clip_enabled(self) -> bool:
        if self.use_clip is None:
            states = await self.models.model_states()
            missing = [f"{name}: {states[name].reason if name in states else 'not in the repository'}"
                       for name in CLIP_MODELS if name not in states or not states[name].ready]
            self.use_clip = not missing
            if missing:
                log.warning("CLIP features off (%s)", "; ".join(missing))
            else:
                log.info("CLIP features on")
        return self.use_clip

    async def process(self, event: VideoPublished, on_verdict: VerdictCallback | None = None,
                      on_enriched: EnrichedCallback | None = None) -> Outcome:
        """Run the whole pipeline for one event; ``on_verdict`` gets the verdict record as soon as it exists,
        before the enrichment models are done; ``on_enriched`` gets this video's enriched record, and the
        updated records of earlier episodes whose recurring segments it changed."""
        stopwatch = Stopwatch()
        check_event(event, datetime.now(UTC))
        copies = self.indexes.copies
        await asyncio.to_thread(copies.mark_in_flight, event.video_id, event.published_at_ms,
                                self.cfg.in_flight_ttl_s)
        enrichment_task: asyncio.Task[Enrichment] | None = None
        try:
            path = resolve_media_path(event.media_uri, self.cfg.media_root)
            video: DecodedVideo = await asyncio.to_thread(decode_video, path, self.cfg)
            stopwatch.lap("decode")
            signature = await asyncio.to_thread(copy_signature, video, self.cfg)
            stopwatch.lap("copy_signature")
            enrichment_task = asyncio.create_task(
                enrich(video, signature, event.metadata_text, self.models, self.cfg, await self._clip_enabled()))
            verdict, judge_seconds = await asyncio.to_thread(self.detector.index_and_judge, event.video_id,
                                                             event.published_at_ms, signature)
            stopwatch.add(judge_seconds)
            verdict_out = verdict_record(event, verdict, datetime.now(UTC))
            if on_verdict is not None:
                await on_verdict(verdict_out)
            enrichment = await enrichment_task
        except BaseException:
            if enrichment_task is not None:
                enrichment_task.cancel()
            await asyncio.to_thread(copies.clear_in_flight, event.video_id)
            raise
        stopwatch.lap("enrichment_wait")
        stopwatch.add({f"model_{name}": s for name, s in enrichment.model_seconds.items()})
        chunks = enrichment.text_chunks(event.metadata_text, video.duration_s)
        keywords = await asyncio.to_thread(extract_keywords, [event.metadata_text, *enrichment.chunk_texts],
                                           self.cfg.keywords_max)
        topic = topic_embedding(enrichment.metadata_embedding if event.metadata_text else None,
                                enrichment.chunk_embeddings)
        cluster = await asyncio.to_thread(self.indexes.clusters.assign, topic)
        stopwatch.lap("keywords_cluster")
        newly_archived = await asyncio.to_thread(self.archive.archive, archive_record(
            event, video, verdict, signature, enrichment, topic, keywords, cluster, chunks))
        stopwatch.lap("archive")
        await asyncio.to_thread(self.indexes.search.upsert_video, video_card(event, video, verdict, keywords, cluster),
                                chunks, [video.frame_times_s[i] for i in enrichment.key_frames],
                                enrichment.clip_embeddings)
        stopwatch.lap("search_index")
        enriched = enriched_record(event, video, verdict, enrichment, keywords, cluster, datetime.now(UTC))
        if event.series_id:
            enriched = await self._publish_series_episode(enriched, event.published_at_ms, signature, on_enriched)
            stopwatch.lap("series")
        else:
            await self._publish_enriched(enriched, await self._latest_enriched(event.video_id), on_enriched,
                                         always_send=True)
        return Outcome(verdict=verdict_out, enriched=enriched, newly_archived=newly_archived,
                       stage_seconds=stopwatch.seconds)

    async def _publish_series_episode(self, enriched: EnrichedVideo, published_at_ms: int,
                                      signature: CopySignature, on_enriched: EnrichedCallback | None) -> EnrichedVideo:
        """Compare the episode with its series under the series lock, publish its record with its recurring
        segments, and re-publish the other compared episodes whose segments changed. Holding the lock
        until they are sent means two workers never publish one series' records out of order, and an
        episode not yet archived (still being processed) reads its segments itself when it gets the lock."""
        assert enriched.series_id is not None
        lock = await asyncio.to_thread(self.indexes.series.lock, enriched.series_id, self.cfg.series_lock_timeout_s)
        try:
            compared = await asyncio.to_thread(self.series.compare, enriched.series_id, enriched.video_id,
                                               published_at_ms, signature)
            enriched = await self._with_recurring_segments(enriched)
            await self._publish_enriched(enriched, await self._latest_enriched(enriched.video_id), on_enriched,
                                         always_send=True)
            for other_id in compared:
                stored = await self._latest_enriched(other_id)
                if stored is not None:
                    update = await self._with_recurring_segments(
                        dataclasses.replace(stored, processed_at=datetime.now(UTC)))
                    await self._publish_enriched(update, stored, on_enriched, always_send=False)
        finally:
            await asyncio.to_thread(self.indexes.series.unlock, lock)
        return enriched

    async def _with_recurring_segments(self, record: EnrichedVideo) -> EnrichedVideo:
        segments = await asyncio.to_thread(self.series.recurring_segments, record.video_id, record.duration_s)
        return dataclasses.replace(record, recurring_segments=segments)

    async def _latest_enriched(self, video_id: str) -> EnrichedVideo | None:
        """The video's last archived enriched record, decoded, if any."""
        stored = await asyncio.to_thread(self.archive.latest_enriched, video_id, FEATURES_VERSION)
        return None if stored is None else decode_record(EnrichedVideo, stored)

    async def _publish_enriched(self, record: EnrichedVideo, stored: EnrichedVideo | None,
                                on_enriched: EnrichedCallback | None, always_send: bool) -> None:
        """Send an enriched record (unless ``always_send`` is off and nothing but processed_at changed since
        ``stored``, the archived revision), then archive it as a new revision if anything did change."""
        changed = stored is None or _content(stored) != _content(record)
        if on_enriched is not None and (changed or always_send):
            await on_enriched(record)
        if changed:
            revision = int(record.processed_at.timestamp() * 1000)
            await asyncio.to_thread(self.archive.archive_enriched, record.video_id, FEATURES_VERSION, revision,
                                    encode_record(record), record.series_id, record.recurring_segments)


def _content(record: EnrichedVideo) -> bytes:
    """An enriched record's encoding without its processing time: equal when the content is."""
    return encode_record(dataclasses.replace(record, processed_at=datetime.fromtimestamp(0, UTC)))

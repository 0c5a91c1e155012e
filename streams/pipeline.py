"""What happens to one ``publish-video`` event, independent of Faust so it can be driven directly.

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
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from inference.copy_features import CopySignature, copy_signature
from inference.features import Enrichment, enrich
from inference.keywords import extract_keywords
from inference.media import DecodedVideo, decode_video, resolve_media_path
from inference.triton_client import CLIP_MODELS, TritonModels
from schemas.codec import decode, encode
from settings import Settings
from storage.archive import Archive, ArchiveRecord
from storage.cluster_index import Assignment, ClusterIndex
from storage.copy_index import CopyIndex
from storage.search_index import SearchIndex, VideoCard
from storage.series_store import SeriesStore
from streams.clustering import topic_embedding
from streams.copy_detection import CopyDetector
from streams.event_checks import check_event
from streams.series_detection import SeriesDetector
from streams.verdicts import Verdict

# Bump when a feature extractor changes: archived rows are keyed by (video_id, FEATURES_VERSION).
FEATURES_VERSION = "pdq3framings10-chromaprint1-whisperbase1-ppocr4-minilm1-yake1"

log = logging.getLogger(__name__)

RecordCallback = Callable[[dict[str, Any]], Awaitable[None]]


@dataclass(frozen=True)
class Outcome:
    verdict: dict[str, Any]  # a DuplicateVerdict record
    enriched: dict[str, Any]  # an EnrichedVideo record
    newly_archived: bool
    stage_seconds: dict[str, float]


def event_text(event: dict[str, Any]) -> str:
    """The publisher's own words about the video: title, description and tags."""
    parts = [event.get("title") or "", event.get("description") or "", " ".join(event.get("tags") or [])]
    return "\n".join(p for p in parts if p.strip())


class VideoPipeline:
    def __init__(self, cfg: Settings, copy_index: CopyIndex, archive: Archive, models: TritonModels,
                 search_index: SearchIndex, cluster_index: ClusterIndex) -> None:
        self.cfg = cfg
        self.copy_index = copy_index
        self.search_index = search_index
        self.cluster_index = cluster_index
        self.detector = CopyDetector(copy_index, cfg)
        self.series_store = SeriesStore(copy_index.client, copy_index.name)
        self.series = SeriesDetector(copy_index, self.series_store, cfg)
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

    async def process(self, event: dict[str, Any], on_verdict: RecordCallback | None = None,
                      on_enriched: RecordCallback | None = None) -> Outcome:
        """Run the whole pipeline for one event; ``on_verdict`` gets the verdict record as soon as it exists,
        before the enrichment models are done; ``on_enriched`` gets this video's enriched record, and the
        updated records of earlier episodes whose recurring segments it changed."""
        timings: dict[str, float] = {}
        started = time.perf_counter()

        def lap(stage: str) -> None:
            nonlocal started
            now = time.perf_counter()
            timings[stage] = round(now - started, 4)
            started = now

        check_event(event, datetime.now(UTC))
        video_id = event["video_id"]
        published_at_ms = int(event["published_at"].timestamp() * 1000)
        await asyncio.to_thread(self.copy_index.mark_in_flight, video_id, published_at_ms, self.cfg.in_flight_ttl_s)
        enrichment_task: asyncio.Task[Enrichment] | None = None
        try:
            path = resolve_media_path(event["media_uri"], self.cfg.media_root)
            video: DecodedVideo = await asyncio.to_thread(decode_video, path, self.cfg)
            lap("decode")
            signature = await asyncio.to_thread(copy_signature, video, self.cfg)
            lap("copy_signature")
            enrichment_task = asyncio.create_task(
                enrich(video, signature, event_text(event), self.models, self.cfg, await self._clip_enabled()))
            verdict, judge_seconds = await asyncio.to_thread(self.detector.index_and_judge, video_id, published_at_ms,
                                                             signature)
            timings.update(judge_seconds)
            started = time.perf_counter()
            verdict_out = verdict_record(event, verdict, datetime.now(UTC))
            if on_verdict is not None:
                await on_verdict(verdict_out)
            enrichment = await enrichment_task
        except BaseException:
            if enrichment_task is not None:
                enrichment_task.cancel()
            await asyncio.to_thread(self.copy_index.clear_in_flight, video_id)
            raise
        lap("enrichment_wait")
        timings.update({f"model_{name}": s for name, s in enrichment.model_seconds.items()})
        metadata_text = event_text(event)
        chunks = enrichment.text_chunks(metadata_text, video.duration_s)
        keywords = await asyncio.to_thread(extract_keywords, [metadata_text, *enrichment.chunk_texts],
                                           self.cfg.keywords_max)
        topic = topic_embedding(enrichment.metadata_embedding if metadata_text else None, enrichment.chunk_embeddings)
        cluster = await asyncio.to_thread(self.cluster_index.assign, topic)
        lap("keywords_cluster")
        newly_archived = await asyncio.to_thread(self.archive.archive, ArchiveRecord(
            video_id=video_id, features_version=FEATURES_VERSION, channel_id=event["channel_id"],
            published_at=event["published_at"], duration_s=video.duration_s, title=event.get("title") or "",
            verdict=verdict.kind, duplicate_of=verdict.duplicate_of, text_embedding=enrichment.metadata_embedding,
            frame_times_s=video.frame_times_s,
            frame_pdq_hex=[bits.tobytes().hex() for bits in signature.full_frame_bits],
            frame_pdq_quality=[int(q) for q in signature.quality], topic_embedding=topic, keywords=keywords,
            cluster_id=cluster.cluster_id if cluster else None, chunks=chunks))
        lap("archive")
        card = VideoCard(
            video_id=video_id, channel_id=event["channel_id"], published_at_ms=published_at_ms,
            title=event.get("title") or "", duration_s=video.duration_s, media_uri=event["media_uri"],
            verdict=verdict.kind, duplicate_of=verdict.duplicate_of, cluster_id=cluster.cluster_id if cluster else None,
            cluster_label=cluster.label if cluster else None, keywords=tuple(keywords))
        await asyncio.to_thread(self.search_index.upsert_video, card, chunks,
                                [video.frame_times_s[i] for i in enrichment.key_frames], enrichment.clip_embeddings)
        lap("search_index")
        enriched = enriched_record(event, video, verdict, enrichment, keywords, cluster, datetime.now(UTC))
        if event.get("series_id"):
            enriched = await self._publish_series_episode(enriched, published_at_ms, signature, on_enriched)
            lap("series")
        else:
            await self._publish_enriched(enriched, await self._latest_enriched(video_id), on_enriched,
                                         always_send=True)
        return Outcome(verdict=verdict_out, enriched=enriched, newly_archived=newly_archived, stage_seconds=timings)

    async def _publish_series_episode(self, enriched: dict[str, Any], published_at_ms: int,
                                      signature: CopySignature, on_enriched: RecordCallback | None) -> dict[str, Any]:
        """Compare the episode with its series under the series lock, publish its record with its recurring
        segments, and re-publish the other compared episodes whose segments changed. Holding the lock
        until they are sent means two workers never publish one series' records out of order, and an
        episode not yet archived (still being processed) reads its segments itself when it gets the lock."""
        series_id = enriched["series_id"]
        lock = await asyncio.to_thread(self.series_store.lock, series_id, self.cfg.series_lock_timeout_s)
        try:
            compared = await asyncio.to_thread(self.series.compare, series_id, enriched["video_id"],
                                               published_at_ms, signature)
            enriched = await self._with_recurring_segments(enriched)
            await self._publish_enriched(enriched, await self._latest_enriched(enriched["video_id"]), on_enriched,
                                         always_send=True)
            for other_id in compared:
                stored = await self._latest_enriched(other_id)
                if stored is not None:
                    update = await self._with_recurring_segments({**stored, "processed_at": datetime.now(UTC)})
                    await self._publish_enriched(update, stored, on_enriched, always_send=False)
        finally:
            await asyncio.to_thread(SeriesStore.unlock, lock)
        return enriched

    async def _with_recurring_segments(self, record: dict[str, Any]) -> dict[str, Any]:
        segments = await asyncio.to_thread(self.series.recurring_segments, record["video_id"], record["duration_s"])
        return {**record, "recurring_segments": [
            {"kind": s.kind, "start_s": s.start_s, "end_s": s.end_s, "shared_with": list(s.shared_with)}
            for s in segments]}

    async def _latest_enriched(self, video_id: str) -> dict[str, Any] | None:
        """The video's last archived enriched record, decoded, if any."""
        stored = await asyncio.to_thread(self.archive.latest_enriched, video_id, FEATURES_VERSION)
        return None if stored is None else decode("EnrichedVideo", stored)

    async def _publish_enriched(self, record: dict[str, Any], stored: dict[str, Any] | None,
                                on_enriched: RecordCallback | None, always_send: bool) -> None:
        """Send an enriched record (unless ``always_send`` is off and nothing but processed_at changed since
        ``stored``, the archived revision), then archive it as a new revision if anything did change."""
        video_id = record["video_id"]
        changed = stored is None or _content(stored) != _content(record)
        if on_enriched is not None and (changed or always_send):
            await on_enriched(record)
        if changed:
            revision = int(record["processed_at"].timestamp() * 1000)
            await asyncio.to_thread(self.archive.archive_enriched, video_id, FEATURES_VERSION, revision,
                                    encode("EnrichedVideo", record), record["series_id"], record["recurring_segments"])


def _content(record: dict[str, Any]) -> bytes:
    """An enriched record's encoding without its processing time: equal when the content is."""
    return encode("EnrichedVideo", {**record, "processed_at": datetime.fromtimestamp(0, UTC)})


def verdict_record(event: dict[str, Any], verdict: Verdict, processed_at: datetime) -> dict[str, Any]:
    return {
        "video_id": event["video_id"], "published_at": event["published_at"], "verdict": verdict.kind,
        "duplicate_of": verdict.duplicate_of, "score": verdict.score, "reason": verdict.reason,
        "matches": verdict.match_records(), "copies": verdict.copies, "features_version": FEATURES_VERSION,
        "processed_at": processed_at,
    }


def enriched_record(event: dict[str, Any], video: DecodedVideo, verdict: Verdict, enrichment: Enrichment,
                    keywords: list[str], cluster: Assignment | None, processed_at: datetime) -> dict[str, Any]:
    transcript = enrichment.transcript
    return {
        "video_id": event["video_id"], "channel_id": event["channel_id"], "published_at": event["published_at"],
        "title": event.get("title"), "tags": event.get("tags") or [], "duration_s": video.duration_s,
        "has_audio": video.audio is not None and video.audio.size > 0, "frame_count": len(video.frames),
        "verdict": verdict.kind, "duplicate_of": verdict.duplicate_of,
        "cluster_id": cluster.cluster_id if cluster else None, "cluster_label": cluster.label if cluster else None,
        "cluster_distance": cluster.distance if cluster else None, "keywords": keywords,
        "archive": {"videos_table": "videos", "frames_table": "video_frames", "chunks_table": "video_chunks",
                    "features_version": FEATURES_VERSION},
        "processed_at": processed_at,
        "transcript": {"language": transcript["language"], "no_speech": transcript["no_speech"],
                       "speech_s": transcript["speech_s"],
                       "segments": [{"start_s": seg["start_s"], "end_s": seg["end_s"], "text": seg["text"]}
                                    for seg in transcript["segments"]]},
        "ocr": [dataclasses.asdict(line) for line in enrichment.ocr],
        "clip_features": enrichment.clip_embeddings is not None,
        "series_id": event.get("series_id"), "episode_number": event.get("episode_number"), "recurring_segments": [],
    }

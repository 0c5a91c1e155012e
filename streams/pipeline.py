"""What happens to one ``publish-video`` event, independent of Faust so it can be driven directly.

decode media once -> PDQ frame hashes -> text embedding (Triton) -> nearest frames of other videos
(Redis) -> verdict -> upsert own frames (Redis) -> archive (ClickHouse) -> verdict + enriched records.
Every sink is idempotent, so replaying an event changes nothing but re-emitting the same verdict.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np

from inference.descriptors import FrameHash, pdq_hash
from inference.media import DecodedVideo, decode_video, resolve_media_path
from inference.triton_client import TEXT_EMBEDDING_DIMS, TritonModels
from settings import Settings
from storage.archive import Archive, ArchiveRecord
from storage.frame_index import FrameIndex
from streams.verdicts import Verdict, decide, summarize_matches

# Bump when a feature extractor changes: archived rows are keyed by (video_id, FEATURES_VERSION).
FEATURES_VERSION = "pdq1-minilm1"
NEIGHBOURS_PER_FRAME = 10


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
    def __init__(self, cfg: Settings, frame_index: FrameIndex, archive: Archive, models: TritonModels) -> None:
        self.cfg = cfg
        self.frame_index = frame_index
        self.archive = archive
        self.models = models

    async def process(self, event: dict[str, Any]) -> Outcome:
        timings: dict[str, float] = {}
        started = time.perf_counter()

        def lap(stage: str) -> None:
            nonlocal started
            now = time.perf_counter()
            timings[stage] = round(now - started, 4)
            started = now

        path = resolve_media_path(event["media_uri"], self.cfg.media_root)
        video: DecodedVideo = await asyncio.to_thread(decode_video, path, self.cfg)
        lap("decode")
        hashes: list[FrameHash] = await asyncio.to_thread(lambda: [pdq_hash(f) for f in video.frames])
        lap("pdq")
        text = event_text(event)
        embedding = (await self.models.embed_texts([text]))[0] if text else np.zeros(TEXT_EMBEDDING_DIMS, np.float32)
        lap("text_encoder")

        usable = [(t, h) for t, h in zip(video.frame_times_s, hashes, strict=True)
                  if h.quality >= self.cfg.pdq_min_quality]
        usable_times = [t for t, _ in usable]
        vectors = [h.as_signed_vector() for _, h in usable]
        published_at_ms = int(event["published_at"].timestamp() * 1000)
        neighbours = await asyncio.to_thread(
            self.frame_index.nearest, vectors, event["video_id"], NEIGHBOURS_PER_FRAME, self.cfg.pdq_match_hamming)
        verdict = decide(summarize_matches(neighbours, usable_times), event["video_id"], published_at_ms,
                         len(vectors), self.cfg.duplicate_min_coverage, self.cfg.partial_copy_min_coverage)
        lap("lookup")
        await asyncio.to_thread(self.frame_index.upsert_video, event["video_id"], published_at_ms,
                                usable_times, vectors)
        lap("index")
        newly_archived = await asyncio.to_thread(self.archive.archive, ArchiveRecord(
            video_id=event["video_id"], features_version=FEATURES_VERSION, channel_id=event["channel_id"],
            published_at=event["published_at"], duration_s=video.duration_s, title=event.get("title") or "",
            verdict=verdict.kind, duplicate_of=verdict.duplicate_of, text_embedding=embedding,
            frame_times_s=video.frame_times_s, frame_pdq_hex=[h.hex for h in hashes],
            frame_pdq_quality=[h.quality for h in hashes]))
        lap("archive")
        processed_at = datetime.now(UTC)
        return Outcome(
            verdict=verdict_record(event, verdict, processed_at),
            enriched=enriched_record(event, video, verdict, processed_at),
            newly_archived=newly_archived,
            stage_seconds=timings,
        )


def verdict_record(event: dict[str, Any], verdict: Verdict, processed_at: datetime) -> dict[str, Any]:
    return {
        "video_id": event["video_id"], "published_at": event["published_at"], "verdict": verdict.kind,
        "duplicate_of": verdict.duplicate_of, "score": verdict.score, "reason": verdict.reason,
        "matches": [m.as_record() for m in verdict.matches[:10]], "features_version": FEATURES_VERSION,
        "processed_at": processed_at,
    }


def enriched_record(event: dict[str, Any], video: DecodedVideo, verdict: Verdict,
                    processed_at: datetime) -> dict[str, Any]:
    return {
        "video_id": event["video_id"], "channel_id": event["channel_id"], "published_at": event["published_at"],
        "title": event.get("title"), "tags": event.get("tags") or [], "duration_s": video.duration_s,
        "has_audio": video.audio is not None and video.audio.size > 0, "frame_count": len(video.frames),
        "verdict": verdict.kind, "duplicate_of": verdict.duplicate_of, "cluster_id": None,
        "archive": {"videos_table": "videos", "frames_table": "video_frames", "features_version": FEATURES_VERSION},
        "processed_at": processed_at,
    }

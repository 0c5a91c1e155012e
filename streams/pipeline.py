"""What happens to one ``publish-video`` event, independent of Faust so it can be driven directly.

decode media once -> duplicate features (PDQ, mirrored PDQ, chromaprint) -> nearest frames of other videos
(Redis), as shown and mirrored -> verdict -> upsert own frames (Redis); meanwhile the enrichment models
(Triton: asr, ocr, CLIP when configured, text_encoder) -> archive (ClickHouse) -> verdict + enriched records.
Every sink is idempotent, so replaying an event changes nothing but re-emitting the same verdict.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np

from inference.features import DuplicateFeatures, Enrichment, duplicate_features, enrich
from inference.media import DecodedVideo, decode_video, resolve_media_path
from inference.triton_client import CLIP_MODELS, TritonModels
from settings import Settings
from storage.archive import Archive, ArchiveRecord
from storage.frame_index import FrameIndex
from streams.verdicts import Verdict, decide, summarize_matches

# Bump when a feature extractor changes: archived rows are keyed by (video_id, FEATURES_VERSION).
FEATURES_VERSION = "pdq2-whisperbase1-ppocr4-minilm1"
NEIGHBOURS_PER_FRAME = 10

log = logging.getLogger(__name__)


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

    def _lookup(self, event: dict[str, Any], published_at_ms: int, video: DecodedVideo,
                dup: DuplicateFeatures) -> tuple[Verdict, list[float], list[np.ndarray]]:
        """The verdict from the frame index, trying the frames as shown and mirrored (flipped copies)."""
        usable = [i for i, h in enumerate(dup.hashes) if h.quality >= self.cfg.pdq_min_quality]
        times = [video.frame_times_s[i] for i in usable]
        best: Verdict | None = None
        vectors_as_shown: list[np.ndarray] = []
        for mirrored, hashes in ((False, dup.hashes), (True, dup.mirrored_hashes)):
            vectors = [hashes[i].as_signed_vector() for i in usable]
            vectors_as_shown = vectors_as_shown or vectors
            neighbours = self.frame_index.nearest(vectors, event["video_id"], NEIGHBOURS_PER_FRAME,
                                                  self.cfg.pdq_match_hamming)
            verdict = decide(summarize_matches(neighbours, times), event["video_id"], published_at_ms,
                             len(vectors), self.cfg.duplicate_min_coverage, self.cfg.partial_copy_min_coverage)
            if mirrored and verdict.duplicate_of:
                verdict = dataclasses.replace(verdict, reason=verdict.reason + " (mirrored left-right)")
            if best is None or (verdict.duplicate_of and verdict.score > best.score):
                best = verdict
        assert best is not None
        return best, times, vectors_as_shown

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
        dup = await asyncio.to_thread(duplicate_features, video)
        lap("duplicate_features")
        enrichment_task = asyncio.create_task(
            enrich(video, dup, event_text(event), self.models, self.cfg, await self._clip_enabled()))
        published_at_ms = int(event["published_at"].timestamp() * 1000)
        try:
            verdict, usable_times, vectors = await asyncio.to_thread(
                self._lookup, event, published_at_ms, video, dup)
            lap("lookup")
            await asyncio.to_thread(self.frame_index.upsert_video, event["video_id"], published_at_ms,
                                    usable_times, vectors)
            lap("index")
        except BaseException:
            enrichment_task.cancel()
            raise
        enrichment = await enrichment_task
        lap("enrichment_wait")
        timings.update({f"model_{name}": s for name, s in enrichment.model_seconds.items()})
        newly_archived = await asyncio.to_thread(self.archive.archive, ArchiveRecord(
            video_id=event["video_id"], features_version=FEATURES_VERSION, channel_id=event["channel_id"],
            published_at=event["published_at"], duration_s=video.duration_s, title=event.get("title") or "",
            verdict=verdict.kind, duplicate_of=verdict.duplicate_of, text_embedding=enrichment.metadata_embedding,
            frame_times_s=video.frame_times_s, frame_pdq_hex=[h.hex for h in dup.hashes],
            frame_pdq_quality=[h.quality for h in dup.hashes]))
        lap("archive")
        processed_at = datetime.now(UTC)
        return Outcome(
            verdict=verdict_record(event, verdict, processed_at),
            enriched=enriched_record(event, video, verdict, enrichment, processed_at),
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


def enriched_record(event: dict[str, Any], video: DecodedVideo, verdict: Verdict, enrichment: Enrichment,
                    processed_at: datetime) -> dict[str, Any]:
    transcript = enrichment.transcript
    return {
        "video_id": event["video_id"], "channel_id": event["channel_id"], "published_at": event["published_at"],
        "title": event.get("title"), "tags": event.get("tags") or [], "duration_s": video.duration_s,
        "has_audio": video.audio is not None and video.audio.size > 0, "frame_count": len(video.frames),
        "verdict": verdict.kind, "duplicate_of": verdict.duplicate_of, "cluster_id": None,
        "archive": {"videos_table": "videos", "frames_table": "video_frames", "features_version": FEATURES_VERSION},
        "processed_at": processed_at,
        "transcript": {"language": transcript["language"], "no_speech": transcript["no_speech"],
                       "speech_s": transcript["speech_s"],
                       "segments": [{"start_s": seg["start_s"], "end_s": seg["end_s"], "text": seg["text"]}
                                    for seg in transcript["segments"]]},
        "ocr": [dataclasses.asdict(line) for line in enrichment.ocr],
        "clip_features": enrichment.clip_embeddings is not None,
    }

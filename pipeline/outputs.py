"""The records one processed video leaves behind, built from what the pipeline found: its verdict and its
enriched record (Kafka, core/records.py), its archive row (ClickHouse) and its search card (Redis)."""

from __future__ import annotations

from datetime import datetime

import numpy as np

from core.records import DuplicateVerdict, EnrichedVideo, Transcript, TranscriptSegment, VideoPublished
from core.signature import CopySignature
from core.text import TextChunk
from core.verdicts import Verdict
from features.media import DecodedVideo
from inference.enrichment import Enrichment
from storage.archive import Archive, ArchiveRecord
from storage.cluster_index import Assignment
from storage.search_index import VideoCard

# Bump when a feature extractor changes: archived rows are keyed by (video_id, FEATURES_VERSION).
FEATURES_VERSION = "pdq3framings10-chromaprint1-whisperbase1-ppocr4-minilm1-yake1"


def verdict_record(event: VideoPublished, verdict: Verdict, processed_at: datetime) -> DuplicateVerdict:
    return DuplicateVerdict(
        video_id=event.video_id, published_at=event.published_at, verdict=verdict.kind,
        duplicate_of=verdict.duplicate_of, score=verdict.score, reason=verdict.reason,
        matches=verdict.match_records(), copies=verdict.copies, features_version=FEATURES_VERSION,
        processed_at=processed_at)


def enriched_record(event: VideoPublished, video: DecodedVideo, verdict: Verdict, enrichment: Enrichment,
                    keywords: list[str], cluster: Assignment | None, processed_at: datetime) -> EnrichedVideo:
    transcript = enrichment.transcript
    return EnrichedVideo(
        video_id=event.video_id, channel_id=event.channel_id, published_at=event.published_at, title=event.title,
        tags=event.tags, duration_s=video.duration_s, has_audio=video.audio is not None and video.audio.size > 0,
        frame_count=len(video.frames), verdict=verdict.kind, duplicate_of=verdict.duplicate_of,
        cluster_id=cluster.cluster_id if cluster else None, cluster_label=cluster.label if cluster else None,
        cluster_distance=cluster.distance if cluster else None, keywords=keywords,
        archive=Archive.reference(FEATURES_VERSION), processed_at=processed_at,
        transcript=Transcript(language=transcript["language"], no_speech=transcript["no_speech"],
                              speech_s=transcript["speech_s"],
                              segments=[TranscriptSegment(seg["start_s"], seg["end_s"], seg["text"])
                                        for seg in transcript["segments"]]),
        ocr=enrichment.ocr, clip_features=enrichment.clip_embeddings is not None, series_id=event.series_id,
        episode_number=event.episode_number, recurring_segments=[])


def archive_record(event: VideoPublished, video: DecodedVideo, verdict: Verdict, signature: CopySignature,
                   enrichment: Enrichment, topic: np.ndarray | None, keywords: list[str],
                   cluster: Assignment | None, chunks: list[TextChunk]) -> ArchiveRecord:
    return ArchiveRecord(
        video_id=event.video_id, features_version=FEATURES_VERSION, channel_id=event.channel_id,
        published_at=event.published_at, duration_s=video.duration_s, title=event.title or "",
        verdict=verdict.kind, duplicate_of=verdict.duplicate_of, text_embedding=enrichment.metadata_embedding,
        frame_times_s=video.frame_times_s, frame_pdq_hex=[bits.tobytes().hex() for bits in signature.full_frame_bits],
        frame_pdq_quality=[int(q) for q in signature.quality], topic_embedding=topic, keywords=keywords,
        cluster_id=cluster.cluster_id if cluster else None, chunks=chunks)


def video_card(event: VideoPublished, video: DecodedVideo, verdict: Verdict, keywords: list[str],
               cluster: Assignment | None) -> VideoCard:
    return VideoCard(
        video_id=event.video_id, channel_id=event.channel_id, published_at_ms=event.published_at_ms,
        title=event.title or "", duration_s=video.duration_s, media_uri=event.media_uri, verdict=verdict.kind,
        duplicate_of=verdict.duplicate_of, cluster_id=cluster.cluster_id if cluster else None,
        cluster_label=cluster.label if cluster else None, keywords=tuple(keywords))

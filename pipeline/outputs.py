"""The records one processed video leaves behind, built from what the stages found: its verdict and its
enriched record (Kafka, core/records.py), its archive record (the archive topic) and its search card (Redis)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import numpy as np

from core.faces import Person
from core.records import (
    ArchivedFrame,
    ArchivedPerson,
    ArchivedVideo,
    DuplicateVerdict,
    EnrichedVideo,
    PersonSeen,
    SeenConcept,
    Transcript,
    TranscriptSegment,
    VideoPublished,
)
from core.signature import CopySignature
from core.text import TextChunk
from core.verdicts import Verdict
from inference.enrichment import Enrichment
from storage.archive import Archive
from storage.cluster_index import Assignment
from storage.search_index import VideoCard

# Bump when a feature extractor changes: archived rows are keyed by (video_id, FEATURES_VERSION).
FEATURES_VERSION = "pdq3framings10-chromaprint1-whisperbase1-ppocr4-usem3v1-yake1-dlibfaces1"


def verdict_record(event: VideoPublished, verdict: Verdict, processed_at: datetime,
                   damaged_packets: int = 0) -> DuplicateVerdict:
    """The verdict as sent; its reason also says how many damaged packets decoding skipped, if any."""
    damage = f" (decoded past {damaged_packets} damaged packets)" if damaged_packets else ""
    return DuplicateVerdict(
        video_id=event.video_id, published_at=event.published_at, verdict=verdict.kind,
        duplicate_of=verdict.duplicate_of, score=verdict.score, reason=verdict.reason + damage,
        matches=verdict.match_records(), copies=verdict.copies, features_version=FEATURES_VERSION,
        processed_at=processed_at)


def people_seen(people: Sequence[Person], assignments: Sequence[Assignment | None]) -> list[PersonSeen]:
    """The people a video shows as its records carry them: each with the person cluster it was assigned to."""
    return [PersonSeen(assignment.cluster_id if assignment else None, p.first_s, p.last_s, p.times_s, p.faces,
                       round(p.confidence, 3)) for p, assignment in zip(people, assignments, strict=True)]


def enriched_record(event: VideoPublished, signature: CopySignature, has_audio: bool, verdict: DuplicateVerdict,
                    enrichment: Enrichment, keywords: list[str], cluster: Assignment | None,
                    people: list[PersonSeen], processed_at: datetime) -> EnrichedVideo:
    transcript = enrichment.transcript
    return EnrichedVideo(
        video_id=event.video_id, channel_id=event.channel_id, published_at=event.published_at, title=event.title,
        tags=event.tags, duration_s=signature.duration_s, has_audio=has_audio, frame_count=len(signature.times_s),
        verdict=verdict.verdict, duplicate_of=verdict.duplicate_of,
        cluster_id=cluster.cluster_id if cluster else None, cluster_label=cluster.label if cluster else None,
        cluster_distance=cluster.distance if cluster else None, keywords=keywords,
        archive=Archive.reference(FEATURES_VERSION), processed_at=processed_at,
        transcript=Transcript(language=transcript["language"], no_speech=transcript["no_speech"],
                              speech_s=transcript["speech_s"],
                              segments=[TranscriptSegment(seg["start_s"], seg["end_s"], seg["text"])
                                        for seg in transcript["segments"]]),
        ocr=enrichment.ocr, clip_features=enrichment.clip_embeddings is not None, series_id=event.series_id,
        episode_number=event.episode_number, recurring_segments=[],
        people=people, seen=[SeenConcept(s.concept, s.imagenet_class, s.start_s, s.end_s, s.confidence)
                             for s in enrichment.seen])


def archived_video(event: VideoPublished, signature: CopySignature, verdict: DuplicateVerdict,
                   enrichment: Enrichment, topic: np.ndarray | None, keywords: list[str],
                   cluster: Assignment | None, chunks: list[TextChunk]) -> ArchivedVideo:
    return ArchivedVideo(
        video_id=event.video_id, features_version=FEATURES_VERSION, channel_id=event.channel_id,
        published_at=event.published_at, duration_s=signature.duration_s, title=event.title or "",
        verdict=verdict.verdict, duplicate_of=verdict.duplicate_of, text_embedding=enrichment.metadata_embedding,
        topic_embedding=np.zeros(0, np.float32) if topic is None else topic, keywords=keywords,
        cluster_id=cluster.cluster_id if cluster else None,
        frames=[ArchivedFrame(round(float(t), 3), bits.tobytes().hex(), int(quality)) for t, bits, quality
                in zip(signature.times_s, signature.full_frame_bits, signature.quality, strict=True)],
        chunks=chunks, people=[ArchivedPerson(p.first_s, p.last_s, p.faces, p.confidence, p.embedding)
                               for p in enrichment.people])


def video_card(event: VideoPublished, signature: CopySignature, verdict: DuplicateVerdict, keywords: list[str],
               cluster: Assignment | None, people: list[PersonSeen]) -> VideoCard:
    return VideoCard(
        video_id=event.video_id, channel_id=event.channel_id, published_at_ms=event.published_at_ms,
        title=event.title or "", duration_s=signature.duration_s, media_uri=event.media_uri,
        verdict=verdict.verdict, duplicate_of=verdict.duplicate_of, cluster_id=cluster.cluster_id if cluster else None,
        cluster_label=cluster.label if cluster else None, keywords=tuple(keywords), people=tuple(people))

"""The records on the Kafka topics, typed: one dataclass per Avro record of schemas/*.avsc.

Producers build these instead of dict literals, so a missing or misspelt field fails where the record is made,
and tests/unit/test_records.py checks every field of every class (nested records too) against its ``.avsc``.
``as_avro`` turns a record into what the Avro writer takes and ``from_avro`` reads one back; the wire codec is
schemas/codec.py (``encode_record``, ``decode_record``). A top-level record names its schema in ``SCHEMA``.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, TypeVar

import numpy as np

from core.recurring_segments import RecurringSegment
from core.text import OcrText, TextChunk

R = TypeVar("R")


@dataclass(frozen=True)
class VideoPublished:
    """A newly published video (topic publish-video)."""

    SCHEMA: ClassVar[str] = "VideoPublished"
    video_id: str
    media_uri: str
    channel_id: str
    published_at: datetime
    title: str | None = None
    description: str | None = None
    tags: list[str] = field(default_factory=list)
    series_id: str | None = None
    episode_number: int | None = None
    language_hint: str | None = None

    @property
    def published_at_ms(self) -> int:
        return int(self.published_at.timestamp() * 1000)

    @property
    def metadata_text(self) -> str:
        """The publisher's own words about the video: title, description and tags."""
        parts = [self.title or "", self.description or "", " ".join(self.tags)]
        return "\n".join(p for p in parts if p.strip())


@dataclass(frozen=True)
class GeometryRecord:
    """How local features placed the original's picture in this one (MatchRecord.geometry)."""

    inliers: int
    box: list[float]  # [left, top, width, height] shares of this video's picture
    angle_deg: float
    mirrored: bool


@dataclass(frozen=True)
class MatchRecord:
    """An earlier-published video whose frames aligned with this one's (DuplicateVerdict.matches: Match)."""

    video_id: str
    score: float
    query_coverage: float
    reference_coverage: float
    query_start_s: float
    query_end_s: float
    reference_start_s: float
    reference_end_s: float
    visual_copy: bool
    aligned_frames: int
    mean_hamming: float
    speed: float
    mirrored: bool
    crop_width: float
    crop_height: float
    audio: str  # an AudioMatch symbol
    audio_bit_error_rate: float | None
    signal: str = "pdq"  # a CopySignal symbol: what found the match
    descriptor_score: float | None = None
    region: list[float] | None = None  # [left, top, width, height] shares of the picture showing the copy
    geometry: GeometryRecord | None = None


@dataclass(frozen=True)
class DuplicateVerdict:
    """The duplicate verdict of one video (topic verdict)."""

    SCHEMA: ClassVar[str] = "DuplicateVerdict"
    video_id: str
    published_at: datetime
    verdict: str  # a VerdictKind symbol
    duplicate_of: str | None
    score: float
    reason: str
    matches: list[MatchRecord]
    copies: list[str]
    features_version: str
    processed_at: datetime


@dataclass(frozen=True)
class ArchiveRef:
    """Where a video's embeddings are archived in ClickHouse."""

    videos_table: str
    frames_table: str
    chunks_table: str
    features_version: str


@dataclass(frozen=True)
class TranscriptSegment:
    start_s: float
    end_s: float
    text: str


@dataclass(frozen=True)
class Transcript:
    language: str | None
    no_speech: bool
    speech_s: float
    segments: list[TranscriptSegment]


@dataclass(frozen=True)
class PersonSeen:
    """A distinct person whose face a video shows (EnrichedVideo.people; core/faces.Person without its
    embedding)."""

    person_id: str | None  # the person cluster it was assigned to; None: near no person cluster (yet)
    first_s: float
    last_s: float
    times_s: list[float]
    faces: int
    confidence: float


@dataclass(frozen=True)
class ArchivedPerson:
    """A distinct person a video shows, with the mean of their face descriptors (ArchivedVideo.people)."""

    first_s: float
    last_s: float
    faces: int
    confidence: float
    embedding: np.ndarray  # 128-d dlib descriptor space


@dataclass(frozen=True)
class SeenConcept:
    """An ImageNet concept seen over consecutive key frames (EnrichedVideo.seen; core/visual_concepts.py)."""

    concept: str
    imagenet_class: str
    start_s: float
    end_s: float
    confidence: float


@dataclass(frozen=True)
class EnrichedVideo:
    """What was found in one video (topic enriched)."""

    SCHEMA: ClassVar[str] = "EnrichedVideo"
    video_id: str
    channel_id: str
    published_at: datetime
    title: str | None
    tags: list[str]
    duration_s: float
    has_audio: bool
    frame_count: int
    verdict: str
    duplicate_of: str | None
    cluster_id: str | None
    cluster_label: str | None
    cluster_distance: float | None
    keywords: list[str]
    archive: ArchiveRef
    processed_at: datetime
    transcript: Transcript | None
    ocr: list[OcrText]
    clip_features: bool
    series_id: str | None
    episode_number: int | None
    recurring_segments: list[RecurringSegment]
    people: list[PersonSeen] = field(default_factory=list)
    seen: list[SeenConcept] = field(default_factory=list)


@dataclass(frozen=True)
class DeadLetter:
    """An event that could not be processed, with what is needed to re-drive it (topic dead-letter)."""

    SCHEMA: ClassVar[str] = "DeadLetter"
    original_value: bytes
    original_key: bytes | None
    topic: str
    partition: int
    offset: int
    video_id: str | None
    error_kind: str
    message: str  # the reason, at most DEAD_LETTER_REASON_CHARS (see dead_letter_reason)
    failed_at: datetime


# A reason can quote what it refuses (a media URI of any length): cut, so a dead letter always fits on its topic.
DEAD_LETTER_REASON_CHARS = 2000


def dead_letter_reason(reason: str) -> str:
    if len(reason) <= DEAD_LETTER_REASON_CHARS:
        return reason
    return f"{reason[:DEAD_LETTER_REASON_CHARS]}... ({len(reason)} characters)"


@dataclass(frozen=True)
class ClusterCentroid:
    """One cluster of a re-clustering run: of topics (compacted topic cluster-centroids) or of people
    (person-centroids)."""

    SCHEMA: ClassVar[str] = "ClusterCentroid"
    cluster_id: str
    label: str
    keywords: list[str]
    centroid: np.ndarray  # float32: unit-norm topic vector, or a mean face descriptor
    radius: float  # distance within which a new item joins (cosine for topics, euclidean for people)
    size: int  # members in its run
    run_id: str
    created_at: datetime


@dataclass(frozen=True)
class EnrichmentRequest:
    """A judged video handed from the copy stage to the enrichment stage (topic enrichment-requests)."""

    SCHEMA: ClassVar[str] = "EnrichmentRequest"
    video_id: str
    event: bytes  # the VideoPublished message as consumed
    verdict: bytes  # the DuplicateVerdict message as sent


@dataclass(frozen=True)
class ArchivedFrame:
    t_s: float
    pdq_hex: str  # PDQ of the whole picture inside its bars
    pdq_quality: int


@dataclass(frozen=True)
class ArchivedVideo:
    """What the archive keeps of one processed video (topic archive; the archiver writes it to ClickHouse)."""

    SCHEMA: ClassVar[str] = "ArchivedVideo"
    video_id: str
    features_version: str
    channel_id: str
    published_at: datetime
    duration_s: float
    title: str
    verdict: str
    duplicate_of: str | None
    text_embedding: np.ndarray  # of title, description and tags; zeros when there are none
    topic_embedding: np.ndarray  # empty when the video has no text
    keywords: list[str]
    cluster_id: str | None  # assigned on arrival
    frames: list[ArchivedFrame]
    chunks: list[TextChunk]
    people: list[ArchivedPerson] = field(default_factory=list)


# The Avro record each class stands for, where the names differ (tests/unit/test_records.py).
AVRO_NAMES: dict[type, str] = {MatchRecord: "Match"}


def as_avro(record: Any) -> Any:
    """A record (nested records, lists, arrays inside) as the plain values the Avro writer takes."""
    if dataclasses.is_dataclass(record) and not isinstance(record, type):
        return {f.name: as_avro(getattr(record, f.name)) for f in dataclasses.fields(record)}
    if isinstance(record, np.ndarray):
        return record.tolist()
    if isinstance(record, list | tuple):
        return [as_avro(item) for item in record]
    return record


def from_avro(cls: type[R], values: dict[str, Any]) -> R:
    """A record of ``cls`` from what the Avro reader returned (fields the class lacks are an error)."""
    hints = typing.get_type_hints(cls)
    return cls(**{name: _typed(hints[name], value) for name, value in values.items()})


def _typed(hint: Any, value: Any) -> Any:
    if value is None:
        return None
    if isinstance(hint, types.UnionType):  # X | None
        (hint,) = [arg for arg in typing.get_args(hint) if arg is not type(None)]
    origin = typing.get_origin(hint)
    if origin in (list, tuple):
        (item,) = typing.get_args(hint)[:1]
        return origin(_typed(item, v) for v in value)
    if hint is np.ndarray:
        return np.asarray(value, dtype=np.float32)
    if dataclasses.is_dataclass(hint):
        return from_avro(hint, value)
    return value

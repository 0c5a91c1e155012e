"""The typed records (core/records.py) match the Avro schemas field by field, and survive the wire."""

from __future__ import annotations

import dataclasses
import types
import typing
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pytest

from core import records
from core.records import (
    ArchivedFrame,
    ArchivedVideo,
    ArchiveRef,
    ClusterCentroid,
    DeadLetter,
    DuplicateVerdict,
    EnrichedVideo,
    EnrichmentRequest,
    MatchRecord,
    Transcript,
    TranscriptSegment,
    VideoPublished,
    as_avro,
)
from core.recurring_segments import RecurringSegment
from core.text import OcrText, TextChunk
from schemas.codec import current_schema, decode, decode_record, encode_record

TOP_LEVEL = [VideoPublished, DuplicateVerdict, EnrichedVideo, DeadLetter, ClusterCentroid, EnrichmentRequest,
             ArchivedVideo]
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def _avro_record(schema: Any) -> dict | None:
    """The record schema inside ``schema`` (itself, an array's items, or a union's non-null branch)."""
    if isinstance(schema, list):
        (schema,) = [branch for branch in schema if branch != "null"]
    if isinstance(schema, dict) and schema.get("type") == "array":
        return _avro_record(schema["items"])
    if isinstance(schema, dict) and schema.get("type") == "record":
        return schema
    return None


def _record_class(hint: Any) -> type | None:
    if isinstance(hint, types.UnionType):
        (hint,) = [arg for arg in typing.get_args(hint) if arg is not type(None)]
    if typing.get_origin(hint) in (list, tuple):
        hint = typing.get_args(hint)[0]
    return hint if dataclasses.is_dataclass(hint) else None


def _check(cls: type, schema: dict, checked: list[str]) -> None:
    expected_name = records.AVRO_NAMES.get(cls, cls.__name__)
    assert schema["name"].split(".")[-1] == expected_name, f"{cls.__name__} stands for {schema['name']}"
    fields = {field["name"]: field for field in schema["fields"]}
    hints = typing.get_type_hints(cls)
    declared = [f.name for f in dataclasses.fields(cls)]
    assert set(declared) == set(fields), f"{cls.__name__}: fields differ from {schema['name']}: " \
                                         f"{set(declared) ^ set(fields)}"
    for name in declared:
        avro_type = fields[name]["type"]
        nullable = isinstance(avro_type, list) and "null" in avro_type
        optional = isinstance(hints[name], types.UnionType) and type(None) in typing.get_args(hints[name])
        assert nullable == optional, f"{cls.__name__}.{name}: nullable in Avro {nullable}, optional here {optional}"
        nested, nested_class = _avro_record(avro_type), _record_class(hints[name])
        assert (nested is None) == (nested_class is None), f"{cls.__name__}.{name}: record vs plain type"
        if nested is not None:
            _check(nested_class, nested, checked)
    checked.append(cls.__name__)


@pytest.mark.parametrize("cls", TOP_LEVEL, ids=lambda cls: cls.__name__)
def test_every_field_matches_the_avro_schema(cls: type) -> None:
    checked: list[str] = []
    _check(cls, current_schema(cls.SCHEMA), checked)
    assert cls.__name__ in checked


def test_nested_records_are_checked_too() -> None:
    checked: list[str] = []
    for cls in TOP_LEVEL:
        _check(cls, current_schema(cls.SCHEMA), checked)
    nested = {"MatchRecord", "ArchiveRef", "Transcript", "TranscriptSegment", "OcrText", "RecurringSegment",
              "ArchivedFrame", "TextChunk"}
    assert nested <= set(checked)


def sample_records() -> list[Any]:
    # floats a 32-bit Avro float holds exactly, so the round trip compares equal
    match = MatchRecord(video_id="orig", score=0.875, query_coverage=1.0, reference_coverage=0.5, query_start_s=0.0,
                        query_end_s=10.0, reference_start_s=5.0, reference_end_s=15.0, visual_copy=True,
                        aligned_frames=10, mean_hamming=4.0, speed=1.0, mirrored=False, crop_width=1.0,
                        crop_height=0.875, audio="SAME", audio_bit_error_rate=0.125)
    return [
        VideoPublished(video_id="v1", media_uri="a.mp4", channel_id="c", published_at=NOW, tags=["x"]),
        DuplicateVerdict(video_id="v1", published_at=NOW, verdict="PARTIAL_COPY", duplicate_of="orig", score=0.875,
                         reason="r", matches=[match], copies=["orig"], features_version="f", processed_at=NOW),
        EnrichedVideo(video_id="v1", channel_id="c", published_at=NOW, title=None, tags=[], duration_s=10.0,
                      has_audio=True, frame_count=10, verdict="UNIQUE", duplicate_of=None, cluster_id=None,
                      cluster_label=None, cluster_distance=None, keywords=["k"],
                      archive=ArchiveRef("videos", "video_frames", "video_chunks", "f"), processed_at=NOW,
                      transcript=Transcript("en", False, 3.0, [TranscriptSegment(0.0, 3.0, "hello")]),
                      ocr=[OcrText("SALE", 0.875, 1.0, 2.0)], clip_features=False, series_id="s", episode_number=2,
                      recurring_segments=[RecurringSegment("intro", 0.0, 5.0, ("v0",))]),
        DeadLetter(original_value=b"\x00", original_key=None, topic="t", partition=0, offset=3, video_id=None,
                   error_kind="malformed_event", message="m", failed_at=NOW),
        ClusterCentroid(cluster_id="c1", label="a, b", keywords=["a", "b"], centroid=np.ones(4, np.float32) / 2,
                        radius=0.25, size=7, run_id="r", created_at=NOW),
        EnrichmentRequest(video_id="v1", event=b"\xc3\x01event", verdict=b"\xc3\x01verdict"),
        ArchivedVideo(video_id="v1", features_version="f", channel_id="c", published_at=NOW, duration_s=2.5,
                      title="t", verdict="UNIQUE", duplicate_of=None, text_embedding=np.full(3, 0.5, np.float32),
                      topic_embedding=np.zeros(0, np.float32), keywords=["k"], cluster_id=None,
                      frames=[ArchivedFrame(0.0, "ab" * 32, 90)],
                      chunks=[TextChunk("ocr", 1.0, 2.0, "SALE", np.full(3, 0.25, np.float32))]),
    ]


@pytest.mark.parametrize("record", sample_records(), ids=lambda record: type(record).__name__)
def test_records_round_trip_through_avro(record: Any) -> None:
    data = encode_record(record)
    back = decode_record(type(record), data)
    assert type(back) is type(record) and as_avro(back) == as_avro(record)
    assert decode(record.SCHEMA, data) == as_avro(record)  # what a consumer without these classes reads


def test_a_record_missing_a_field_fails_where_it_is_made() -> None:
    with pytest.raises(TypeError, match="processed_at"):
        DuplicateVerdict(video_id="v1", published_at=NOW, verdict="UNIQUE", duplicate_of=None, score=0.0,  # type: ignore[call-arg]
                         reason="r", matches=[], copies=[], features_version="f")

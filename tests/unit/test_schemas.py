"""Avro schemas: wire format round trip, clear errors on bad bytes, backward compatibility of every change."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime

import fastavro
import pytest
from fastavro.utils import generate_many

from schemas.codec import (
    MAGIC,
    SchemaError,
    current_schema,
    decode,
    encode,
    history_files,
    load_schema_file,
    schema_fingerprint,
    schema_names,
)

EVENT = {"video_id": "v1", "media_uri": "samples/a.mp4", "channel_id": "c1",
         "published_at": datetime(2026, 1, 1, tzinfo=UTC), "title": "hello", "tags": ["x"]}


def test_required_schemas_exist() -> None:
    assert {"VideoPublished", "DuplicateVerdict", "EnrichedVideo", "DeadLetter"} <= set(schema_names())


def test_round_trip_carries_schema_identity() -> None:
    data = encode("VideoPublished", EVENT)
    assert data[:2] == MAGIC
    assert data[2:10] == schema_fingerprint(current_schema("VideoPublished"))
    decoded = decode("VideoPublished", data)
    assert decoded["video_id"] == "v1" and decoded["tags"] == ["x"] and decoded["series_id"] is None
    assert decoded["published_at"] == EVENT["published_at"]


@pytest.mark.parametrize("data, message", [
    (b"", "empty"),
    (b'{"video_id": "v1"}', "not an Avro single-object message"),
    (MAGIC + b"\x00" * 8 + b"\x02a", "unknown schema fingerprint"),
])
def test_bad_bytes_raise_clear_errors(data: bytes, message: str) -> None:
    with pytest.raises(SchemaError, match=message):
        decode("VideoPublished", data)


def test_truncated_message_is_rejected() -> None:
    with pytest.raises(SchemaError, match="corrupt"):
        decode("VideoPublished", encode("VideoPublished", EVENT)[:-4])


def test_a_date_out_of_range_is_a_schema_error() -> None:
    """A mutated body can carry a timestamp no datetime holds: fastavro's OverflowError would have stopped the
    agent decoding it."""
    body = io.BytesIO()
    fastavro.schemaless_writer(body, current_schema("VideoPublished"), {**EVENT, "published_at": 2**62})
    data = MAGIC + schema_fingerprint(current_schema("VideoPublished")) + body.getvalue()
    with pytest.raises(SchemaError, match="OverflowError"):
        decode("VideoPublished", data)


def test_record_not_matching_schema_is_rejected() -> None:
    with pytest.raises(SchemaError):
        encode("VideoPublished", {"video_id": "v1"})


@pytest.mark.parametrize("name", ["VideoPublished", "DuplicateVerdict", "EnrichedVideo", "DeadLetter"])
def test_current_schema_is_recorded_in_history(name: str) -> None:
    """Changing a schema requires adding it as schemas/history/<Name>/vN+1.avsc (so it gets checked below)."""
    versions = history_files(name)
    assert versions, f"no history for {name}"
    assert schema_fingerprint(load_schema_file(versions[-1])) == schema_fingerprint(current_schema(name)), (
        f"schemas/{name}.avsc differs from its latest history version: copy it to "
        f"schemas/history/{name}/v{len(versions) + 1}.avsc")


@pytest.mark.parametrize("name", ["VideoPublished", "DuplicateVerdict", "EnrichedVideo", "DeadLetter"])
def test_every_version_stays_readable_by_the_current_schema(name: str) -> None:
    """Backward compatibility: data written by any earlier version decodes with the current one."""
    reader = current_schema(name)
    for path in history_files(name):
        writer = load_schema_file(path)
        for record in generate_many(writer, 20):
            buffer = io.BytesIO()
            fastavro.schemaless_writer(buffer, writer, record)
            buffer.seek(0)
            fastavro.schemaless_reader(buffer, writer, reader)  # raises on incompatibility


def test_incompatible_change_is_detected() -> None:
    """The check above really fails for a breaking change: a new required field without a default."""
    writer = current_schema("VideoPublished")
    broken = json.loads(fastavro.schema.to_parsing_canonical_form(writer))
    broken["fields"].append({"name": "must_have", "type": "string"})
    reader = fastavro.parse_schema(broken)
    buffer = io.BytesIO()
    fastavro.schemaless_writer(buffer, writer, next(iter(generate_many(writer, 1))))
    buffer.seek(0)
    with pytest.raises(fastavro.read.SchemaResolutionError):
        fastavro.schemaless_reader(buffer, writer, reader)

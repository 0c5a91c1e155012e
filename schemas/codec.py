"""Avro encoding of Kafka message values: the Avro *single-object encoding*.

Wire format (Avro 1.8+ specification, "Single object encoding")::

    0xC3 0x01 | 8-byte little-endian CRC-64-AVRO fingerprint of the writer schema | Avro binary datum

The fingerprint names the exact schema version that wrote the message without a schema registry.
Every version ever used is kept in ``schemas/history/<Name>/vN.avsc``; a reader resolves the writer's
version to the current schema (Avro schema resolution), so old messages stay readable after a change.
tests/test_schemas.py checks that every change stays backward compatible.
"""

from __future__ import annotations

import io
import json
import struct
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

import fastavro
from fastavro.schema import fingerprint, parse_schema, to_parsing_canonical_form

from core.records import as_avro, from_avro

SCHEMA_DIR = Path(__file__).resolve().parent
MAGIC = b"\xc3\x01"
HEADER_SIZE = len(MAGIC) + 8
R = TypeVar("R")


class SchemaError(ValueError):
    """Bytes that are not a valid message of the expected schema."""


def schema_names() -> list[str]:
    return sorted(path.stem for path in SCHEMA_DIR.glob("*.avsc"))


def load_schema_file(path: Path) -> dict[str, Any]:
    return parse_schema(json.loads(path.read_text()))


def schema_fingerprint(schema: dict[str, Any]) -> bytes:
    """The 8-byte CRC-64-AVRO fingerprint, little-endian as the spec's single-object header has it."""
    value = int(fingerprint(to_parsing_canonical_form(schema), "CRC-64-AVRO"), 16)
    return struct.pack("<Q", value)


@cache
def current_schema(name: str) -> dict[str, Any]:
    path = SCHEMA_DIR / f"{name}.avsc"
    if not path.exists():
        raise KeyError(f"no schema {name!r} in {SCHEMA_DIR}")
    return load_schema_file(path)


def history_files(name: str) -> list[Path]:
    """All recorded versions of a schema, oldest first (v1, v2, ...)."""
    return sorted((SCHEMA_DIR / "history" / name).glob("v*.avsc"), key=lambda p: int(p.stem[1:]))


@cache
def _writer_schemas(name: str) -> dict[bytes, dict[str, Any]]:
    """Fingerprint -> schema for every known version of ``name`` (including the current one)."""
    schemas = {schema_fingerprint(load_schema_file(p)): load_schema_file(p) for p in history_files(name)}
    schemas[schema_fingerprint(current_schema(name))] = current_schema(name)
    return schemas


def encode(name: str, record: dict[str, Any]) -> bytes:
    """Serialize ``record`` with the current version of schema ``name``."""
    schema = current_schema(name)
    out = io.BytesIO()
    out.write(MAGIC)
    out.write(schema_fingerprint(schema))
    try:
        fastavro.schemaless_writer(out, schema, record)
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise SchemaError(f"record does not match schema {name}: {exc}") from exc
    return out.getvalue()


def decode(name: str, data: bytes | None) -> dict[str, Any]:
    """Parse a message written with any known version of ``name`` into the current version's shape."""
    if not data:
        raise SchemaError("empty message")
    if len(data) < HEADER_SIZE or data[:2] != MAGIC:
        raise SchemaError(f"not an Avro single-object message (starts with {data[:2].hex() or 'nothing'})")
    writer = _writer_schemas(name).get(data[2:HEADER_SIZE])
    if writer is None:
        raise SchemaError(f"unknown schema fingerprint {data[2:HEADER_SIZE].hex()} for {name}")
    body = io.BytesIO(data[HEADER_SIZE:])
    try:
        record = fastavro.schemaless_reader(body, writer, current_schema(name))
    except (EOFError, ValueError, TypeError, IndexError, UnicodeDecodeError, OverflowError, struct.error) as exc:
        raise SchemaError(f"corrupt {name} message: {exc!r}") from exc  # OverflowError: a date out of range
    if body.tell() != len(data) - HEADER_SIZE:
        raise SchemaError(f"trailing bytes after {name} message")
    return record


def encode_record(record: Any) -> bytes:
    """Serialize a typed record of core/records.py with the current version of its schema (``record.SCHEMA``)."""
    return encode(record.SCHEMA, as_avro(record))


def decode_record(cls: type[R], data: bytes | None) -> R:
    """A typed record of ``cls`` (core/records.py) from a message written with any known version of its schema."""
    return from_avro(cls, decode(cls.SCHEMA, data))  # type: ignore[attr-defined]

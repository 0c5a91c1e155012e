"""Refusing a Redis index left by an older version with another vector layout, rather than failing every query."""

from __future__ import annotations

from redisvl.index import SearchIndex


class IndexSchemaError(RuntimeError):
    """The Redis index exists with a layout this version cannot use."""


def require_vector_layout(index: SearchIndex, field: str, what_to_do: str) -> None:
    """Raise IndexSchemaError, saying ``what_to_do``, if the existing ``index`` holds its vector ``field`` at another
    width or type than this version's schema."""
    wanted = index.schema.fields[field]
    existing = SearchIndex.from_existing(index.name, redis_client=index.client).schema.fields.get(field)
    if existing is None or (existing.attrs.dims, existing.attrs.datatype) != (wanted.attrs.dims,
                                                                             wanted.attrs.datatype):
        raise IndexSchemaError(f"Redis index {index.name!r} exists with another vector layout than this version's "
                               f"({wanted.attrs.dims}-d {wanted.attrs.datatype.value}): {what_to_do}")

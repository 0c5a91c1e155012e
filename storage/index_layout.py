"""The Redis vector indexes' shared layout: one hash per vector under the index's key prefix, holding only the vector
(HNSW, float16); their KNN queries; and refusing an index left by an older version with another vector layout, rather
than failing every query."""

from __future__ import annotations

import numpy as np
from redis import Redis
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


def hnsw_hash_schema(name: str, field: str, dims: int, distance_metric: str) -> dict:
    """redisvl's schema of an index ``name`` (also its key prefix) of hashes holding one float16 vector ``field``."""
    return {
        "index": {"name": name, "prefix": name, "storage_type": "hash"},
        "fields": [
            {"name": field, "type": "vector", "attrs": {
                "dims": dims, "algorithm": "hnsw", "distance_metric": distance_metric, "datatype": "float16",
                "m": 16, "ef_construction": 100}},
        ],
    }


def knn_search(client: Redis, index: str, field: str, vectors: np.ndarray, k: int,
               ef_runtime: int) -> list[list[tuple[str, float]]]:
    """The ``k`` nearest vectors of ``index``'s ``field`` to each of ``vectors``: (key, distance) pairs, in one round
    trip. Sent as raw FT.SEARCH commands: redisvl's batch_query builds the same query, but parsing its replies into
    result objects took ~1.5 ms of Python per lookup of 8 vectors (bench/lookup_latency.py, profiled)."""
    query = f"*=>[KNN {k} @{field} $vector EF_RUNTIME {ef_runtime} AS distance]"
    pipe = client.pipeline(transaction=False)
    for vector in vectors.astype(np.float16):
        pipe.execute_command("FT.SEARCH", index, query, "PARAMS", 2, "vector", vector.tobytes(),
                             "RETURN", 1, "distance", "LIMIT", 0, k, "DIALECT", 2)
    return [[(key.decode(), float(fields[1])) for key, fields in zip(reply[1::2], reply[2::2], strict=True)]
            for reply in pipe.execute()]

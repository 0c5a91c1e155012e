"""The real-time frame index in Redis vector search (redisvl, HNSW).

One hash per compared frame, key ``<index name>:<video_id>:<n>`` (n counts the frames with enough
PDQ quality to compare; ``t_s`` is the frame's time in the video), holding the frame's PDQ bits as a
256-d +-1 float32 vector. Squared L2 distance between two such vectors is 4 x their Hamming distance,
so "Hamming <= 31" (PDQ's usual match threshold) is "L2 <= 124". Upserts are idempotent by key.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from redis import Redis
from redisvl.index import SearchIndex
from redisvl.query import VectorQuery
from redisvl.query.filter import Tag

PDQ_DIMS = 256


def frame_index_schema(name: str) -> dict:
    return {
        "index": {"name": name, "prefix": name, "storage_type": "hash"},
        "fields": [
            {"name": "video_id", "type": "tag"},
            {"name": "frame_index", "type": "numeric"},
            {"name": "t_s", "type": "numeric"},
            {"name": "frame_count", "type": "numeric"},
            {"name": "published_at_ms", "type": "numeric", "attrs": {"sortable": True}},
            {"name": "pdq", "type": "vector", "attrs": {
                "dims": PDQ_DIMS, "algorithm": "hnsw", "distance_metric": "l2", "datatype": "float32",
                "m": 16, "ef_construction": 200, "ef_runtime": 50}},
        ],
    }


@dataclass(frozen=True)
class FrameNeighbour:
    """An indexed frame close to one query frame."""

    query_frame: int
    video_id: str
    frame_index: int
    t_s: float
    frame_count: int
    published_at_ms: int
    hamming: int


class FrameIndex:
    def __init__(self, redis_url: str, name: str) -> None:
        self.name = name
        self.client = Redis.from_url(redis_url)
        self.index = SearchIndex.from_dict(frame_index_schema(name), redis_client=self.client)

    def create(self) -> None:
        """Create the index if it does not exist (keeps existing data)."""
        self.index.create(overwrite=False)

    def upsert_video(self, video_id: str, published_at_ms: int, times_s: list[float],
                     vectors: list[np.ndarray]) -> None:
        docs = [
            {"video_id": video_id, "frame_index": i, "t_s": t, "frame_count": len(vectors),
             "published_at_ms": published_at_ms, "pdq": vector.astype(np.float32).tobytes()}
            for i, (t, vector) in enumerate(zip(times_s, vectors, strict=True))
        ]
        keys = [f"{self.name}:{video_id}:{i}" for i in range(len(docs))]
        if docs:
            self.index.load(docs, keys=keys)

    def nearest(self, vectors: list[np.ndarray], exclude_video_id: str, k: int,
                max_hamming: int) -> list[FrameNeighbour]:
        """For each query vector, its k nearest indexed frames of other videos within ``max_hamming``."""
        not_self = Tag("video_id") != exclude_video_id
        queries = [
            VectorQuery(vector=v.astype(np.float32).tobytes(), vector_field_name="pdq", num_results=k,
                        return_fields=["video_id", "frame_index", "t_s", "frame_count", "published_at_ms"],
                        filter_expression=not_self)
            for v in vectors
        ]
        found: list[FrameNeighbour] = []
        for query_frame, hits in enumerate(self.index.batch_query(queries, batch_size=64)):
            for hit in hits:
                hamming = round(float(hit["vector_distance"]) / 4)
                if hamming <= max_hamming:
                    found.append(FrameNeighbour(
                        query_frame=query_frame, video_id=hit["video_id"], frame_index=int(hit["frame_index"]),
                        t_s=float(hit["t_s"]), frame_count=int(hit["frame_count"]),
                        published_at_ms=int(hit["published_at_ms"]), hamming=hamming))
        return found

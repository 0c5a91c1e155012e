"""The descriptor copy signal's index in Redis (redisvl, HNSW): where a video's described pictures are found from a
query's, and what verification reads back. Its own keys beside the copy index's (storage/copy_index.py), named
after it: ``descriptors-<copy index name>``.

- KNN index ``<name>``: one hash per described picture, key ``<name>:<video_id>:<n>``, holding only the picture's KNN
  vector (core/descriptor_codes.knn_vectors: 128 float16 dimensions, cosine distance). As in the copy index, the
  video is read from the key: fields cost every vector's memory.
- Pictures ``descriptorvideo:<name>:<video_id>``: when the video was published, its duration, each described
  picture's time and SimHash code (core/descriptor_codes.codes, 64 bytes), read back to verify a candidate, and its
  media URI (as published), from which geometric verification decodes those pictures again
  (features/local_features.reference_features).

Every write is idempotent by key, the pictures first (a lookup that finds a vector finds its video's pictures).
A 60 s video costs at most INDEX_FRAMES_MAX vectors (bench.copy_bench --memory measures the bytes).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from redis import Redis
from redisvl.index import SearchIndex

from core.descriptor_codes import CODE_BYTES, KNN_DIMS, knn_vectors
from storage.index_layout import hnsw_hash_schema, knn_search, require_vector_layout
from storage.redis_keys import delete_matching


def descriptor_index_schema(name: str) -> dict:
    return hnsw_hash_schema(name, "descriptor", KNN_DIMS, "cosine")


@dataclass(frozen=True)
class DescribedVideo:
    """A video as the descriptor index holds it."""

    video_id: str
    published_at_ms: int
    duration_s: float
    times_s: np.ndarray  # (pictures,) when each described picture is
    codes: np.ndarray  # (pictures, CODE_BYTES) packed SimHash codes
    media_uri: str  # as published ("" when not known: not verified by local features)


@dataclass(frozen=True)
class Neighbour:
    video_id: str
    picture: int
    similarity: float  # cosine of the KNN vectors


class DescriptorIndex:
    def __init__(self, client: Redis, copy_index_name: str) -> None:
        self.name = f"descriptors-{copy_index_name}"
        self.client = client
        self.index = SearchIndex.from_dict(descriptor_index_schema(self.name), redis_client=client)

    def create(self) -> None:
        """Create the KNN index if it does not exist (keeps existing data); one left with another vector layout is
        refused with what to do."""
        if self.index.exists():
            require_vector_layout(self.index, "descriptor", f"drop it (FT.DROPINDEX {self.name} DD) and replay "
                                  "publish-video into a new index generation to rebuild it")
            return
        self.index.create(overwrite=False)

    def drop(self) -> None:
        """Delete the KNN index with its documents and every video's pictures."""
        if self.index.exists():
            self.index.delete(drop=True)
        delete_matching(self.client, self._video_key("*"))

    def _video_key(self, video_id: str) -> str:
        return f"descriptorvideo:{self.name}:{video_id}"

    def upsert(self, video: DescribedVideo, descriptors: np.ndarray) -> None:
        """Store ``video`` (its pictures' codes) and its pictures' KNN vectors from their ``descriptors``."""
        pipe = self.client.pipeline(transaction=False)
        pipe.hset(self._video_key(video.video_id), mapping={
            "published_at_ms": video.published_at_ms, "duration_s": video.duration_s,
            "times_s": np.asarray(video.times_s, np.float32).tobytes(),
            "codes": np.ascontiguousarray(video.codes, np.uint8).tobytes(), "media_uri": video.media_uri})
        for n, vector in enumerate(knn_vectors(descriptors)):
            pipe.hset(f"{self.name}:{video.video_id}:{n}", "descriptor", vector.tobytes())
        pipe.execute()

    def neighbours(self, descriptors: np.ndarray, k: int, ef_runtime: int) -> list[list[Neighbour]]:
        """The ``k`` nearest indexed pictures of each of ``descriptors`` (n, 1280), in one round trip (raw
        FT.SEARCH, as the copy index does: redisvl's result objects cost more Python than Redis takes)."""
        key_prefix = len(self.name) + 1
        found = []
        for reply in knn_search(self.client, self.name, "descriptor", knn_vectors(descriptors), k, ef_runtime):
            neighbours = []
            for key, distance in reply:
                video_id, picture = key[key_prefix:].rsplit(":", 1)
                neighbours.append(Neighbour(video_id, int(picture), 1.0 - distance))
            found.append(neighbours)
        return found

    def described_videos(self, video_ids: list[str]) -> list[DescribedVideo]:
        """The stored pictures of ``video_ids`` (those that exist), in one round trip."""
        pipe = self.client.pipeline(transaction=False)
        for video_id in video_ids:
            pipe.hgetall(self._video_key(video_id))
        videos = []
        for video_id, stored in zip(video_ids, pipe.execute(), strict=True):
            if not stored:
                continue
            times = np.frombuffer(stored[b"times_s"], np.float32)
            videos.append(DescribedVideo(
                video_id, int(stored[b"published_at_ms"]), float(stored[b"duration_s"]), times,
                np.frombuffer(stored[b"codes"], np.uint8).reshape(len(times), CODE_BYTES),
                stored.get(b"media_uri", b"").decode()))
        return videos

"""Cluster centroids in Redis (redisvl, FLAT index): the incremental assignment of a new item.

Two of these exist per index generation: topic clusters (a video's topic embedding, cosine) and person clusters
(one person's face descriptor, euclidean; core/clustering.py's spaces). An item joins the cluster whose
centroid is nearest if it is within that cluster's radius, else it stays unassigned until the next re-clustering
(jobs/recluster.py). Centroids come from a compacted topic (``cluster-centroids``, ``person-centroids``: the
worker's centroid agents write them here); one hash per cluster, key ``<name>:<cluster_id>``. A handful to a few
thousand centroids: FLAT (exact) search.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
from redis import Redis
from redisvl.index import SearchIndex
from redisvl.query import VectorQuery

from core.clustering import TOPIC_SPACE, VectorSpace
from core.records import ClusterCentroid
from storage.index_layout import require_vector_layout

# RediSearch's name of each space's metric; its L2 distance is the squared euclidean one
_REDIS_METRIC = {"cosine": "cosine", "euclidean": "l2"}


def cluster_schema(name: str, space: VectorSpace = TOPIC_SPACE) -> dict:
    return {"index": {"name": name, "prefix": f"{name}:", "storage_type": "hash"},
            "fields": [{"name": "cluster_id", "type": "tag"}, {"name": "radius", "type": "numeric"},
                       {"name": "centroid", "type": "vector", "attrs": {
                           "dims": space.dims, "algorithm": "flat", "distance_metric": _REDIS_METRIC[space.metric],
                           "datatype": "float32"}}]}


@dataclass(frozen=True)
class Assignment:
    cluster_id: str
    label: str
    distance: float


class ClusterIndex:
    def __init__(self, redis_url: str, name: str, space: VectorSpace = TOPIC_SPACE) -> None:
        self.name = name
        self.space = space
        self.client = Redis.from_url(redis_url)
        self.index = SearchIndex.from_dict(cluster_schema(name, space), redis_client=self.client)

    def create(self) -> None:
        """Create the index if it does not exist (keeps existing centroids). One of the same name with another
        width (left by an older text encoder) is refused with what to do: every assignment would fail."""
        if not self.index.exists():
            self.index.create(overwrite=False)
            return
        require_vector_layout(self.index, "centroid", "run python -m jobs.reindex (a new generation of every index), "
                              f"then python -m jobs.recluster; or drop it (FT.DROPINDEX {self.name} DD)")

    def drop(self) -> None:
        """Delete the index with every centroid."""
        if self.index.exists():
            self.index.delete(drop=True)

    def _key(self, cluster_id: str) -> str:
        return f"{self.name}:{cluster_id}"

    def fits(self, centroid: ClusterCentroid) -> bool:
        """Whether the centroid has this index's width (one published for another encoder or space has not)."""
        return len(centroid.centroid) == self.space.dims

    def upsert(self, centroid: ClusterCentroid) -> None:
        self.client.hset(self._key(centroid.cluster_id), mapping={
            "cluster_id": centroid.cluster_id, "label": centroid.label, "keywords": json.dumps(centroid.keywords),
            "centroid": np.asarray(centroid.centroid, np.float32).tobytes(), "radius": centroid.radius,
            "size": centroid.size, "run_id": centroid.run_id})

    def delete(self, cluster_id: str) -> None:
        self.client.delete(self._key(cluster_id))

    def cluster_ids(self) -> list[str]:
        prefix = f"{self.name}:"
        return sorted(key.decode()[len(prefix):] for key in self.client.scan_iter(match=f"{prefix}*", count=1000))

    def summaries(self) -> list[dict]:
        """Every loaded cluster: id, label, size, radius, keywords (largest first)."""
        found = []
        for cluster_id in self.cluster_ids():
            stored = self.client.hmget(self._key(cluster_id), ["label", "size", "radius", "keywords"])
            if stored[0] is not None:
                found.append({"cluster_id": cluster_id, "label": stored[0].decode(), "size": int(stored[1]),
                              "radius": float(stored[2]), "keywords": json.loads(stored[3])})
        return sorted(found, key=lambda c: (-c["size"], c["cluster_id"]))

    def assign(self, embedding: np.ndarray | None) -> Assignment | None:
        """The nearest cluster within its radius, or None (unassigned; also for a video without text)."""
        if embedding is None:
            return None
        query = VectorQuery(self.space.prepare(embedding).tobytes(), "centroid",
                            return_fields=["cluster_id", "radius", "label"], num_results=3)
        for doc in self.index.query(query):  # nearest first; a nearer cluster with a tighter radius may refuse
            distance = float(doc["vector_distance"])
            if self.space.metric == "euclidean":
                distance = float(np.sqrt(max(distance, 0.0)))
            if distance <= float(doc["radius"]):
                return Assignment(doc["cluster_id"], doc["label"], round(distance, 4))
        return None

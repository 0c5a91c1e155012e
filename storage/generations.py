"""Generations of the Redis indexes, so a reindex can build a fresh set beside the live one and switch everyone
to it at once.

One generation is the copy index (frame vectors, signatures, videos in flight) with its series bookkeeping and the
descriptor signal's index beside it, the search index (chunks, CLIP frames, video cards) and the topic and person
cluster centroids: ``IndexGeneration`` opens, creates and drops them together, and is how the worker, the jobs, the
search API and the benchmarks get them.

Generation 0 uses the configured names as they are (``frames``, ``search``, ``clusters``, ``people``); generation n > 0
prefixes them with ``g<n>-`` (``g1-frames``...), so no index's key prefix covers another generation's keys.
The Redis string ``index-generation:<frames>:<search>:<clusters>`` (the configured names) holds the generation in
use. Workers read it before each event and the search API before each request; the reindex job sets it with
one SET once the new generation is complete, which is the atomic switch.
"""

from __future__ import annotations

from dataclasses import dataclass

from redis import Redis

from core.clustering import PEOPLE_SPACE, TOPIC_SPACE
from settings import Settings
from storage.cluster_index import ClusterIndex
from storage.copy_index import CopyIndex
from storage.descriptor_index import DescriptorIndex
from storage.search_index import SearchIndex
from storage.series_store import SeriesStore


def _generation_key(cfg: Settings) -> str:
    return f"index-generation:{cfg.redis_frame_index}:{cfg.redis_search_index}:{cfg.redis_cluster_index}"


def current_generation(client: Redis, cfg: Settings) -> int:
    value = client.get(_generation_key(cfg))
    return int(value) if value is not None else 0


def switch_generation(client: Redis, cfg: Settings, generation: int) -> None:
    client.set(_generation_key(cfg), generation)


def physical_name(name: str, generation: int) -> str:
    return name if generation == 0 else f"g{generation}-{name}"


@dataclass(frozen=True)
class IndexGeneration:
    """The Redis indexes of one generation."""

    number: int
    copies: CopyIndex
    descriptors: DescriptorIndex  # the descriptor copy signal's, named after the copy index
    series: SeriesStore
    search: SearchIndex
    clusters: ClusterIndex  # topic clusters
    people: ClusterIndex  # person clusters

    @classmethod
    def open(cls, cfg: Settings, number: int) -> IndexGeneration:
        """Generation ``number``'s indexes (nothing is created: see ``create``)."""
        copies = CopyIndex(cfg.redis_url, physical_name(cfg.redis_frame_index, number))
        return cls(number=number, copies=copies, descriptors=DescriptorIndex(copies.client, copies.name),
                   series=SeriesStore(copies.client, copies.name),
                   search=SearchIndex(cfg.redis_url, physical_name(cfg.redis_search_index, number)),
                   clusters=ClusterIndex(cfg.redis_url, physical_name(cfg.redis_cluster_index, number), TOPIC_SPACE),
                   people=ClusterIndex(cfg.redis_url, physical_name(cfg.redis_people_index, number), PEOPLE_SPACE))

    @classmethod
    def live(cls, cfg: Settings, client: Redis) -> IndexGeneration:
        """The generation in use."""
        return cls.open(cfg, current_generation(client, cfg))

    def create(self) -> IndexGeneration:
        """Create whichever of the indexes is missing (existing data is kept); returns itself."""
        self.copies.create()
        self.descriptors.create()
        self.search.create()
        self.clusters.create()
        self.people.create()
        return self

    def drop(self) -> None:
        """Delete the indexes with their documents and every other key of this generation."""
        self.copies.drop()
        self.descriptors.drop()
        self.series.drop()
        self.search.drop()
        self.clusters.drop()
        self.people.drop()

    def document_counts(self) -> dict[str, int]:
        """Documents in each Redis index of this generation (FT.INFO num_docs: no scan), by what they are."""
        indexes = {"copy_frames": self.copies.index, "descriptor_pictures": self.descriptors.index,
                   "search_chunks": self.search.chunks,
                   "search_clip_frames": self.search.frames, "search_videos": self.search.videos,
                   "cluster_centroids": self.clusters.index, "person_centroids": self.people.index}
        return {label: int(index.info()["num_docs"]) for label, index in indexes.items() if index.exists()}

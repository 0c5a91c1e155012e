"""Generations of the Redis indexes (copy frames, search, clusters), so a reindex can build a fresh set beside
the live one and switch everyone to it at once.

Generation 0 uses the configured names as they are (``frames``, ``search``, ``clusters``); generation n > 0
prefixes them with ``g<n>-`` (``g1-frames``...), so no index's key prefix covers another generation's keys.
The Redis string ``index-generation:<frames>:<search>:<clusters>`` (the configured names) holds the generation in
use. Workers read it before each event and the search
API before each request; the reindex job sets it with one SET once the new generation is complete, which is
the atomic switch.
"""

from __future__ import annotations

from dataclasses import replace

from redis import Redis

from settings import Settings


def _generation_key(cfg: Settings) -> str:
    return f"index-generation:{cfg.redis_frame_index}:{cfg.redis_search_index}:{cfg.redis_cluster_index}"


def current_generation(client: Redis, cfg: Settings) -> int:
    value = client.get(_generation_key(cfg))
    return int(value) if value is not None else 0


def switch_generation(client: Redis, cfg: Settings, generation: int) -> None:
    client.set(_generation_key(cfg), generation)


def physical_name(name: str, generation: int) -> str:
    return name if generation == 0 else f"g{generation}-{name}"


def generation_settings(cfg: Settings, generation: int) -> Settings:
    """The settings with the index names of ``generation``."""
    return replace(cfg, redis_frame_index=physical_name(cfg.redis_frame_index, generation),
                   redis_search_index=physical_name(cfg.redis_search_index, generation),
                   redis_cluster_index=physical_name(cfg.redis_cluster_index, generation))

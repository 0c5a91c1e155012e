"""Deleting Redis key families by pattern, in batches (for dropping an index generation)."""

from __future__ import annotations

from redis import Redis

BATCH = 500


def delete_matching(client: Redis, *patterns: str) -> int:
    """Delete every key matching any of ``patterns`` (SCAN, then DEL in batches); returns how many."""
    deleted = 0
    for pattern in patterns:
        batch: list[bytes] = []
        for key in client.scan_iter(match=pattern, count=1000):
            batch.append(key)
            if len(batch) == BATCH:
                deleted += client.delete(*batch)
                batch = []
        if batch:
            deleted += client.delete(*batch)
    return deleted

"""Series bookkeeping in Redis, next to the copy index whose stored signatures the episodes are aligned with.

- ``series:<name>:<series_id>``: a sorted set of the series' episodes by publish time.
- ``recurring:<name>:<video_id>``: a hash, other episode's video id -> JSON ``[[start_s, end_s], ...]``,
  the intervals of this video it shares with that episode. Kept per pair, so the result does not depend on
  which of two episodes was processed first, and rewriting a pair on replay changes nothing.
- ``series-record:<name>:<video_id>``: the episode's latest enriched record as sent (EnrichedVideo message
  bytes), so a later episode that changes its recurring segments can send it again updated.
- ``series-lock:<name>:<series_id>``: a lock held while one episode is compared and its series' records are
  published, so two workers never interleave updates of one series. It expires if its worker dies.
"""

from __future__ import annotations

import json
import logging

from redis import Redis
from redis.exceptions import LockError
from redis.lock import Lock

from core.errors import PipelineError
from storage.redis_keys import delete_matching

log = logging.getLogger(__name__)


class SeriesLockTimeout(PipelineError):
    def __init__(self, series_id: str, waited_s: float) -> None:
        super().__init__(f"series {series_id!r} stayed locked by another worker for {waited_s:.0f}s",
                         kind="series_lock_timeout")


class SeriesStore:
    def __init__(self, client: Redis, name: str) -> None:
        self.client = client
        self.name = name

    def drop(self) -> None:
        """Delete every series' episodes, shared intervals, latest records and lock."""
        delete_matching(self.client, self._episodes_key("*"), self._recurring_key("*"), self._record_key("*"),
                        self._lock_key("*"))

    def _episodes_key(self, series_id: str) -> str:
        return f"series:{self.name}:{series_id}"

    def _recurring_key(self, video_id: str) -> str:
        return f"recurring:{self.name}:{video_id}"

    def _record_key(self, video_id: str) -> str:
        return f"series-record:{self.name}:{video_id}"

    def _lock_key(self, series_id: str) -> str:
        return f"series-lock:{self.name}:{series_id}"

    def add_episode(self, series_id: str, video_id: str, published_at_ms: int) -> None:
        self.client.zadd(self._episodes_key(series_id), {video_id: published_at_ms})

    def nearest_episodes(self, series_id: str, video_id: str, published_at_ms: int, limit: int) -> list[str]:
        """Up to ``limit`` other episodes of the series, nearest in publish time first (earlier ones win ties)."""
        episodes = self.client.zrange(self._episodes_key(series_id), 0, -1, withscores=True)
        others = [(abs(score - published_at_ms), score > published_at_ms, member.decode())
                  for member, score in episodes if member.decode() != video_id]
        return [other for _, _, other in sorted(others)[:limit]]

    def save_shared(self, video_id: str, other_id: str, intervals: list[tuple[float, float]]) -> None:
        """Record the intervals of ``video_id`` it shares with ``other_id`` (none is recorded too)."""
        value = json.dumps([[round(start, 2), round(end, 2)] for start, end in intervals])
        self.client.hset(self._recurring_key(video_id), other_id, value)

    def shared(self, video_id: str) -> list[tuple[str, float, float]]:
        """Every (other video id, start_s, end_s) interval ``video_id`` shares with another episode."""
        stored = self.client.hgetall(self._recurring_key(video_id))
        return [(other.decode(), float(start), float(end))
                for other, value in stored.items() for start, end in json.loads(value)]

    def save_record(self, video_id: str, record: bytes) -> None:
        """Keep an episode's latest enriched record (the EnrichedVideo message as sent)."""
        self.client.set(self._record_key(video_id), record)

    def record(self, video_id: str) -> bytes | None:
        """An episode's latest enriched record as sent, if it has been sent."""
        return self.client.get(self._record_key(video_id))

    def lock(self, series_id: str, timeout_s: float) -> Lock:
        """Take the series' lock, waiting up to ``timeout_s``; it expires after ``timeout_s`` if this process
        dies holding it. Not bound to a thread, so it can be taken and released from different ones."""
        lock = self.client.lock(self._lock_key(series_id), timeout=timeout_s,
                                blocking_timeout=timeout_s, thread_local=False)
        if not lock.acquire():
            raise SeriesLockTimeout(series_id, timeout_s)
        return lock

    @staticmethod
    def unlock(lock: Lock) -> None:
        try:
            lock.release()
        except LockError:  # it expired meanwhile; another worker may hold it now
            log.warning("series lock %s had expired before its release", lock.name)

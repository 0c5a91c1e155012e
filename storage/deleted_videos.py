"""Videos deleted by their owners (jobs/delete_video.py): one Redis set, outside the index generations, so neither
a late event, a replay nor a reindex brings a deleted video back into the indexes or the archive.

The enrichment stage and the archiver check it; one SISMEMBER per video. Deleted videos are a small share of a
library, so the set stays small next to the indexes.
"""

from __future__ import annotations

from collections.abc import Collection

from redis import Redis


class DeletedVideos:
    def __init__(self, client: Redis, key: str) -> None:
        self.client = client
        self.key = key

    def add(self, video_ids: Collection[str]) -> None:
        if video_ids:
            self.client.sadd(self.key, *video_ids)

    def contains(self, video_id: str) -> bool:
        return bool(self.client.sismember(self.key, video_id))

    def among(self, video_ids: Collection[str]) -> set[str]:
        """Which of ``video_ids`` are deleted (one round trip)."""
        if not video_ids:
            return set()
        ordered = list(video_ids)
        return {video_id for video_id, deleted in zip(ordered, self.client.smismember(self.key, ordered), strict=True)
                if deleted}

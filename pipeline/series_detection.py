"""Recurring segments for episodes of a series, against the episodes already in the copy index.

An episode is compared with up to SERIES_EPISODES_COMPARED other episodes of its series (nearest in publish
time), using the signatures the copy index stores (frame hashes and chromaprint, aligned by
core/recurring_segments.py); what each pair shares is saved for both episodes. So
the first episode has nothing to compare with, the second finds the intro in itself *and* in the first,
and later episodes find theirs on arrival. The caller holds the series lock (storage/series_store.py).
"""

from __future__ import annotations

from core.recurring_segments import EpisodeSignals, RecurringSegment, merge_shared, shared_segments
from core.signature import CopySignature
from settings import Settings
from storage.copy_index import CopyIndex
from storage.series_store import SeriesStore


class SeriesDetector:
    def __init__(self, copy_index: CopyIndex, store: SeriesStore, cfg: Settings) -> None:
        self.copy_index = copy_index
        self.store = store
        self.cfg = cfg

    def compare(self, series_id: str, video_id: str, published_at_ms: int, signature: CopySignature) -> list[str]:
        """Register the episode, align it with its nearest indexed episodes and save what each pair shares.
        Returns the other episodes compared, whose recurring segments may have changed."""
        self.store.add_episode(series_id, video_id, published_at_ms)
        nearest = self.store.nearest_episodes(series_id, video_id, published_at_ms,
                                              self.cfg.series_episodes_compared)
        episode = EpisodeSignals.from_signature(signature, self.cfg.pdq_min_quality)
        compared = []
        for other in self.copy_index.indexed_videos(nearest):
            other_episode = EpisodeSignals.from_signature(other.signature, self.cfg.pdq_min_quality)
            shared = shared_segments(episode, other_episode, self.cfg.pdq_align_hamming,
                                     self.cfg.recurring_min_seconds, self.cfg.segment_max_gap_s)
            self.store.save_shared(video_id, other.video_id, [(s.start_s, s.end_s) for s in shared])
            self.store.save_shared(other.video_id, video_id, [(s.other_start_s, s.other_end_s) for s in shared])
            compared.append(other.video_id)
        return compared

    def recurring_segments(self, video_id: str, duration_s: float) -> list[RecurringSegment]:
        return merge_shared(self.store.shared(video_id), duration_s)

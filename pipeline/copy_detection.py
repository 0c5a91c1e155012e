"""Duplicate and partial-copy detection for one video against the copy index.

1. Candidates: KNN in Redis for the query's index frames, as shown, mirrored left-right, (if it has
   black bars) with its bars and (if it is split into tiles: a grid, a split screen, an inset) each tile
   alone, among videos published no later than it. Only if those find nothing, fewer of its frames are
   looked up turned the six other ways (rotated, upside down, transposed), with a narrower HNSW search:
   turned copies are rare, and a video that has an upright copy is judged on that.
   Candidates are grouped by the original they copy (kept for every video judged a full copy), and the
   CANDIDATES_MAX best groups are verified, each by its original and its best-placed member: however many
   copies of a video exist, its earliest original stays in view.
2. Verification: the candidate's stored signature is read back; the crop whose hashes agree with
   the most query frames is chosen, and the two frame sequences are aligned in time (speed changes
   included), which also localizes the copied segment in both videos.
3. Audio check along the alignment, then the verdict (core/verdicts.py).
"""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np

from core.bits import hamming_matrix, thin
from core.copy_alignment import align, check_audio
from core.signature import CROPS, WHOLE_FRAME, CopySignature
from core.verdicts import Match, Verdict, decide
from settings import Settings
from storage.copy_index import Candidate, CopyIndex, IndexedVideo

NEIGHBOURS_PER_FRAME = 10
FULL_COPY_VERDICTS = ("EXACT_DUPLICATE", "NEAR_DUPLICATE")


class CopyDetector:
    def __init__(self, index: CopyIndex, cfg: Settings) -> None:
        self.index = index
        self.cfg = cfg

    def index_and_judge(self, video_id: str, published_at_ms: int,
                        signature: CopySignature) -> tuple[Verdict, dict[str, float]]:
        """Index the video, wait for earlier-published videos still in flight, then judge it; with the
        seconds each step took. The caller marked the video in flight when it started on it.

        Indexing before looking up means that of two racing copies at least the later one sees the other;
        waiting for earlier videos in flight makes sure it is the later one that does, so the earliest
        published wins even when the copies are processed at the same time on different partitions."""
        started = time.perf_counter()
        self.index.upsert(video_id, published_at_ms, signature)
        self.index.clear_in_flight(video_id)
        indexed = time.perf_counter()
        self.index.wait_for_earlier(video_id, published_at_ms, self.cfg.in_flight_wait_s)
        waited = time.perf_counter()
        verdict = self.detect(video_id, published_at_ms, signature)
        if verdict.kind in FULL_COPY_VERDICTS and verdict.duplicate_of is not None:
            original = next(m for m in verdict.matches if m.video_id == verdict.duplicate_of)
            root = self.index.originals([original.video_id]).get(original.video_id,
                                                                 (original.video_id, original.published_at_ms))
            self.index.keep_original(video_id, *root)
        return verdict, {"index": round(indexed - started, 4), "wait_for_earlier": round(waited - indexed, 4),
                         "lookup": round(time.perf_counter() - waited, 4)}

    def detect(self, video_id: str, published_at_ms: int, signature: CopySignature) -> Verdict:
        """The verdict against the videos indexed so far (read only)."""
        usable = signature.quality >= self.cfg.pdq_min_quality
        thresholds = (self.cfg.duplicate_min_coverage, self.cfg.partial_copy_min_coverage,
                      self.cfg.partial_copy_min_seconds)
        query_frames = thin(signature.index_frames, self.cfg.query_frames_max)
        if not usable.any() or not query_frames:
            return decide([], 0, *thresholds)
        found = self.candidates(video_id, published_at_ms, signature.query_views(query_frames),
                                self.cfg.knn_ef_runtime)
        if not found and self.cfg.turned_query_frames:
            found = self.candidates(video_id, published_at_ms,
                                    signature.turned_views(thin(query_frames, self.cfg.turned_query_frames)),
                                    self.cfg.turned_ef_runtime)
        by_id = {c.video_id: c for c in self.with_originals(found)}
        matches = [match for indexed in self.index.indexed_videos(list(by_id))
                   if (match := self.verify(signature, usable, indexed, by_id[indexed.video_id])) is not None]
        return decide(matches, int(np.count_nonzero(usable)), *thresholds)

    def candidates(self, video_id: str, published_at_ms: int, views: dict[str, np.ndarray],
                   ef_runtime: int) -> list[Candidate]:
        """Videos published before this one that frames of ``views`` land near, best first."""
        own_order = (published_at_ms, video_id)
        return [c for c in self.index.candidates(views, video_id, published_at_ms, NEIGHBOURS_PER_FRAME,
                                                 self.cfg.pdq_candidate_hamming, ef_runtime)
                if (c.published_at_ms, c.video_id) < own_order]

    def with_originals(self, found: list[Candidate]) -> list[Candidate]:
        """The candidates to verify, best first: ``found`` grouped by the original each copies (a video that
        copies none is its own group), and of the CANDIDATES_MAX best groups, the original and the best member.
        An original not found itself is verified in the view that found its best member."""
        originals = self.index.originals([c.video_id for c in found])
        groups: dict[str, list[Candidate]] = {}
        for candidate in found:
            groups.setdefault(originals.get(candidate.video_id, (candidate.video_id, 0))[0], []).append(candidate)
        chosen: list[Candidate] = []
        for original_id, members in list(groups.items())[:self.cfg.candidates_max]:
            best = members[0]
            if best.video_id != original_id:
                original = next((c for c in members if c.video_id == original_id), None)
                chosen.append(original or replace(best, video_id=original_id,
                                                  published_at_ms=originals[best.video_id][1]))
            chosen.append(best)
        return chosen

    def verify(self, query: CopySignature, query_usable: np.ndarray, reference: IndexedVideo,
               candidate: Candidate) -> Match | None:
        """Align the query with one candidate at the framing (crop, or whole frame with bars) that agrees
        with the most query frames."""
        query_bits = query.view_bits(candidate.view)
        ref = reference.signature
        reference_usable = ref.quality >= self.cfg.pdq_min_quality
        distances = hamming_matrix(query_bits, ref.bits)  # (framings, q, r)
        usable_pairs = query_usable[None, :, None] & reference_usable[None, None, :]
        close = (distances <= self.cfg.pdq_align_hamming) & usable_pairs
        framing = int(np.argmax(close.any(axis=2).sum(axis=1)))
        alignment = align(distances[framing], query.times_s, query_usable, query.duration_s,
                          ref.times_s, reference_usable, ref.duration_s,
                          self.cfg.pdq_align_hamming, self.cfg.segment_max_gap_s)
        if alignment is None:
            return None
        return Match(video_id=reference.video_id, published_at_ms=reference.published_at_ms, alignment=alignment,
                     audio=check_audio(query.audio_fingerprint, ref.audio_fingerprint, alignment),
                     view=candidate.view,
                     crop=CROPS[framing] if framing != WHOLE_FRAME else (1.0, 1.0),
                     query_duration_s=query.duration_s, reference_duration_s=ref.duration_s)

"""Duplicate and partial-copy detection for one video against the copy index.

1. Candidates: KNN in Redis for the query's index frames, as shown, mirrored left-right, (if it has
   black bars) with its bars and (if it is split into tiles: a grid, a split screen, an inset) each tile
   alone, among videos published no later than it. Only if none of those verifies (step 2), fewer of its frames are
   looked up turned the six other ways (rotated, upside down, transposed), with a narrower HNSW search:
   turned copies are rare, and a video that has an upright copy is judged on that.
   Candidates are grouped by the original they copy (kept for every video judged a full copy), and the
   CANDIDATES_MAX best groups are verified, each by its original and its best-placed member: however many
   copies of a video exist, its earliest original stays in view.
2. Verification: the candidate's stored signature is read back; of its stored framings (INDEX_FRAMINGS) against
   the query's view (and, for the picture as shown, each of the query's crops), the pair whose hashes agree on
   the most query frames is chosen, and the two frame sequences are aligned in time (speed changes
   included), which also localizes the copied segment in both videos.
3. Audio check along the alignment, then the verdict (core/verdicts.py).
4. Where the PDQ path verifies no copy, the descriptor signal looks (pipeline/descriptor_detection.py: ImageNet
   descriptors of the video's key pictures and their parts, for turned, warped, inset and grid copies); the verdict
   is then decided on both signals' matches (``judge_by_descriptors``).
"""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np

from core.bits import hamming_matrix, thin
from core.copy_alignment import SPEEDS, STILL_SPEEDS, align, check_audio, is_still
from core.signature import CROPS, WHOLE_FRAME, CopySignature
from core.verdicts import Match, Verdict, decide, identical_media
from pipeline.descriptor_detection import DescriptorDetector
from settings import Settings
from storage.copy_index import Candidate, CopyIndex, IndexedVideo
from storage.descriptor_index import DescribedVideo, DescriptorIndex

NEIGHBOURS_PER_FRAME = 10
# Query frames (usable ones, evenly spread) on which the pair of framings to align at is chosen: all of them would
# cost 45 frame-by-frame distance matrices per candidate.
FRAMING_CHOICE_FRAMES = 12
FULL_COPY_VERDICTS = ("EXACT_DUPLICATE", "NEAR_DUPLICATE")


class CopyDetector:
    def __init__(self, index: CopyIndex, cfg: Settings, descriptors: DescriptorIndex | None = None) -> None:
        """``descriptors``: the descriptor signal's index beside ``index`` (by default the one named after it)."""
        self.index = index
        self.descriptors = descriptors or DescriptorIndex(index.client, index.name)
        self.descriptor_detector = DescriptorDetector(descriptors, index, cfg)
        self.cfg = cfg

    def index_and_judge(self, video_id: str, published_at_ms: int, signature: CopySignature, digest: str,
                        described: tuple[DescribedVideo, np.ndarray] | None = None) -> tuple[Verdict, dict[str, float]]:
        """Index the video, wait for earlier-published videos still in flight, then judge it; with the
        seconds each step took. The caller marked the video in flight when it started on it, and claimed its
        media (SHA-256 ``digest``: CopyIndex.claim_media) before indexing it. ``described`` is the video's described
        pictures with their descriptors, indexed too (the descriptor signal's index), when the stage described them.

        A video whose file is byte-identical to an earlier-published one's is an exact duplicate of the earliest
        of those (core.verdicts.identical_media); any other is judged by its pictures (``detect``).

        Indexing before looking up means that of two racing copies at least the later one sees the other;
        waiting for earlier videos in flight makes sure it is the later one that does, so the earliest
        published wins even when the copies are processed at the same time on different partitions."""
        started = time.perf_counter()
        if described is not None:
            self.descriptors.upsert(*described)
        self.index.upsert(video_id, published_at_ms, signature)
        self.index.clear_in_flight(video_id)
        indexed = time.perf_counter()
        self.index.wait_for_earlier(video_id, published_at_ms, self.cfg.in_flight_wait_s)
        waited = time.perf_counter()
        verdict = self.judge(video_id, published_at_ms, signature, digest)
        self.keep_original(video_id, verdict)
        return verdict, {"index": round(indexed - started, 4), "wait_for_earlier": round(waited - indexed, 4),
                         "lookup": round(time.perf_counter() - waited, 4)}

    def keep_original(self, video_id: str, verdict: Verdict) -> None:
        """For a full copy, remember the earliest original it copies (CopyIndex.keep_original)."""
        if verdict.kind in FULL_COPY_VERDICTS and verdict.duplicate_of is not None:
            original = next(m for m in verdict.matches if m.video_id == verdict.duplicate_of)
            root = self.index.originals([original.video_id]).get(original.video_id,
                                                                 (original.video_id, original.published_at_ms))
            self.index.keep_original(video_id, *root)

    def judge_by_descriptors(self, video_id: str, published_at_ms: int, signature: CopySignature, verdict: Verdict,
                             described: DescribedVideo, views: np.ndarray, looked_up: list[int],
                             local_pictures: list[np.ndarray], indexed: bool) -> Verdict:
        """The verdict on the PDQ path's matches (``verdict``, which found no copy) and the descriptor signal's
        (``views``: the looked-up pictures' descriptors, ``local_pictures`` the same pictures for local features;
        DescriptorDetector.matches); for an ``indexed`` video,
        its original kept as ``index_and_judge`` keeps one."""
        found = self.descriptor_detector.matches(video_id, published_at_ms, signature, described, views, looked_up,
                                                 local_pictures)
        if not found:
            return verdict
        usable = int(np.count_nonzero(signature.quality >= self.cfg.pdq_min_quality))
        combined = decide([*verdict.matches, *found], usable, self.cfg.duplicate_min_coverage,
                          self.cfg.partial_copy_min_coverage, self.cfg.partial_copy_min_seconds)
        if indexed:
            self.keep_original(video_id, combined)
        return combined

    def judge(self, video_id: str, published_at_ms: int, signature: CopySignature, digest: str) -> Verdict:
        """An exact duplicate of the earliest video with the same file, else the verdict by pictures."""
        earliest = self.index.earliest_with_media(digest)
        if earliest is None or earliest[0] == video_id:
            return self.detect(video_id, published_at_ms, signature)
        usable = int(np.count_nonzero(signature.quality >= self.cfg.pdq_min_quality))
        return identical_media(*earliest, signature.duration_s, usable, signature.audio_fingerprint.size > 0)

    def detect(self, video_id: str, published_at_ms: int, signature: CopySignature) -> Verdict:
        """The verdict against the videos indexed so far (read only)."""
        usable = signature.quality >= self.cfg.pdq_min_quality
        thresholds = (self.cfg.duplicate_min_coverage, self.cfg.partial_copy_min_coverage,
                      self.cfg.partial_copy_min_seconds)
        query_frames = thin(signature.index_frames, self.cfg.query_frames_max)
        if not usable.any() or not query_frames:
            return decide([], 0, *thresholds)
        matches = self.verified(signature, usable, self.candidates(
            video_id, published_at_ms, signature.query_views(query_frames), self.cfg.knn_ef_runtime))
        if not matches and self.cfg.turned_query_frames:
            matches = self.verified(signature, usable, self.candidates(
                video_id, published_at_ms, signature.turned_views(thin(query_frames, self.cfg.turned_query_frames)),
                self.cfg.turned_ef_runtime))
        return decide(matches, int(np.count_nonzero(usable)), *thresholds)

    def verified(self, signature: CopySignature, usable: np.ndarray, found: list[Candidate]) -> list[Match]:
        """The matches among ``found`` (and the originals of those kept as copies) that verification confirms."""
        by_id = {c.video_id: c for c in self.with_originals(found)}
        return [match for indexed in self.index.indexed_videos(list(by_id))
                if (match := self.verify(signature, usable, indexed, by_id[indexed.video_id])) is not None]

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
        groups: dict[str, list[Candidate]] = {}
        for candidate in found:
            groups.setdefault((candidate.original or (candidate.video_id, 0))[0], []).append(candidate)
        chosen: list[Candidate] = []
        for original_id, members in list(groups.items())[:self.cfg.candidates_max]:
            best = members[0]
            if best.original is not None:
                original = next((c for c in members if c.video_id == original_id), None)
                chosen.append(original or replace(best, video_id=original_id, published_at_ms=best.original[1],
                                                  original=None))
            chosen.append(best)
        return chosen

    def verify(self, query: CopySignature, query_usable: np.ndarray, reference: IndexedVideo,
               candidate: Candidate) -> Match | None:
        """Align the query with one candidate at the pair of framings (the query's view, or for the picture as
        shown each of its crops; each framing the reference has stored) that agrees on the most query frames; a
        still onto a reference that moves at speed 0, onto one moment of it."""
        ref = reference.signature
        reference_usable = ref.quality >= self.cfg.pdq_min_quality
        as_shown = candidate.view == "as shown"
        # (framings, frames, 32): a query's signature holds every framing, its nine crops first
        query_bits = query.bits[:WHOLE_FRAME] if as_shown else query.view_bits(candidate.view)[None]
        sample = thin(np.flatnonzero(query_usable).tolist(), FRAMING_CHOICE_FRAMES)
        sampled = hamming_matrix(query_bits[:, sample].reshape(-1, query_bits.shape[-1]),
                                 ref.bits.reshape(-1, ref.bits.shape[-1]))
        close = (sampled.reshape(len(query_bits), len(sample), len(ref.bits), len(ref.times_s))
                 <= self.cfg.pdq_align_hamming) & reference_usable
        query_framing, reference_framing = np.unravel_index(np.argmax(close.any(axis=3).sum(axis=1)),
                                                            (len(query_bits), len(ref.bits)))
        still = is_still(query.bits[0], query_usable) and not is_still(ref.bits[0], reference_usable)
        alignment = align(hamming_matrix(query_bits[query_framing], ref.bits[reference_framing]), query.times_s,
                          query_usable, query.duration_s, ref.times_s, reference_usable, ref.duration_s,
                          self.cfg.pdq_align_hamming, self.cfg.segment_max_gap_s, STILL_SPEEDS if still else SPEEDS)
        if alignment is None:
            return None
        return Match(video_id=reference.video_id, published_at_ms=reference.published_at_ms, alignment=alignment,
                     audio=check_audio(query.audio_fingerprint, ref.audio_fingerprint, alignment,
                                       pitch_fingerprints=query.pitch_fingerprints),
                     view=candidate.view, crop=copy_crop(ref.framings[reference_framing],
                                                           int(query_framing) if as_shown else 0),
                     query_duration_s=query.duration_s, reference_duration_s=ref.duration_s)


def copy_crop(reference_framing: int, query_crop: int) -> tuple[float, float]:
    """The share of the reference's picture (width, height) the copy shows, from the reference framing and the
    query crop that matched: the reference's 80 % crop matched by the query's 90 % means a copy cropped to 89 %;
    above 1, the copy shows more than the original's picture (a margin around it)."""
    shown = CROPS[reference_framing] if reference_framing != WHOLE_FRAME else (1.0, 1.0)
    return (round(shown[0] / CROPS[query_crop][0], 2), round(shown[1] / CROPS[query_crop][1], 2))

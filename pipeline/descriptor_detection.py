"""Copy detection by the descriptor signal, for what the PDQ path (pipeline/copy_detection.py) cannot see: a
picture turned, warped, shrunk into an inset or a grid cell.

1. Candidates: every view of the query's looked-up pictures (features/descriptor_views.py) finds its NEIGHBOURS
   nearest indexed pictures in Redis (storage/descriptor_index.py); per query picture, each video's best similarity
   and the picture's background (core/descriptor_match.background_similarity, among the videos found). The
   CANDIDATES videos published before the query that stand most above a picture's background are verified, with
   the originals of those kept as full copies.
2. Verification: the candidate's stored codes against the query's (every view), the temporal line through the
   pictures above their background (core/descriptor_match.match).
3. Geometric verification of the GEOMETRY_CANDIDATES candidates whose lines score highest (at least
   GEOMETRY_MIN_SCORE): their described pictures decoded again from their media
   (features/local_features.reference_features, within the media budget) and matched by local features to the
   query's looked-up pictures, as they are and mirrored (features/geometric_verification.best_geometry): one
   transform agreed on by MIN_INLIERS keypoints verifies the copy and places it (box, angle, mirror).
A line scoring DESCRIPTOR_MIN_SCORE or more, or verified geometrically, becomes a Match for the verdict
(core/verdicts.py), its audio checked along the line (and at normal speed, the line being coarse) within
AUDIO_SHIFT_S. A match is dropped where the audio differs, unless STRONG_GEOMETRY_INLIERS keypoints verified it:
the descriptor sees what kind of picture it is, and two moments of one concert, or two videos of one room, look
alike to it; and one camera filming one stage at two moments agrees on its still background. A match verified
that strongly, like a PDQ match that aligned frame by frame, stays a copy whatever its sound (SIMILAR when it
differs).
"""

from __future__ import annotations

import logging
from dataclasses import replace

import numpy as np

from core.alignment import ON_LINE_TOLERANCE_S
from core.copy_alignment import Alignment, AudioCheck, check_audio
from core.descriptor_codes import codes
from core.descriptor_match import DescriptorMatch, Spans, background_similarity, match, view_similarities
from core.errors import MediaError
from core.geometry import Geometry
from core.signature import CopySignature
from core.verdicts import Match
from features.descriptor_views import VIEW_NAMES, VIEW_REGIONS
from features.geometric_verification import best_geometry
from features.local_features import LocalFeatures, query_features, reference_features
from features.media_budget import within_budget
from settings import Settings
from storage.copy_index import CopyIndex
from storage.descriptor_index import DescribedVideo, DescriptorIndex
from storage.media_files import resolve_media_path

log = logging.getLogger(__name__)

NEIGHBOURS = 20  # nearest indexed pictures per query view
EF_RUNTIME = 40
BACKGROUND_RANK = 10  # a picture's background: its similarity to the 10th most similar video
# ... and at least this: about the median of the 10th most similar video's similarity among the copy benchmark's quick
# slices' 26 videos (0.46; its 90th percentile 0.52), taken a little high. Scores then mean about the same in a young
# index as in a full one, where the 10th most similar video is more similar.
BACKGROUND_FLOOR = 0.5
AUDIO_SHIFT_S = 3.0  # the audio is searched this far around a descriptor match's line
CANDIDATES = 20
GEOMETRY_CANDIDATES = 3  # candidates verified by local features: each costs a decode of its described pictures
# ... those whose line scores at least this: on the copy benchmark (seed 1) a line below it was a true pair's for 26
# of 177 true pairs, and lines at least this good were found for 230 of the 600 queries (317 at any score), whose
# top 3 held 413 candidates to decode (926 at any score).
GEOMETRY_MIN_SCORE = 0.1
# A match verified geometrically whose sound differs stays a copy only with this many agreeing keypoints (twice
# MIN_INLIERS): one camera filming one stage or room at another moment agrees on its still background (25-28
# keypoints between two moments of the iscc-samples concert on the copy benchmark, seed 1, and bench.copy_eval),
# a copy on its moving content too.
STRONG_GEOMETRY_INLIERS = 40


class DescriptorDetector:
    def __init__(self, index: DescriptorIndex, copies: CopyIndex, cfg: Settings) -> None:
        self.index = index
        self.copies = copies
        self.cfg = cfg

    def matches(self, video_id: str, published_at_ms: int, signature: CopySignature, described: DescribedVideo,
                views: np.ndarray, looked_up: list[int], local_pictures: list[np.ndarray]) -> list[Match]:
        """The copies the descriptor signal verifies among videos published before this one. ``described`` is the
        query as indexed; ``views`` its looked-up pictures' descriptors (pictures, len(VIEW_NAMES), 1280), the
        pictures at positions ``looked_up`` of ``described``; ``local_pictures`` the same pictures for local
        features (features/local_features.local_picture)."""
        if not len(looked_up):
            return []
        own_order = (published_at_ms, video_id)
        best: dict[str, np.ndarray] = {}  # video -> each query picture's best similarity (-inf: not found)
        found = self.index.neighbours(views.reshape(-1, views.shape[-1]), NEIGHBOURS, EF_RUNTIME)
        for row, neighbours in enumerate(found):
            picture = row // views.shape[1]
            for neighbour in neighbours:
                if neighbour.video_id != video_id:
                    similarities = best.setdefault(neighbour.video_id, np.full(len(looked_up), -np.inf, np.float32))
                    similarities[picture] = max(similarities[picture], neighbour.similarity)
        if not best:
            return []
        ids = list(best)
        per_video = np.stack([best[i] for i in ids], axis=1)
        background = background_similarity(per_video, BACKGROUND_RANK, BACKGROUND_FLOOR)
        standing_out = (per_video - background[:, None]).max(axis=0)
        ranked = [ids[n] for n in np.argsort(-standing_out) if standing_out[n] > 0]
        candidates = self._with_originals(ranked[:CANDIDATES])
        query_codes = codes(views)
        query_spans = Spans.of(described.times_s, described.duration_s)
        query_spans = Spans(query_spans.starts[looked_up], query_spans.ends[looked_up])
        references = {v.video_id: v for v in self.copies.indexed_videos(candidates)}
        lines: list[tuple[DescriptorMatch, DescribedVideo]] = []
        for reference in self.index.described_videos(candidates):
            if (reference.published_at_ms, reference.video_id) >= own_order or reference.video_id not in references:
                continue
            similarities, which = view_similarities(query_codes, reference.codes)
            line = match(query_spans, similarities, which, background,
                         Spans.of(reference.times_s, reference.duration_s), ON_LINE_TOLERANCE_S)
            if line is not None:
                lines.append((line, reference))
        lines.sort(key=lambda found_line: -found_line[0].score)
        geometries = self._geometries([reference for line, reference in lines[:GEOMETRY_CANDIDATES]
                                       if line.score >= GEOMETRY_MIN_SCORE], local_pictures)
        verified = []
        for line, reference in lines:
            geometry = geometries.get(reference.video_id)
            if geometry is None and line.score < self.cfg.descriptor_min_score:
                continue
            alignment = Alignment(
                speed=line.speed, offset_s=line.offset_s, aligned_frames=line.pictures,
                segment_frames=line.segment_pictures, mean_hamming=0.0, exact=False,
                query_start_s=line.query_range_s[0], query_end_s=line.query_range_s[1],
                reference_start_s=line.reference_range_s[0], reference_end_s=line.reference_range_s[1])
            original = references[reference.video_id].signature
            audio = _audio_along(signature, original.audio_fingerprint, alignment)
            if audio.status == "DIFFERENT" and (geometry is None or geometry.inliers < STRONG_GEOMETRY_INLIERS):
                continue  # pictures alike, sound of another moment or video: the same place, not the same video
            verified.append(Match(
                video_id=reference.video_id, published_at_ms=reference.published_at_ms, alignment=alignment,
                audio=audio,
                view=VIEW_NAMES[line.view], crop=(1.0, 1.0), query_duration_s=signature.duration_s,
                reference_duration_s=original.duration_s, signal="descriptor", descriptor_score=line.score,
                region=geometry.box if geometry is not None else VIEW_REGIONS[line.view], geometry=geometry))
        return verified

    def _geometries(self, references: list[DescribedVideo], local_pictures: list[np.ndarray]) -> dict[str, Geometry]:
        """The references that local features verify, with their geometry (features/geometric_verification.py). A
        reference whose media cannot be read again (deleted, moved, damaged) is left to its descriptors."""
        references = [r for r in references if r.media_uri]
        if not references or not local_pictures:
            return {}
        as_shown, mirrored = query_features(local_pictures)
        verified = {}
        for reference in references:
            try:
                features: list[LocalFeatures] = within_budget(
                    reference_features, resolve_media_path(reference.media_uri, self.cfg.media_root),
                    [float(t) for t in reference.times_s], self.cfg, reference.media_uri, cfg=self.cfg,
                    name=reference.media_uri)
            except MediaError as exc:
                log.warning("%s not verified by local features: %s", reference.video_id, exc)
                continue
            geometry = best_geometry(as_shown, mirrored, features)
            if geometry is not None:
                verified[reference.video_id] = geometry
        return verified

    def _with_originals(self, candidates: list[str]) -> list[str]:
        """The candidates, each followed by its original if it was kept as a full copy of one: however many copies
        of a video crowd the neighbours, its earliest original stays in view."""
        originals = self.copies.originals(candidates)
        chosen: list[str] = []
        for video_id in candidates:
            for member in (video_id, originals.get(video_id, (video_id, 0))[0]):
                if member not in chosen:
                    chosen.append(member)
        return chosen


def _audio_along(query: CopySignature, reference_fp: np.ndarray, alignment: Alignment) -> AudioCheck:
    """The audio check of a descriptor match, whose line is coarse (pictures seconds apart): along it and along the
    line at normal speed through the middles of both ranges, each within AUDIO_SHIFT_S (and at the query's pitch
    shifts); the closer of the two."""
    middle_query = (alignment.query_start_s + alignment.query_end_s) / 2
    middle_reference = (alignment.reference_start_s + alignment.reference_end_s) / 2
    normal_speed = replace(alignment, speed=1.0, offset_s=middle_reference - middle_query)
    checks = [check_audio(query.audio_fingerprint, reference_fp, line, AUDIO_SHIFT_S, query.pitch_fingerprints)
              for line in (alignment, normal_speed)]
    measured = [c for c in checks if c.bit_error_rate is not None]
    return min(measured, key=lambda c: c.bit_error_rate) if measured else checks[0]

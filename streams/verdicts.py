"""Turn frame-level neighbours from the index into one duplicate verdict (pure logic, no I/O).

A reference video counts as an *original* of the query only if it was published earlier, with the
video id breaking ties, so two copies racing through different partitions are ordered the same way
by every worker: the earliest published wins.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from storage.frame_index import FrameNeighbour


@dataclass(frozen=True)
class Match:
    video_id: str
    published_at_ms: int
    query_coverage: float
    reference_coverage: float
    mean_hamming: float
    query_start_s: float
    query_end_s: float
    reference_start_s: float
    reference_end_s: float

    @property
    def score(self) -> float:
        return min(self.query_coverage, self.reference_coverage)

    def as_record(self) -> dict:
        return {"video_id": self.video_id, "score": self.score, "query_coverage": self.query_coverage,
                "reference_coverage": self.reference_coverage, "query_start_s": self.query_start_s,
                "query_end_s": self.query_end_s, "reference_start_s": self.reference_start_s,
                "reference_end_s": self.reference_end_s}


@dataclass(frozen=True)
class Verdict:
    kind: str  # a DuplicateVerdict.VerdictKind symbol
    duplicate_of: str | None
    score: float
    reason: str
    matches: list[Match]


def summarize_matches(neighbours: list[FrameNeighbour], query_times_s: list[float]) -> list[Match]:
    """Per reference video: which share of each side's frames matched, and the matched time ranges."""
    by_video: dict[str, list[FrameNeighbour]] = defaultdict(list)
    for n in neighbours:
        by_video[n.video_id].append(n)
    matches = []
    for video_id, hits in by_video.items():
        query_frames = {h.query_frame for h in hits}
        reference_frames = {h.frame_index for h in hits}
        reference_times = [h.t_s for h in hits]
        matched_query_times = [query_times_s[i] for i in query_frames]
        matches.append(Match(
            video_id=video_id,
            published_at_ms=hits[0].published_at_ms,
            query_coverage=len(query_frames) / len(query_times_s),
            reference_coverage=min(1.0, len(reference_frames) / max(1, hits[0].frame_count)),
            mean_hamming=sum(h.hamming for h in hits) / len(hits),
            query_start_s=min(matched_query_times), query_end_s=max(matched_query_times),
            reference_start_s=min(reference_times), reference_end_s=max(reference_times),
        ))
    return sorted(matches, key=lambda m: (-m.score, m.published_at_ms, m.video_id))


def decide(matches: list[Match], video_id: str, published_at_ms: int, compared_frames: int,
           duplicate_min_coverage: float, partial_min_coverage: float) -> Verdict:
    """Classify the query against its matches; only earlier-published references can be originals."""
    if compared_frames == 0:
        return Verdict("UNIQUE", None, 0.0, "no frame had enough detail to compare (flat or blank video)", [])
    own_order = (published_at_ms, video_id)
    earlier = [m for m in matches if (m.published_at_ms, m.video_id) < own_order]
    if not earlier:
        later = [m.video_id for m in matches if m.score >= partial_min_coverage]
        reason = "no earlier video shares its frames"
        if later:
            reason += f"; later-published copies: {', '.join(later[:3])}"
        return Verdict("UNIQUE", None, 0.0, reason, matches)
    best_full = [m for m in earlier if m.score >= duplicate_min_coverage]
    if best_full:
        # Among full copies the earliest published is the original.
        original = min(best_full, key=lambda m: (m.published_at_ms, m.video_id))
        if original.mean_hamming == 0 and original.query_coverage == 1.0 and original.reference_coverage == 1.0:
            kind, how = "EXACT_DUPLICATE", "every frame identical"
        else:
            kind, how = "NEAR_DUPLICATE", f"mean PDQ Hamming distance {original.mean_hamming:.1f}/256"
        return Verdict(kind, original.video_id, original.score,
                       f"{original.query_coverage:.0%} of its frames match {original.reference_coverage:.0%} "
                       f"of {original.video_id}'s ({how})", matches)
    best = earlier[0]
    if max(best.query_coverage, best.reference_coverage) >= partial_min_coverage:
        return Verdict("PARTIAL_COPY", best.video_id, best.score,
                       f"{best.query_start_s:.0f}-{best.query_end_s:.0f}s match {best.video_id} "
                       f"{best.reference_start_s:.0f}-{best.reference_end_s:.0f}s "
                       f"({best.query_coverage:.0%} of this video, {best.reference_coverage:.0%} of that one)",
                       matches)
    return Verdict("UNIQUE", None, best.score,
                   f"best match {best.video_id} shares only {best.query_coverage:.0%} of frames", matches)

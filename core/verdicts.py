"""Turn verified matches into one duplicate verdict (pure logic, no I/O).

A reference counts as an *original* of the query only if it was published earlier, with the video id
breaking ties, so copies racing through different partitions are ordered the same way by every worker:
the earliest published wins.

A file byte-identical to an earlier one (the same SHA-256) is an EXACT_DUPLICATE of the earliest published with
those bytes, whatever its length and whether or not its frames can be compared (``identical_media``).

Every verdict that finds a relation names the earliest original it relates to in ``duplicate_of``, SIMILAR too (the
same visuals over another soundtrack, or a still of one moment): a consumer tells a copy from a relation by the kind.

A *still* (core.copy_alignment.is_still: one picture held) whose picture is a frame of an earlier video that moves
shows one moment of it, not a stretch of its time: it is SIMILAR, naming the earliest such video and, in its reason,
the moment, never a copy of a stretch (a slow-motion copy holds each moment longer, yet the still copies none of its
time). A still of a still is judged as any video (a re-upload of a held picture is its duplicate).

Audio decides the hard cases: the same visuals with a different soundtrack or a voice-over are SIMILAR,
not duplicates; a copy whose audio was muted is still a visual copy and says so; different visuals over
the same track never match at all, because candidates come from the pictures.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.copy_alignment import Alignment, AudioCheck
from core.geometry import Geometry
from core.records import GeometryRecord, MatchRecord

# At least this share of the usable frames inside the copied segment must align.
MIN_ALIGNED_DENSITY = 0.5
# Partial copies whose coverage of the query is within this of the largest one's copy the same part of it.
PARTIAL_EQUAL_COVERAGE = 0.1


@dataclass(frozen=True)
class Match:
    video_id: str
    published_at_ms: int
    alignment: Alignment
    audio: AudioCheck
    view: str  # the query view that matched (core/signature.py): "as shown", "with bars", a turn or a tile
    crop: tuple[float, float]  # centred share (width, height) of the reference's picture shown; > 1: a margin
    query_duration_s: float
    reference_duration_s: float
    identical: bool = False  # the same file (SHA-256) as the reference: not compared by pictures
    signal: str = "pdq"  # what found it: "pdq" (hashes aligned), "descriptor" (ImageNet descriptors), "same_file"
    descriptor_score: float | None = None  # the descriptor signal's score (core/descriptor_match.py)
    region: tuple[float, float, float, float] | None = None  # (left, top, width, height) of the query's picture
    # showing the copy, as shares, when the descriptor signal matched it in a part of the picture (an inset, a cell)
    geometry: Geometry | None = None  # for the descriptor signal: the transform local features verified

    @property
    def query_coverage(self) -> float:
        return min(1.0, self.alignment.segment_s / max(self.query_duration_s, 1e-6))

    @property
    def reference_coverage(self) -> float:
        span = self.alignment.reference_end_s - self.alignment.reference_start_s
        return min(1.0, span / max(self.reference_duration_s, 1e-6))

    @property
    def mirrored(self) -> bool:
        return self.view == "mirrored" or (self.geometry is not None and self.geometry.mirrored)

    @property
    def still(self) -> bool:
        """This video is a still matched to one moment of the reference (aligned at speed 0)."""
        return self.alignment.speed == 0.0

    @property
    def as_shown(self) -> bool:
        """Matched without turning the picture or cutting a tile out of it."""
        return self.view in ("as shown", "with bars")

    @property
    def score(self) -> float:
        return 1.0 if self.identical else self.alignment.confidence

    def is_visual_copy(self, partial_min_coverage: float, partial_min_seconds: float) -> bool:
        a = self.alignment
        long_enough = (a.segment_s >= partial_min_seconds
                       or max(self.query_coverage, self.reference_coverage) >= partial_min_coverage)
        return long_enough and a.aligned_frames >= MIN_ALIGNED_DENSITY * a.segment_frames

    def as_record(self, visual_copy: bool) -> MatchRecord:
        a = self.alignment
        return MatchRecord(
            video_id=self.video_id, score=self.score, query_coverage=round(self.query_coverage, 4),
            reference_coverage=round(self.reference_coverage, 4), query_start_s=a.query_start_s,
            query_end_s=a.query_end_s, reference_start_s=a.reference_start_s, reference_end_s=a.reference_end_s,
            visual_copy=visual_copy, aligned_frames=a.aligned_frames, mean_hamming=a.mean_hamming, speed=a.speed,
            mirrored=self.mirrored, crop_width=self.crop[0], crop_height=self.crop[1], audio=self.audio.status,
            audio_bit_error_rate=self.audio.bit_error_rate, signal=self.signal, descriptor_score=self.descriptor_score,
            region=[round(share, 3) for share in self.region] if self.region else None,
            geometry=None if self.geometry is None else GeometryRecord(
                inliers=self.geometry.inliers, box=list(self.geometry.box), angle_deg=self.geometry.angle_deg,
                mirrored=self.geometry.mirrored))


@dataclass(frozen=True)
class Verdict:
    kind: str  # a DuplicateVerdict.VerdictKind symbol
    duplicate_of: str | None
    score: float
    reason: str
    matches: list[Match]
    copies: list[str]  # ids of the matches judged visual copies

    def match_records(self, limit: int = 10) -> list[MatchRecord]:
        return [m.as_record(m.video_id in self.copies) for m in self.matches[:limit]]


def _audio_words(audio: AudioCheck) -> str:
    ber = f" (bit error rate {audio.bit_error_rate:.2f})" if audio.bit_error_rate is not None else ""
    shifted = f" pitch-shifted {audio.pitch_shift:+d} semitones" if audio.pitch_shift else ""
    return {
        "SAME": f"audio matches{shifted}{ber}",
        "DIFFERENT": f"soundtrack differs{ber}",
        "INCONCLUSIVE": f"audio inconclusive{shifted}{ber}",
        "QUERY_SILENT": "its audio is muted or missing: a visual copy",
        "REFERENCE_SILENT": "the original has no audio",
        "NOT_CHECKED": "audio not compared",
    }[audio.status]


def _geometry_words(geometry: Geometry) -> str:
    left, top, width, height = geometry.box
    turned = f"turned {geometry.angle_deg:+.0f} degrees, " if abs(geometry.angle_deg) >= 1 else ""
    mirrored = "mirrored left-right, " if geometry.mirrored else ""
    return (f"verified by {geometry.inliers} keypoints under one geometry: {mirrored}{turned}the original's picture "
            f"spans {width:.0%} x {height:.0%} of this one at {left:.0%} across, {top:.0%} down")


def _describe(match: Match) -> str:
    a = match.alignment
    if match.identical:
        return (f"the same file as {match.video_id} (SHA-256), {a.query_start_s:.1f}-{a.query_end_s:.1f}s of both; "
                f"{_audio_words(match.audio)}")
    if match.signal == "descriptor":
        how = [f"{a.aligned_frames} of {a.segment_frames} pictures aligned by their ImageNet descriptors (score "
               f"{match.descriptor_score:.2f})"]
        if match.geometry is not None:
            how.append(_geometry_words(match.geometry))
        elif match.region is not None:
            left, top, width, height = match.region
            how.append(f"shown in the {match.view} of the picture ({width:.0%} x {height:.0%} at {left:.0%} across, "
                       f"{top:.0%} down)")
    else:
        how = [f"{a.aligned_frames} frames aligned, mean PDQ distance {a.mean_hamming:.0f}/256"]
    if match.signal == "descriptor":
        pass  # where and how it is shown: the region or geometry above
    elif match.mirrored:
        how.append("mirrored left-right")
    elif match.view.startswith("tile "):
        how.append(f"shown in {match.view} of a split or inset picture")
    elif not match.as_shown:
        how.append(f"{match.view} to match")
    if match.crop != (1.0, 1.0):
        shown = f"{match.crop[0]:.0%} x {match.crop[1]:.0%}"
        how.append(f"cropped to {shown}" if max(match.crop) <= 1.0 else f"framed wider ({shown} of the original)")
    if match.still:
        return (f"its picture, held {a.query_start_s:.1f}-{a.query_end_s:.1f}s, is the frame of {match.video_id} "
                f"at {a.reference_start_s:.1f}s ({', '.join(how)})")
    if abs(a.speed - 1.0) >= 0.05:
        how.append(f"playing at x{a.speed:.2f} speed")
    return (f"{a.query_start_s:.1f}-{a.query_end_s:.1f}s match {match.video_id} "
            f"{a.reference_start_s:.1f}-{a.reference_end_s:.1f}s ({', '.join(how)}; {_audio_words(match.audio)})")


def decide(matches: list[Match], compared_frames: int, duplicate_min_coverage: float,
           partial_min_coverage: float, partial_min_seconds: float) -> Verdict:
    """Classify the query against its verified matches with earlier-published videos."""
    if compared_frames == 0:
        return Verdict("UNIQUE", None, 0.0, "no frame had enough detail to compare (flat or blank video)", [], [])
    matches = sorted(matches, key=lambda m: (-m.score, m.published_at_ms, m.video_id))
    copies = [m for m in matches if not m.still and m.is_visual_copy(partial_min_coverage, partial_min_seconds)]
    copy_ids = [m.video_id for m in copies]
    stills = [m for m in matches if m.still]
    if not copies and stills:
        shown = min(stills, key=lambda m: (m.published_at_ms, m.video_id))
        return Verdict("SIMILAR", shown.video_id, shown.score,
                       f"a still of one moment of another video: {_describe(shown)}", matches, [])
    if not copies:
        reason = "no earlier video shares its pictures"
        if matches:
            reason += f" (closest: {matches[0].video_id}, {matches[0].alignment.aligned_frames} frames)"
        return Verdict("UNIQUE", None, 0.0, reason, matches, [])
    full = [m for m in copies
            if m.query_coverage >= duplicate_min_coverage and m.reference_coverage >= duplicate_min_coverage]
    # Among full copies the earliest published is the original; otherwise, among the partial copies covering
    # about as much of this video as the one covering most (copies of one original cover the same part), the
    # earliest published.
    most = max(m.query_coverage for m in copies)
    equals = full or [m for m in copies if m.query_coverage >= most - PARTIAL_EQUAL_COVERAGE]
    original = min(equals, key=lambda m: (m.published_at_ms, m.video_id))
    if original.audio.status == "DIFFERENT":
        return Verdict("SIMILAR", original.video_id, original.score,
                       "same visuals, different soundtrack or voice-over: " + _describe(original), matches, copy_ids)
    if not full:
        return Verdict("PARTIAL_COPY", original.video_id, original.score,
                       f"partial copy: {_describe(original)}; {original.query_coverage:.0%} of this video, "
                       f"{original.reference_coverage:.0%} of that one", matches, copy_ids)
    exact = (original.alignment.exact and original.audio.status in ("SAME", "REFERENCE_SILENT")
             and not original.audio.pitch_shift)
    kind = "EXACT_DUPLICATE" if exact and original.as_shown and original.crop == (1.0, 1.0) else "NEAR_DUPLICATE"
    return Verdict(kind, original.video_id, original.score, f"{kind.lower().replace('_', ' ')}: {_describe(original)}",
                   matches, copy_ids)


def identical_media(original_id: str, original_published_at_ms: int, duration_s: float, usable_frames: int,
                    has_audio: bool) -> Verdict:
    """The verdict on a file byte-identical to ``original_id``'s, the earliest published with those bytes: an
    EXACT_DUPLICATE of it, both whole videos matched, whatever its length or how many frames it has to compare."""
    alignment = Alignment(speed=1.0, offset_s=0.0, aligned_frames=usable_frames, segment_frames=usable_frames,
                          mean_hamming=0.0, exact=True, query_start_s=0.0, query_end_s=round(duration_s, 2),
                          reference_start_s=0.0, reference_end_s=round(duration_s, 2))
    audio = AudioCheck("SAME", 0.0) if has_audio else AudioCheck("REFERENCE_SILENT", None)
    match = Match(original_id, original_published_at_ms, alignment, audio, view="as shown", crop=(1.0, 1.0),
                  query_duration_s=duration_s, reference_duration_s=duration_s, identical=True, signal="same_file")
    return Verdict("EXACT_DUPLICATE", original_id, match.score, f"exact duplicate: {_describe(match)}", [match],
                   [original_id])

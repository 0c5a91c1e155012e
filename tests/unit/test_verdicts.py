"""Pure unit tests of alignment, the audio check and the verdict rules (real media and Redis: test_copies.py)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import numpy as np

from core.bits import hamming_matrix
from core.copy_alignment import STILL_SPEEDS, Alignment, AudioCheck, align, check_audio, is_still
from core.records import VideoPublished
from core.signature import CROPS, SECONDS_PER_SUBFINGERPRINT, WHOLE_FRAME
from core.verdicts import Match, decide, identical_media
from pipeline.copy_detection import copy_crop
from pipeline.outputs import verdict_record

RNG = np.random.default_rng(11)


def random_hashes(n: int) -> np.ndarray:
    return RNG.integers(0, 256, size=(n, 32), dtype=np.uint8)


def flip_bits(hashes: np.ndarray, bits: int) -> np.ndarray:
    noisy = np.unpackbits(hashes, axis=1)
    noisy[:, :bits] ^= 1
    return np.packbits(noisy, axis=1)


def aligned(query_times: np.ndarray, query: np.ndarray, reference_times: np.ndarray, reference: np.ndarray,
            query_duration: float, reference_duration: float) -> Alignment | None:
    return align(hamming_matrix(query, reference), query_times, np.ones(len(query), bool), query_duration,
                 reference_times, np.ones(len(reference), bool), reference_duration,
                 max_hamming=40, max_gap_s=3.0)


def test_alignment_localizes_a_segment_inserted_into_another_video() -> None:
    reference = random_hashes(30)  # 30 s reference, 1 frame per second
    background = random_hashes(20)
    # Query: 6 s of unrelated frames, then reference seconds 10..17 (slightly altered), then 6 s unrelated.
    query = np.concatenate([background[:6], flip_bits(reference[10:18], 10), background[6:12]])
    a = aligned(np.arange(20.0), query, np.arange(30.0), reference, 20.0, 30.0)
    assert a is not None and a.speed == 1.0 and a.aligned_frames == 8
    assert (a.query_start_s, a.query_end_s) == (5.5, 13.5)  # half-way to the neighbouring frames
    assert (a.reference_start_s, a.reference_end_s) == (9.5, 17.5)


def test_alignment_finds_the_speed_of_a_sped_up_copy() -> None:
    reference = random_hashes(40)
    query_times = np.arange(24.0)
    # A 1.25x faster copy: query second t shows reference second 1.25 t (nearest sampled frame).
    query = reference[np.round(query_times * 1.25).astype(int)]
    a = aligned(query_times, query, np.arange(40.0), reference, 24.0, 40.0)
    assert a is not None and abs(a.speed - 1.25) <= 0.05 and a.aligned_frames >= 20


def test_unrelated_videos_do_not_align() -> None:
    assert aligned(np.arange(20.0), random_hashes(20), np.arange(20.0), random_hashes(20), 20.0, 20.0) is None


def test_a_clip_of_fewer_than_three_frames_is_matched_by_every_frame_it_has() -> None:
    """A 2 s clip sampled at 1 fps has 2 frames: both aligned, it matches; one of them unrelated, it does not."""
    reference = random_hashes(20)
    clip = flip_bits(reference[5:7], 6)
    a = aligned(np.arange(2.0), clip, np.arange(20.0), reference, 2.0, 20.0)
    assert a is not None and (a.speed, a.aligned_frames) == (1.0, 2)
    assert (a.query_start_s, a.query_end_s, a.reference_start_s, a.reference_end_s) == (0.0, 2.0, 5.0, 7.0)
    assert aligned(np.arange(2.0), np.concatenate([clip[:1], random_hashes(1)]), np.arange(20.0), reference, 2.0,
                   20.0) is None
    assert aligned(np.arange(3.0), np.concatenate([clip, random_hashes(1)]), np.arange(20.0), reference, 3.0,
                   20.0) is None  # three frames: three must align, as for any longer video


def alignment(query: tuple[float, float], reference: tuple[float, float], frames: int = 10,
              exact: bool = False) -> Alignment:
    return Alignment(speed=1.0, offset_s=reference[0] - query[0], aligned_frames=frames, segment_frames=frames,
                     mean_hamming=0.0 if exact else 8.0, exact=exact, query_start_s=query[0], query_end_s=query[1],
                     reference_start_s=reference[0], reference_end_s=reference[1])


def test_audio_check_same_different_and_silent() -> None:
    seconds = 20
    fingerprint = RNG.integers(-2**31, 2**31 - 1, size=int(seconds / SECONDS_PER_SUBFINGERPRINT), dtype=np.int64)
    fingerprint = fingerprint.astype(np.int32)
    a = alignment((0.0, 20.0), (0.0, 20.0))
    same = check_audio(fingerprint, fingerprint, a)
    assert same.status == "SAME" and same.bit_error_rate == 0.0
    other = RNG.integers(-2**31, 2**31 - 1, size=fingerprint.size, dtype=np.int64).astype(np.int32)
    assert check_audio(other, fingerprint, a).status == "DIFFERENT"
    assert check_audio(np.zeros(0, np.int32), fingerprint, a).status == "QUERY_SILENT"
    assert check_audio(fingerprint, np.zeros(0, np.int32), a).status == "REFERENCE_SILENT"


def match(video_id: str, published_at_ms: int, audio: str = "SAME", query=(0.0, 10.0), reference=(0.0, 10.0),
          durations=(10.0, 10.0), exact: bool = False) -> Match:
    return Match(video_id, published_at_ms, alignment(query, reference, exact=exact),
                 AudioCheck(audio, 0.1 if audio == "SAME" else None), view="as shown", crop=(1.0, 1.0),
                 query_duration_s=durations[0], reference_duration_s=durations[1])


def verdict(*matches: Match):
    return decide(list(matches), compared_frames=10, duplicate_min_coverage=0.8, partial_min_coverage=0.5,
                  partial_min_seconds=3.0)


def test_full_copy_with_same_audio_is_near_duplicate_and_exact_when_identical() -> None:
    v = verdict(match("orig", 1000))
    assert (v.kind, v.duplicate_of, v.copies) == ("NEAR_DUPLICATE", "orig", ["orig"])
    assert verdict(match("orig", 1000, exact=True)).kind == "EXACT_DUPLICATE"


def test_earliest_published_full_copy_is_the_original() -> None:
    assert verdict(match("b-second", 2000), match("a-first", 1000)).duplicate_of == "a-first"


def test_audio_decides_the_hard_cases() -> None:
    replaced = verdict(match("orig", 1000, audio="DIFFERENT"))
    # a relation, not a copy: named, so the recommender can show or hide it by its kind
    assert replaced.kind == "SIMILAR" and replaced.duplicate_of == "orig" and replaced.copies == ["orig"]
    assert "different soundtrack" in replaced.reason
    muted = verdict(match("orig", 1000, audio="QUERY_SILENT"))
    assert muted.kind == "NEAR_DUPLICATE" and "muted or missing" in muted.reason


def test_segment_of_a_longer_video_is_a_partial_copy_with_both_ranges() -> None:
    v = verdict(match("orig", 1000, query=(5.5, 13.5), reference=(9.5, 17.5), durations=(20.0, 30.0)))
    assert v.kind == "PARTIAL_COPY" and v.duplicate_of == "orig"
    record = v.match_records()[0]
    assert (record.query_start_s, record.reference_end_s, record.visual_copy) == (5.5, 17.5, True)


def test_a_partial_copy_names_the_earliest_of_the_videos_it_copies_as_much_of() -> None:
    """An excerpt found in an original and in a later full copy of it names the original, even when the copy
    matched a little more confidently; a video covering much less of the excerpt does not count as an equal."""
    excerpt = {"query": (0.0, 10.0), "reference": (20.0, 30.0), "durations": (10.0, 60.0)}
    copy_of_original = match("copy", 2000, **excerpt)
    original = replace(match("original", 1000, **excerpt),
                       alignment=replace(copy_of_original.alignment, mean_hamming=20.0))
    v = verdict(copy_of_original, original)
    assert v.kind == "PARTIAL_COPY" and v.duplicate_of == "original" and set(v.copies) == {"original", "copy"}
    shorter = match("earlier-but-less", 500, query=(0.0, 4.0), reference=(0.0, 4.0), durations=(10.0, 60.0))
    assert verdict(copy_of_original, shorter).duplicate_of == "copy"


def test_a_short_shared_moment_is_not_a_copy() -> None:
    v = verdict(match("orig", 1000, query=(0.0, 2.0), reference=(0.0, 2.0), durations=(60.0, 60.0)))
    assert v.kind == "UNIQUE" and v.copies == []


def test_no_comparable_frames() -> None:
    v = decide([], 0, 0.8, 0.5, 3.0)
    assert v.kind == "UNIQUE" and "no frame had enough detail" in v.reason


def test_a_byte_identical_file_is_an_exact_duplicate_of_the_earliest_whatever_its_length() -> None:
    """A 2 s file with no frame to compare is still the same file: EXACT_DUPLICATE, score 1, both whole videos."""
    v = identical_media("first", 1000, 2.0, usable_frames=0, has_audio=True)
    assert (v.kind, v.duplicate_of, v.copies, v.score) == ("EXACT_DUPLICATE", "first", ["first"], 1.0)
    assert v.reason.startswith("exact duplicate: the same file as first (SHA-256), 0.0-2.0s of both")
    record = v.match_records()[0]
    assert (record.query_start_s, record.query_end_s, record.reference_start_s, record.reference_end_s) == (
        0.0, 2.0, 0.0, 2.0)
    assert (record.score, record.query_coverage, record.reference_coverage, record.audio) == (1.0, 1.0, 1.0, "SAME")
    silent = identical_media("first", 1000, 2.0, usable_frames=2, has_audio=False)
    assert silent.match_records()[0].audio == "REFERENCE_SILENT" and "the original has no audio" in silent.reason
    event = VideoPublished(video_id="v2", media_uri="b.mp4", channel_id="c",
                           published_at=datetime(2026, 12, 1, tzinfo=UTC))
    assert verdict_record(event, v, event.published_at).duplicate_of == "first"


def test_a_still_is_one_picture_held_over_four_frames_or_more() -> None:
    picture = random_hashes(1)
    held = np.concatenate([picture, flip_bits(np.repeat(picture, 9, axis=0), 4)])
    usable = np.ones(10, bool)
    assert is_still(held, usable)
    assert not is_still(held[:3], usable[:3])  # a clip of 1-3 s is matched by its frames, never a still
    assert not is_still(random_hashes(10), usable)
    moving = held.copy()
    moving[5] = random_hashes(1)[0]
    assert not is_still(moving, usable) and is_still(moving, usable & (np.arange(10) != 5))  # a flat frame skipped


def test_a_still_aligns_onto_one_moment_of_the_reference() -> None:
    """Ten seconds of reference frame 7 held: every query frame onto 7.0 s, speed 0, whatever frames are near it."""
    reference = random_hashes(20)
    reference[8] = flip_bits(reference[7:8], 20)[0]  # the next second looks alike (a slow-motion copy: longer)
    still = flip_bits(np.repeat(reference[7:8], 10, axis=0), 3)
    a = align(hamming_matrix(still, reference), np.arange(10.0), np.ones(10, bool), 10.0, np.arange(20.0),
              np.ones(20, bool), 20.0, max_hamming=40, max_gap_s=3.0, speeds=STILL_SPEEDS)
    assert a is not None and (a.speed, a.aligned_frames) == (0.0, 10)
    assert (a.query_start_s, a.query_end_s, a.reference_start_s, a.reference_end_s) == (0.0, 10.0, 7.0, 7.0)
    assert check_audio(np.ones(100, np.int32), np.ones(100, np.int32), a).status == "NOT_CHECKED"


def still_match(video_id: str, published_at_ms: int, moment_s: float) -> Match:
    held = replace(match(video_id, published_at_ms, audio="NOT_CHECKED", reference=(moment_s, moment_s),
                         durations=(10.0, 30.0)), view="as shown")
    return replace(held, alignment=replace(held.alignment, speed=0.0))


def test_a_still_of_a_video_is_similar_naming_the_earliest_video_and_the_moment() -> None:
    """Not a PARTIAL_COPY of a slow-motion copy that holds the moment longer: SIMILAR, the earliest video named."""
    v = verdict(still_match("slow-motion-copy", 2000, 14.0), still_match("original", 1000, 7.0))
    assert (v.kind, v.duplicate_of, v.copies) == ("SIMILAR", "original", [])
    assert v.reason == ("a still of one moment of another video: its picture, held 0.0-10.0s, is the frame of "
                        "original at 7.0s (10 frames aligned, mean PDQ distance 8/256)")
    assert [r.visual_copy for r in v.match_records()] == [False, False]
    full = verdict(still_match("original", 1000, 7.0), match("held-picture", 1500))  # a still of a still: a copy
    assert (full.kind, full.duplicate_of, full.copies) == ("NEAR_DUPLICATE", "held-picture", ["held-picture"])
    event = VideoPublished(video_id="v3", media_uri="c.mp4", channel_id="c",
                           published_at=datetime(2026, 12, 1, tzinfo=UTC))
    assert verdict_record(event, v, event.published_at).matches[0].audio == "NOT_CHECKED"


def test_the_verdict_says_how_many_damaged_packets_decoding_skipped() -> None:
    event = VideoPublished(video_id="v1", media_uri="a.flv", channel_id="c",
                           published_at=datetime(2026, 12, 1, tzinfo=UTC))
    judged = verdict(match("orig", 1000))
    damaged = verdict_record(event, judged, event.published_at, damaged_packets=3)
    assert damaged.reason == judged.reason + " (decoded past 3 damaged packets)"
    assert verdict_record(event, judged, event.published_at).reason == judged.reason


def test_the_reason_tells_a_crop_from_a_wider_framing() -> None:
    """Match.crop is the share of the original's picture the copy shows: under 1 cropped, over 1 a margin."""
    cropped = replace(match("orig", 1000), crop=(0.89, 0.89))
    assert "cropped to 89% x 89%" in verdict(cropped).reason
    wider = replace(match("orig", 1000), crop=(1.11, 1.11))
    assert "framed wider (111% x 111% of the original)" in verdict(wider).reason
    assert "cropped" not in verdict(match("orig", 1000)).reason


def test_the_crop_shown_is_the_reference_framing_over_the_query_crop() -> None:
    assert copy_crop(CROPS.index((0.8, 0.8)), CROPS.index((0.9, 0.9))) == (0.89, 0.89)  # a copy cropped to 89 %
    assert copy_crop(CROPS.index((1.0, 1.0)), CROPS.index((0.9, 0.9))) == (1.11, 1.11)  # a copy with a margin
    assert copy_crop(WHOLE_FRAME, 0) == (1.0, 1.0)
    assert copy_crop(CROPS.index((0.9, 1.0)), 0) == (0.9, 1.0)

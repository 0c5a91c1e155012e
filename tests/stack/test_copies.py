"""Copy detection on real media against the real Redis: the quick evaluation corpus and racing copies."""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path

import pytest

from bench.copy_corpus import build_corpus
from bench.copy_eval import interval_iou, judge_all
from core.signature import CopySignature
from core.verdicts import Verdict
from features.copy_signature import copy_signature, tile_boxes
from features.media import decode_video
from features.pdq import shrink
from loadgen.media_kit import LIVE_BAND_60S
from loadgen.samples import run_ffmpeg
from pipeline.copy_detection import CopyDetector
from settings import Settings
from storage.copy_index import CopyIndex
from storage.media_files import media_digest


def test_quick_corpus_every_verdict_as_expected(stack: Settings, tmp_path_factory: pytest.TempPathFactory) -> None:
    corpus = build_corpus(stack.stack_dir / "bench" / "copy_corpus_quick", quick=True)
    judged, _ = judge_all(corpus, stack)
    assert {j.query.transform for j in judged} >= {"segment-inserted"}
    assert any(j.query.hard_case for j in judged)
    for j in judged:
        q, verdict = j.query, j.verdict
        assert verdict.kind in q.expected_verdicts, (q.video_id, verdict.reason)
        if q.is_copy:
            assert q.reference_id in verdict.copies, (q.video_id, verdict.reason)
        else:
            assert q.reference_id not in verdict.copies, (q.video_id, verdict.reason)
        if q.query_segment_s and q.reference_segment_s:
            match = next(m for m in verdict.matches if m.video_id == q.reference_id)
            a = match.alignment
            assert interval_iou((a.query_start_s, a.query_end_s), q.query_segment_s) >= 0.8, q.video_id
            assert interval_iou((a.reference_start_s, a.reference_end_s), q.reference_segment_s) >= 0.8, q.video_id


def signature_of(path: Path, cfg: Settings) -> CopySignature:
    return copy_signature(decode_video(path, cfg), cfg)


def test_racing_copies_earliest_published_wins(stack: Settings, tmp_path: Path) -> None:
    """Two workers start on two copies at once; the later-published one (a 15 s excerpt) has its features
    long before the earlier-published one (the whole 60 s clip). The later one must wait and be the copy."""
    excerpt = run_ffmpeg([LIVE_BAND_60S], ["-ss", "20", "-t", "15", "-c:v", "libx264", "-preset", "veryfast",
                                           "-c:a", "aac"], tmp_path / "excerpt.mp4")
    index_name = "race_test"
    CopyIndex(stack.redis_url, index_name).create()
    verdicts: dict[str, Verdict] = {}
    first_published, second_published = 1_700_000_000_000, 1_700_000_000_050  # 50 ms apart
    barrier = threading.Barrier(2)

    def worker(video_id: str, published_at_ms: int, path: Path) -> None:
        index = CopyIndex(stack.redis_url, index_name)  # each worker its own connection
        barrier.wait()
        index.mark_in_flight(video_id, published_at_ms, stack.in_flight_ttl_s)
        signature = signature_of(path, stack)
        verdicts[video_id], _ = CopyDetector(index, stack).index_and_judge(video_id, published_at_ms, signature,
                                                                           media_digest(path))

    threads = [threading.Thread(target=worker, args=("original", first_published, LIVE_BAND_60S)),
               threading.Thread(target=worker, args=("excerpt", second_published, excerpt))]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert verdicts["original"].kind == "UNIQUE", verdicts["original"].reason
        assert verdicts["excerpt"].duplicate_of == "original", verdicts["excerpt"].reason
        assert verdicts["excerpt"].kind in ("PARTIAL_COPY", "NEAR_DUPLICATE")
    finally:
        CopyIndex(stack.redis_url, index_name).index.delete(drop=True)


def test_identical_files_racing_name_the_earliest_published(stack: Settings, tmp_path: Path) -> None:
    """Two byte-identical 2 s clips in flight at once on two workers, the later-published one ready first: it waits
    for the earlier one and is its EXACT_DUPLICATE, whole video to whole video; a third copy names the earliest."""
    clip = run_ffmpeg([LIVE_BAND_60S], ["-ss", "30", "-t", "2", "-c:v", "libx264", "-preset", "veryfast", "-c:a",
                                        "aac"], tmp_path / "clip.mp4")
    for name in ("copy", "third"):
        shutil.copyfile(clip, tmp_path / f"{name}.mp4")
    index_name = "same_file_race_test"
    CopyIndex(stack.redis_url, index_name).create()
    verdicts: dict[str, Verdict] = {}
    barrier = threading.Barrier(2)

    def worker(video_id: str, published_at_ms: int, path: Path, delay_s: float) -> None:
        index = CopyIndex(stack.redis_url, index_name)  # each worker its own connection
        barrier.wait()
        index.mark_in_flight(video_id, published_at_ms, stack.in_flight_ttl_s)
        time.sleep(delay_s)
        signature, digest = signature_of(path, stack), media_digest(path)
        index.claim_media(video_id, published_at_ms, digest)
        verdicts[video_id], _ = CopyDetector(index, stack).index_and_judge(video_id, published_at_ms, signature,
                                                                           digest)

    threads = [threading.Thread(target=worker, args=("original", 1_700_000_000_000, clip, 1.0)),
               threading.Thread(target=worker, args=("copy", 1_700_000_000_050, tmp_path / "copy.mp4", 0.0))]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        barrier = threading.Barrier(1)
        worker("third", 1_700_000_001_000, tmp_path / "third.mp4", 0.0)
        assert verdicts["original"].kind == "UNIQUE", verdicts["original"].reason
        for video_id in ("copy", "third"):
            v = verdicts[video_id]
            assert (v.kind, v.duplicate_of, v.score) == ("EXACT_DUPLICATE", "original", 1.0), v.reason
            a = v.matches[0].alignment
            assert (a.query_start_s, a.reference_start_s) == (0.0, 0.0) and a.query_end_s == a.reference_end_s >= 2.0
    finally:
        CopyIndex(stack.redis_url, index_name).drop()


def test_without_the_in_flight_wait_the_race_is_lost(stack: Settings, tmp_path: Path) -> None:
    """The control for the test above: judged before the original is indexed, the excerpt looks unique."""
    excerpt = run_ffmpeg([LIVE_BAND_60S], ["-ss", "20", "-t", "15", "-c:v", "libx264", "-preset", "veryfast",
                                           "-c:a", "aac"], tmp_path / "excerpt.mp4")
    index = CopyIndex(stack.redis_url, "race_control_test")
    index.create()
    try:
        verdict, _ = CopyDetector(index, stack).index_and_judge("excerpt", 2_000, signature_of(excerpt, stack),
                                                                media_digest(excerpt))
        assert verdict.kind == "UNIQUE"
    finally:
        index.index.delete(drop=True)


def test_inset_is_a_tile_only_of_the_picture_in_picture_copy(stack: Settings) -> None:
    folder = stack.stack_dir / "bench" / "copy_corpus_quick"
    videos = {v.video_id: v for v in build_corpus(folder, quick=True)}
    pip = decode_video(videos["q-bikes-picture-in-picture"].path, stack)
    plain = decode_video(videos["ref-bikes"].path, stack)
    [(top, bottom, left, right)] = tile_boxes([shrink(f) for f in pip.frames])
    height, width = shrink(pip.frames[0]).shape[:2]
    # The corpus puts the reference at 70 % of the size: the inset spans about that share of each side.
    assert abs((bottom - top) / height - 0.7) < 0.05 and abs((right - left) / width - 0.7) < 0.05
    assert tile_boxes([shrink(f) for f in plain.frames]) == []


def test_copies_crowding_the_neighbours_keep_their_original_in_view(stack: Settings) -> None:
    """Three full copies of the band clip are published after it; an excerpt of it is then judged with room to
    verify a single candidate group (CANDIDATES_MAX=1). Each copy was kept as a copy of the original, so the
    excerpt's candidates group under the original, which is verified and named, whichever copy the nearest
    neighbours placed first."""
    videos = {v.video_id: v for v in build_corpus(stack.stack_dir / "bench" / "copy_corpus_quick", quick=True)}
    signatures = {video_id: signature_of(videos[video_id].path, stack) for video_id in (
        "ref-band-00-20", "q-band-00-20-reencode-lowbitrate", "q-band-00-20-container-mpegps",
        "q-band-00-20-hflip", "q-band-00-20-trim-head-tail")}
    cfg = stack.replace(candidates_max=1)
    index = CopyIndex(stack.redis_url, "crowding_test")
    index.create()
    try:
        detector = CopyDetector(index, cfg)
        for n, video_id in enumerate(list(signatures)[:4]):
            verdict, _ = detector.index_and_judge(video_id, 1_000 + n, signatures[video_id],
                                                  media_digest(videos[video_id].path))
            assert verdict.kind == ("UNIQUE" if n == 0 else "NEAR_DUPLICATE"), (video_id, verdict.reason)
            assert n == 0 or verdict.duplicate_of == "ref-band-00-20", (video_id, verdict.reason)
        assert index.originals(["q-band-00-20-hflip", "ref-band-00-20"]) == {"q-band-00-20-hflip": (
            "ref-band-00-20", 1_000)}
        excerpt = detector.detect("excerpt", 2_000, signatures["q-band-00-20-trim-head-tail"])
        assert excerpt.kind == "PARTIAL_COPY" and excerpt.duplicate_of == "ref-band-00-20", excerpt.reason
        assert "ref-band-00-20" in excerpt.copies
    finally:
        index.drop()

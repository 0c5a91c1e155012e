"""The two stages driven directly, without Faust or Kafka, against the real Redis and Triton."""

from __future__ import annotations

import asyncio
import dataclasses
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from core.errors import PipelineError
from core.records import EnrichedVideo, VideoPublished
from features.copy_signature import copy_signature
from features.media import decode_video
from inference.triton_client import TritonModels
from loadgen.samples import Sample, prepare_samples, run_ffmpeg
from pipeline.copy_stage import CopyStage, Judged
from pipeline.enrichment_stage import Enriched, EnrichmentStage
from settings import Settings
from storage.generations import IndexGeneration


@pytest.fixture(scope="module")
def indexes(stack: Settings) -> Iterator[IndexGeneration]:
    generation = IndexGeneration.open(stack.replace(redis_frame_index="vp-frames", redis_search_index="vp-search",
                                                    redis_cluster_index="vp-clusters"), 0)
    generation.drop()
    yield generation.create()
    generation.drop()


def event_of(sample: Sample) -> VideoPublished:
    return VideoPublished(video_id=f"vp-{sample.video_id}", media_uri=sample.relative_path, channel_id="vp",
                          published_at=sample.published_at, title=sample.title, tags=["pipeline"])


def run(cfg: Settings, indexes: IndexGeneration, events: list[VideoPublished],
        sent: list[EnrichedVideo]) -> list[tuple[Judged, Enriched]]:
    async def record(enriched: EnrichedVideo) -> None:
        sent.append(enriched)

    async def both_stages() -> list[tuple[Judged, Enriched]]:
        models = TritonModels(cfg)
        try:
            copies, enrichment = CopyStage(cfg, indexes, models), EnrichmentStage(cfg, indexes, models)
            done = []
            for event in events:
                judged = await copies.judge(event)
                done.append((judged, await enrichment.enrich(event, judged.verdict, record)))
            return done
        finally:
            await models.close()

    return asyncio.run(both_stages())


def test_an_original_then_its_copy(stack: Settings, indexes: IndexGeneration) -> None:
    samples = {s.video_id: s for s in prepare_samples(stack.media_root)}
    events = [event_of(samples["bikes"]), event_of(samples["bikes-resized"])]
    sent: list[EnrichedVideo] = []
    (original, original_enriched), (copy, copy_enriched) = run(stack, indexes, events, sent)
    [(again, _)] = run(stack, indexes, events[1:], [])
    assert original.verdict.verdict == "UNIQUE"
    assert copy.verdict.verdict in ("NEAR_DUPLICATE", "EXACT_DUPLICATE") and copy.verdict.duplicate_of == "vp-bikes"
    assert copy.verdict.matches[0].video_id == "vp-bikes" and copy.verdict.matches[0].visual_copy
    assert {"decode_and_signature", "index", "lookup"} <= set(copy.stage_seconds)
    assert [record.video_id for record in sent] == ["vp-bikes", "vp-bikes-resized"]
    assert copy_enriched.enriched.duplicate_of == "vp-bikes" and copy_enriched.enriched.has_audio is False
    assert copy_enriched.enriched.frame_count == len(copy_enriched.archived.frames) >= 10
    assert copy_enriched.archived.features_version == copy.verdict.features_version
    assert {"decode", "models", "search_index"} <= set(copy_enriched.stage_seconds)
    assert set(indexes.search.cards(["vp-bikes", "vp-bikes-resized"])) == {"vp-bikes", "vp-bikes-resized"}
    assert again.verdict.duplicate_of == "vp-bikes"  # a replay decides the same
    assert original_enriched.enriched.title == samples["bikes"].title


def test_a_file_changed_after_its_verdict_is_refused_by_the_enrichment_stage(stack: Settings,
                                                                            indexes: IndexGeneration) -> None:
    """The copy stage bound the video id to its file's bytes; the file is replaced before the enrichment stage gets
    to it: the enrichment stage refuses it (conflicting_event) rather than index other media's words under it."""
    samples = {s.video_id: s for s in prepare_samples(stack.media_root)}
    target = stack.media_root / "stages" / "replaced.mp4"
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(stack.media_root / samples["carphone"].relative_path, target)
    event = VideoPublished(video_id="vp-replaced", media_uri="stages/replaced.mp4", channel_id="vp",
                           published_at=datetime.now(UTC), title="replaced after its verdict")

    async def both_stages() -> None:
        models = TritonModels(stack)
        try:
            judged = await CopyStage(stack, indexes, models).judge(event)
            shutil.copy(stack.media_root / samples["bigbuckbunny"].relative_path, target)
            await EnrichmentStage(stack, indexes, models).enrich(event, judged.verdict)
        finally:
            await models.close()

    with pytest.raises(PipelineError) as refused:
        asyncio.run(both_stages())
    assert refused.value.kind == "conflicting_event" and "vp-replaced" in str(refused.value)
    assert indexes.search.cards(["vp-replaced"]) == {}


def test_an_exact_copy_reuses_its_original_s_enrichment(stack: Settings, indexes: IndexGeneration) -> None:
    """The same file again under another id: judged an exact copy, it gets its original's transcript, on-screen text
    and chunk embeddings without the models (only its own title is embedded)."""
    samples = {s.video_id: s for s in prepare_samples(stack.media_root)}
    original = event_of(samples["bigbuckbunny"])
    again = VideoPublished(video_id="vp-bunny-again", media_uri=original.media_uri, channel_id="vp2",
                           published_at=original.published_at + timedelta(hours=1), title="the bunny, uploaded again")
    (_, first), (judged, reused) = run(stack, indexes, [original, again], [])
    assert judged.verdict.verdict == "EXACT_DUPLICATE" and judged.verdict.duplicate_of == original.video_id
    assert "reused" in reused.stage_seconds and "models" not in reused.stage_seconds
    for field in ("transcript", "ocr", "has_audio", "frame_count", "duration_s"):
        assert getattr(reused.enriched, field) == getattr(first.enriched, field), field
    assert [c.text for c in reused.archived.chunks] == ["the bunny, uploaded again"] + [
        c.text for c in first.archived.chunks if c.kind != "title"]
    own, copied = (np.stack([c.embedding for c in enriched.archived.chunks[1:]]) for enriched in (first, reused))
    assert np.allclose(own, copied)


def test_a_replay_gets_the_verdict_kept_the_first_time(stack: Settings, indexes: IndexGeneration) -> None:
    """A copy judged before its (earlier-published) original was seen, as when the original waits on another
    partition, comes out unique; replayed after the original was indexed, it gets that same verdict again, not a
    new decision: consumers see one verdict per video."""
    samples = {s.video_id: s for s in prepare_samples(stack.media_root)}
    original = VideoPublished(video_id="vp-kept-carphone", media_uri=samples["carphone"].relative_path,
                              channel_id="vp", published_at=datetime(2026, 8, 1, tzinfo=UTC), title="original")
    early_copy = VideoPublished(video_id="vp-kept-copy", media_uri=samples["carphone-distorted"].relative_path,
                                channel_id="vp", published_at=original.published_at + timedelta(minutes=1),
                                title="its copy, judged first")

    async def judge_all() -> list[Judged]:
        models = TritonModels(stack)
        try:
            copies = CopyStage(stack, indexes, models)
            return [await copies.judge(event) for event in (early_copy, original, early_copy)]
        finally:
            await models.close()

    first, judged_original, replayed = asyncio.run(judge_all())
    assert first.verdict.verdict == "UNIQUE" and judged_original.verdict.verdict == "UNIQUE"
    # the same record (as it went over the wire: times to the millisecond)
    assert dataclasses.replace(replayed.verdict, processed_at=first.verdict.processed_at) == first.verdict
    assert abs(replayed.verdict.processed_at - first.verdict.processed_at) < timedelta(milliseconds=1)
    assert "kept_verdict" in replayed.stage_seconds
    signature = copy_signature(decode_video(stack.media_root / early_copy.media_uri, stack), stack)
    deciding_again = CopyStage(stack, indexes, None).detector.detect("vp-kept-copy", early_copy.published_at_ms,
                                                                     signature)
    assert deciding_again.duplicate_of == "vp-kept-carphone"  # what a new decision would now say


def test_an_inset_copy_pdq_cannot_see_is_found_by_its_descriptors(stack: Settings, indexes: IndexGeneration) -> None:
    """Big Buck Bunny shrunk to 45 % and set, mirrored, over a moving texture: no PDQ framing follows it. The copy
    stage finds it by the descriptor signal, verifies it by local features, and the verdict says so: which signal,
    the part of the picture showing the copy and how it is placed, the original and the ranges. The same stage with
    DESCRIPTOR_SIGNAL off finds nothing."""
    samples = {s.video_id: s for s in prepare_samples(stack.media_root)}
    bunny = samples["bigbuckbunny"]
    inset = stack.media_root / "stages" / "bunny-inset.mp4"
    inset.parent.mkdir(parents=True, exist_ok=True)
    if not inset.is_file():
        run_ffmpeg([stack.media_root / bunny.relative_path],
                   ["-f", "lavfi", "-i", "mandelbrot=s=640x360:r=25", "-filter_complex",
                    "[0:v]scale=288:-2,hflip[small];[1:v][small]overlay=x=320:y=40:shortest=1", "-c:v", "libx264",
                    "-preset", "veryfast", "-pix_fmt", "yuv420p", "-an"], inset)
    original = VideoPublished(video_id="vp-desc-bunny", media_uri=bunny.relative_path, channel_id="vp",
                              published_at=datetime(2026, 8, 2, tzinfo=UTC), title="original")
    copy = VideoPublished(video_id="vp-desc-inset", media_uri="stages/bunny-inset.mp4", channel_id="vp",
                          published_at=original.published_at + timedelta(minutes=1), title="an inset copy")

    async def judge_both() -> list[Judged]:
        models = TritonModels(stack)
        try:
            copies = CopyStage(stack, indexes, models)
            return [await copies.judge(event) for event in (original, copy)]
        finally:
            await models.close()

    judged_original, judged_copy = asyncio.run(judge_both())
    verdict = judged_copy.verdict
    # the original, or the earlier upload of the same file it is an exact duplicate of (other tests publish it too)
    named = {original.video_id, judged_original.verdict.duplicate_of} - {None}
    assert verdict.duplicate_of in named and verdict.verdict in ("NEAR_DUPLICATE", "PARTIAL_COPY"), verdict
    found = next(m for m in verdict.matches if m.video_id == verdict.duplicate_of)
    assert found.signal == "descriptor" and found.descriptor_score is not None and found.visual_copy
    assert found.region is not None and found.region[0] >= 0.25  # a part on the right, where the inset is
    assert "ImageNet descriptors" in verdict.reason
    # local features verified it and placed it: mirrored, 45 % wide at half way across (x 320 of 640 px)
    assert found.geometry is not None and found.geometry.mirrored and found.mirrored
    assert abs(found.geometry.box[0] - 0.5) < 0.05 and abs(found.geometry.box[2] - 0.45) < 0.05, found.geometry
    assert "keypoints under one geometry: mirrored left-right" in verdict.reason
    assert {"describe", "describe_parts", "descriptor_lookup"} <= set(judged_copy.stage_seconds)
    # PDQ alone finds no copy in it
    by_pdq = CopyStage(stack, indexes, None).detector.detect("vp-desc-inset", copy.published_at_ms,
                                                              copy_signature(decode_video(inset, stack), stack))
    assert original.video_id not in by_pdq.copies

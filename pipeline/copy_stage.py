"""The copy stage: what happens to one ``publish-video`` event before its verdict, and nothing more.

check the event -> mark it in flight -> decode its media and compute its copy signature (in a child process within
the media budget: features/media_budget.py) (PDQ at ten framings, turned and tile PDQ,
chromaprint) and the pictures of its index frames -> describe them (Triton's image_features model) -> bind the video
id to its media's digest (other media under a known id: conflicting_event) -> index it in Redis (both signals) ->
wait for earlier-published videos still in flight -> an exact duplicate of the earliest video with the same file,
or else candidates, alignment and audio check -> where PDQ verifies no copy, the pictures' parts described and the
descriptor signal's lookup, its best candidates verified by local features -> the verdict, kept. With
DESCRIPTOR_SIGNAL off, nothing is described. Enrichment (models, clusters, search, archive) is the enrichment
stage's, on its own workers (pipeline/enrichment_stage.py), so a backlog there never delays a verdict.
Indexing is idempotent by key, and a replayed event (a crash before its offset was committed, a re-drive, the same
media published again) gets the verdict kept the first time, not a new decision: judged again, a copy whose
original was published just before it on another partition, and not yet seen the first time, would now be found,
and consumers would see two verdicts for one video.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np

from core.descriptor_codes import codes
from core.event_checks import check_event
from core.records import DuplicateVerdict, VideoPublished
from core.verdicts import Verdict
from features.copy_media import CopyMedia, copy_media
from features.descriptor_views import stacked_views
from features.media_budget import within_budget
from inference.triton_client import TritonModels
from pipeline.copy_detection import CopyDetector
from pipeline.outputs import verdict_record
from pipeline.stopwatch import Stopwatch
from schemas.codec import decode_record, encode_record
from settings import Settings
from storage.descriptor_index import DescribedVideo
from storage.generations import IndexGeneration
from storage.media_files import media_digest, resolve_media_path

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Judged:
    verdict: DuplicateVerdict
    stage_seconds: dict[str, float]


class CopyStage:
    def __init__(self, cfg: Settings, indexes: IndexGeneration, models: TritonModels | None) -> None:
        """``models`` describes pictures for the descriptor signal (None with DESCRIPTOR_SIGNAL off)."""
        self.cfg = cfg
        self.indexes = indexes
        self.detector = CopyDetector(indexes.copies, cfg, indexes.descriptors)
        self.models = models if cfg.descriptor_signal else None

    async def judge(self, event: VideoPublished) -> Judged:
        """The verdict on one event (raises PipelineError for an event or media at fault)."""
        stopwatch = Stopwatch()
        check_event(event, datetime.now(UTC))
        copies = self.indexes.copies
        await asyncio.to_thread(copies.mark_in_flight, event.video_id, event.published_at_ms,
                                self.cfg.in_flight_ttl_s)
        try:
            path = resolve_media_path(event.media_uri, self.cfg.media_root)
            # decoded and signed in a child process within the media budget; checks the file's size too
            media = await asyncio.to_thread(within_budget, copy_media, path, self.cfg, event.media_uri,
                                            self.models is not None, cfg=self.cfg, name=event.media_uri)
            stopwatch.lap("decode_and_signature")
            # bound to its media once that proved usable (a file that failed may be fixed under the same id)
            digest = await asyncio.to_thread(media_digest, path)
            await asyncio.to_thread(copies.claim_media, event.video_id, event.published_at_ms, digest)
            kept = await asyncio.to_thread(copies.kept_verdict, event.video_id)
            if kept is not None:
                await asyncio.to_thread(copies.clear_in_flight, event.video_id)
                stopwatch.lap("kept_verdict")
                return Judged(decode_record(DuplicateVerdict, kept), stopwatch.seconds)
            verdict, decide_seconds = await self.decide(event.video_id, event.published_at_ms, event.media_uri, media,
                                                        digest)
        except BaseException:
            await asyncio.to_thread(copies.clear_in_flight, event.video_id)
            raise
        stopwatch.add(decide_seconds)
        if media.damaged_packets:
            log.warning("%s: skipped %d damaged packets of %s", event.video_id, media.damaged_packets,
                        event.media_uri)
        record = verdict_record(event, verdict, datetime.now(UTC), media.damaged_packets)
        await asyncio.to_thread(copies.keep_verdict, event.video_id, encode_record(record))
        return Judged(record, stopwatch.seconds)

    async def decide(self, video_id: str, published_at_ms: int, media_uri: str, media: CopyMedia,
                     digest: str | None) -> tuple[Verdict, dict[str, float]]:
        """The decision on a video's media, with the seconds of each step: described (descriptor signal on), indexed
        under its SHA-256 ``digest`` and judged (CopyDetector.index_and_judge), then, where PDQ verified no copy,
        looked up by its descriptors. With ``digest`` None it is only looked up, never indexed: a benchmark's query
        judged against the indexed videos alone."""
        stopwatch = Stopwatch()
        described = await self.describe(video_id, published_at_ms, media_uri, media)
        stopwatch.lap("describe")
        if digest is None:
            verdict = await asyncio.to_thread(self.detector.detect, video_id, published_at_ms, media.signature)
            stopwatch.lap("lookup")
        else:
            verdict, judge_seconds = await asyncio.to_thread(self.detector.index_and_judge, video_id,
                                                             published_at_ms, media.signature, digest, described)
            stopwatch.add(judge_seconds)
        if verdict.kind == "UNIQUE" and described is not None and media.pictures and media.pictures.looked_up:
            parts = await self.models.describe_images(list(media.pictures.parts))
            stopwatch.lap("describe_parts")
            views = stacked_views(described[1], parts, media.pictures.looked_up)
            verdict = await asyncio.to_thread(self.detector.judge_by_descriptors, video_id, published_at_ms,
                                              media.signature, verdict, described[0], views,
                                              media.pictures.looked_up, media.local_pictures, digest is not None)
            stopwatch.lap("descriptor_lookup")
        return verdict, stopwatch.seconds

    async def describe(self, video_id: str, published_at_ms: int, media_uri: str,
                       media: CopyMedia) -> tuple[DescribedVideo, np.ndarray] | None:
        """The video (published as ``media_uri``) as the descriptor index holds it, with its described pictures'
        descriptors (None when the descriptor signal is off)."""
        if self.models is None or media.pictures is None:
            return None
        descriptors = await self.models.describe_images(list(media.pictures.wholes))
        signature = media.signature
        return DescribedVideo(video_id, published_at_ms, signature.duration_s,
                              signature.times_s[media.pictures.frames], codes(descriptors), media_uri), descriptors

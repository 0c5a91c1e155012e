"""The copy stage: what happens to one ``publish-video`` event before its verdict, and nothing more.

check the event -> mark it in flight -> decode its media and compute its copy signature (in a child process within
the media budget: features/media_budget.py) (PDQ at ten framings, turned and tile PDQ,
chromaprint) -> bind the video id to its media's digest (other media under a known id: conflicting_event) ->
index it in Redis -> wait for earlier-published videos still in flight -> an exact duplicate of the earliest
video with the same file, or else candidates, alignment and audio check -> the verdict, kept. Enrichment (models,
clusters, search, archive) is the enrichment stage's, on its own workers (pipeline/enrichment_stage.py), so a
backlog there never delays a verdict.
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

from core.event_checks import check_event
from core.records import DuplicateVerdict, VideoPublished
from features.copy_signature import media_signature
from features.media_budget import within_budget
from pipeline.copy_detection import CopyDetector
from pipeline.outputs import verdict_record
from pipeline.stopwatch import Stopwatch
from schemas.codec import decode_record, encode_record
from settings import Settings
from storage.generations import IndexGeneration
from storage.media_files import media_digest, resolve_media_path

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Judged:
    verdict: DuplicateVerdict
    stage_seconds: dict[str, float]


class CopyStage:
    def __init__(self, cfg: Settings, indexes: IndexGeneration) -> None:
        self.cfg = cfg
        self.indexes = indexes
        self.detector = CopyDetector(indexes.copies, cfg)

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
            signature, damaged_packets = await asyncio.to_thread(within_budget, media_signature, path, self.cfg,
                                                                 event.media_uri, cfg=self.cfg, name=event.media_uri)
            stopwatch.lap("decode_and_signature")
            # bound to its media once that proved usable (a file that failed may be fixed under the same id)
            digest = await asyncio.to_thread(media_digest, path)
            await asyncio.to_thread(copies.claim_media, event.video_id, event.published_at_ms, digest)
            kept = await asyncio.to_thread(copies.kept_verdict, event.video_id)
            if kept is not None:
                await asyncio.to_thread(copies.clear_in_flight, event.video_id)
                stopwatch.lap("kept_verdict")
                return Judged(decode_record(DuplicateVerdict, kept), stopwatch.seconds)
            verdict, judge_seconds = await asyncio.to_thread(self.detector.index_and_judge, event.video_id,
                                                             event.published_at_ms, signature, digest)
        except BaseException:
            await asyncio.to_thread(copies.clear_in_flight, event.video_id)
            raise
        stopwatch.add(judge_seconds)
        if damaged_packets:
            log.warning("%s: skipped %d damaged packets of %s", event.video_id, damaged_packets, event.media_uri)
        record = verdict_record(event, verdict, datetime.now(UTC), damaged_packets)
        await asyncio.to_thread(copies.keep_verdict, event.video_id, encode_record(record))
        return Judged(record, stopwatch.seconds)

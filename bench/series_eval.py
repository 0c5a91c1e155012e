"""Recurring-segment (intro, credits) evaluation on synthetic series made from real media.

``python -m bench.series_eval [--quick]`` builds the series (bench/series_corpus.py), then replays each
series' episodes in publish order through the production code a worker runs: decode, copy signature, copy
index upsert in a real Redis, and the series comparison (streams/series_detection.py). After the last
episode it reads every episode's recurring segments and prints:
- interval IoU per episode (predicted vs true recurring time, over the union of its segments; episodes
  without a recurring part count 1.0 when nothing is predicted, else 0.0), mean over episodes that have one;
- frame-level precision, recall and F1 over every 1/25 s frame of every episode;
- the same per variant (full intro, cold open, re-encoded, shortened, no intro ...), the kinds given, and
  whether each series' first episode got its segments when the second one arrived;
- per-episode cost: decode, signature and the series comparison (alignment with up to
  SERIES_EPISODES_COMPARED episodes and the Redis round trips), median and max.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from bench.bench_stack import own_redis
from bench.series_corpus import SeriesEpisode, build_series
from core.recurring_segments import RecurringSegment
from features.copy_signature import copy_signature
from features.media import decode_video
from pipeline.series_detection import SeriesDetector
from settings import Settings
from storage.copy_index import CopyIndex
from storage.series_store import SeriesStore

REDIS_PORT_OFFSET = 320
FRAME_RATE = 25  # frame-level scores count every frame of a 25 fps episode
TARGET_IOU, TARGET_F1 = 0.9, 0.9


@dataclass(frozen=True)
class EpisodeResult:
    episode: SeriesEpisode
    predicted: list[RecurringSegment]
    seconds: dict[str, float]


def frame_mask(intervals: list[tuple[float, float]], duration_s: float) -> np.ndarray:
    """Per frame of the episode (centres at (k + 0.5) / FRAME_RATE), whether it lies in one of ``intervals``."""
    centres = (np.arange(int(round(duration_s * FRAME_RATE))) + 0.5) / FRAME_RATE
    mask = np.zeros(len(centres), dtype=bool)
    for start, end in intervals:
        mask |= (centres >= start) & (centres < end)
    return mask


def episode_iou(truth: np.ndarray, predicted: np.ndarray) -> float:
    union = np.count_nonzero(truth | predicted)
    return np.count_nonzero(truth & predicted) / union if union else 1.0


def run_series(episodes: list[SeriesEpisode], detector: SeriesDetector, index: CopyIndex,
               cfg: Settings) -> tuple[list[EpisodeResult], bool]:
    """Process one series in publish order; also whether episode 1 had segments right after episode 2."""
    seconds: dict[str, dict[str, float]] = {}
    first_updated_by_second = False
    for n, episode in enumerate(episodes):
        started = time.perf_counter()
        video = decode_video(episode.path, cfg)
        decoded = time.perf_counter()
        signature = copy_signature(video, cfg)
        signed = time.perf_counter()
        published_at_ms = int(datetime(2026, 1, 1, tzinfo=UTC).timestamp() * 1000) + n * 60_000
        index.upsert(episode.video_id, published_at_ms, signature)
        detector.compare(episode.series_id, episode.video_id, published_at_ms, signature)
        done = time.perf_counter()
        seconds[episode.video_id] = {"decode": decoded - started, "signature": signed - decoded,
                                     "series": done - signed}
        if n == 1:
            first = episodes[0]
            first_updated_by_second = bool(detector.recurring_segments(first.video_id, first.duration_s))
    results = [EpisodeResult(e, detector.recurring_segments(e.video_id, e.duration_s), seconds[e.video_id])
               for e in episodes]
    return results, first_updated_by_second


def scores(results: list[EpisodeResult]) -> dict[str, float]:
    true_positive = predicted = actual = 0
    ious = []
    for result in results:
        truth = frame_mask([(start, end) for start, end, _ in result.episode.recurring], result.episode.duration_s)
        guess = frame_mask([(s.start_s, s.end_s) for s in result.predicted], result.episode.duration_s)
        true_positive += np.count_nonzero(truth & guess)
        predicted += np.count_nonzero(guess)
        actual += np.count_nonzero(truth)
        if result.episode.recurring:
            ious.append(episode_iou(truth, guess))
    precision = true_positive / predicted if predicted else 1.0
    recall = true_positive / actual if actual else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"iou": statistics.mean(ious) if ious else float("nan"), "precision": precision, "recall": recall,
            "f1": f1, "episodes": len(results)}


def report(results: list[EpisodeResult], first_updates: dict[str, bool]) -> bool:
    print("\n  episode               variant            truth                        found")
    for result in results:
        e = result.episode
        truth = ", ".join(f"{kind} {start:.2f}-{end:.2f}" for start, end, kind in e.recurring) or "-"
        found = ", ".join(f"{s.kind} {s.start_s:.2f}-{s.end_s:.2f}" for s in result.predicted) or "-"
        truth_mask = frame_mask([(s, t) for s, t, _ in e.recurring], e.duration_s)
        found_mask = frame_mask([(s.start_s, s.end_s) for s in result.predicted], e.duration_s)
        print(f"  {e.video_id:<21} {e.variant:<18} {truth:<28} {found}  IoU {episode_iou(truth_mask, found_mask):.3f}")
    overall = scores(results)
    print(f"\nall {overall['episodes']} episodes: mean IoU {overall['iou']:.3f} (episodes with a recurring part), "
          f"frame-level precision {overall['precision']:.3f} recall {overall['recall']:.3f} F1 {overall['f1']:.3f}")
    by_variant: dict[str, list[EpisodeResult]] = defaultdict(list)
    for result in results:
        by_variant[result.episode.variant].append(result)
    for variant, group in sorted(by_variant.items()):
        figures = scores(group)
        print(f"  {variant:<18} n={figures['episodes']}  IoU {figures['iou']:.3f}  P {figures['precision']:.3f}  "
              f"R {figures['recall']:.3f}  F1 {figures['f1']:.3f}")
    kinds_right = kinds_total = 0
    for result in results:
        for start, end, kind in result.episode.recurring:
            overlapping = [s for s in result.predicted if min(end, s.end_s) > max(start, s.start_s)]
            kinds_total += 1
            kinds_right += any(s.kind == kind for s in overlapping)
    print(f"kinds: {kinds_right}/{kinds_total} true segments found with their kind (intro/credits)")
    print("first episode got its segments when the second arrived: "
          + ", ".join(f"{series} {'yes' if ok else 'NO'}" for series, ok in first_updates.items()))
    for stage in ("decode", "signature", "series"):
        values = [r.seconds[stage] * 1000 for r in results]
        print(f"cost per episode, {stage}: median {statistics.median(values):.1f} ms, max {max(values):.1f} ms")
    durations = [r.episode.duration_s for r in results]
    print(f"(episodes {min(durations):.0f}-{max(durations):.0f} s long; the series step compares with up to "
          "SERIES_EPISODES_COMPARED earlier episodes)")
    met = overall["iou"] >= TARGET_IOU and overall["f1"] >= TARGET_F1
    print(f"targets IoU >= {TARGET_IOU} and F1 >= {TARGET_F1}: {'met' if met else 'NOT met'}")
    return met


def evaluate(episodes: list[SeriesEpisode], cfg: Settings) -> tuple[list[EpisodeResult], dict[str, bool]]:
    """Every series through a fresh copy index in its own Redis."""
    by_series: dict[str, list[SeriesEpisode]] = defaultdict(list)
    for episode in episodes:
        by_series[episode.series_id].append(episode)
    with own_redis(cfg, REDIS_PORT_OFFSET) as bench_cfg:
        index = CopyIndex(bench_cfg.redis_url, "series_eval")
        index.create()
        detector = SeriesDetector(index, SeriesStore(index.client, index.name), bench_cfg)
        results, first_updates = [], {}
        for series_id, series in by_series.items():
            ordered = sorted(series, key=lambda e: e.episode_number)
            series_results, first_updates[series_id] = run_series(ordered, detector, index, bench_cfg)
            results += series_results
    return results, first_updates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="one small series (the test's)")
    parser.add_argument("--folder", type=Path, help="where the series are built (default: STACK_DIR/bench/series)")
    args = parser.parse_args()
    cfg = Settings.from_env()
    folder = args.folder or cfg.stack_dir / "bench" / ("series_quick" if args.quick else "series")
    episodes = build_series(folder, quick=args.quick)
    results, first_updates = evaluate(episodes, cfg)
    raise SystemExit(0 if report(results, first_updates) else 1)


if __name__ == "__main__":
    main()

"""Copy-detection evaluation: references and distractors indexed in a real Redis, every query judged.

``python -m bench.copy_eval [--quick]`` builds the corpus (bench/copy_corpus.py: real packaged media and
ffmpeg transforms), computes each video's signature, indexes the references and distractors, judges each
query with the copy stage as the pipeline runs it (bench/stage_driver.py: PDQ, then the descriptor signal where PDQ
verifies no copy, on a tritonserver of its own; DESCRIPTOR_SIGNAL=false for PDQ alone), and prints:
- precision, recall and F1 over (query, reference) pairs: a pair is predicted when the verdict lists the
  reference among its visual copies; micro-average precision (uAP) ranks every verified pair by score;
- the same per transform, and whether each verdict kind was one the corpus allows;
- every hard case with its verdict, and segment IoU for partial copies (both videos' ranges);
- the same figures for the held-out kinds alone (HELD_OUT_TRANSFORMS: invented for evaluation, nothing tuned
  on them) and for the development kinds;
- crowding: each reference's full copies are then published and judged in turn (so each is kept as a copy of
  its original), and its excerpts (trimmed, inserted) are judged again among that crowd of copies;
- detection latency (description, KNN, verification, audio check) on this small index.
Queries are not indexed in the first pass, so each is judged against the references only.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from bench.bench_stack import own_redis
from bench.copy_corpus import FULL_COPY, HELD_OUT_TRANSFORMS, CorpusVideo, build_corpus
from bench.figures import micro_average_precision, percentile
from bench.stage_driver import StageDriver
from core.verdicts import Verdict
from settings import Settings
from telemetry.progress import track

REDIS_PORT_OFFSET = 300
TRITON_PORT_OFFSET = 300
TARGET_F1, TARGET_UAP, TARGET_IOU = 0.97, 0.9, 0.85


@dataclass(frozen=True)
class Judged:
    query: CorpusVideo
    verdict: Verdict
    seconds: float
    also_copied: frozenset[str] = frozenset()  # indexed copies of the query's reference: not false pairs


def interval_iou(a: tuple[float, float], b: tuple[float, float]) -> float:
    overlap = max(0.0, min(a[1], b[1]) - max(a[0], b[0]))
    union = max(a[1], b[1]) - min(a[0], b[0])
    return overlap / union if union > 0 else 0.0


def judge_all(corpus: list[CorpusVideo], cfg: Settings) -> tuple[list[Judged], list[float]]:
    """Every query judged by the copy stage (bench/stage_driver.py), as the pipeline runs it (the descriptor signal
    where PDQ verifies no copy, if DESCRIPTOR_SIGNAL is on), against the references and distractors published to it
    first; and the crowded excerpts. Also the seconds each query's decode and signature took."""
    driver = StageDriver(cfg, TRITON_PORT_OFFSET)
    try:
        first = int(datetime(2026, 1, 1, tzinfo=UTC).timestamp() * 1000)
        indexed = [v for v in corpus if v.role in ("reference", "distractor")]
        for n, video in enumerate(track(indexed, len(indexed), "published", "videos")):
            driver.publish(video.video_id, video.path, first + n * 1000)
        judged, signature_seconds = [], []
        queries = [v for v in corpus if v.role == "query"]
        for n, query in enumerate(track(queries, len(queries), "judged", "queries"), start=1):
            started = time.perf_counter()
            verdict, seconds = driver.look_up(query.video_id, query.path, first + 10_000_000 + n)
            judged.append(Judged(query, verdict, time.perf_counter() - started - seconds["decode_and_signature"]))
            signature_seconds.append(seconds["decode_and_signature"])
        judged += crowded(indexed, [j.query for j in judged], driver, first)
    finally:
        driver.close()
    return judged, signature_seconds


EXCERPTS = ("trim-head-tail", "segment-inserted")


def crowded(indexed: list[CorpusVideo], queries: list[CorpusVideo], driver: StageDriver,
            first_ms: int) -> list[Judged]:
    """Each reference's full copies published after it (judged by the copy stage, which keeps each as a copy of its
    original), then its excerpts judged again, as kind "crowded <excerpt>"."""
    judged = []
    published = first_ms + 20_000_000
    for reference in indexed:
        crowd = [q for q in queries if q.reference_id == reference.video_id and q.hard_case is None
                 and q.expected_verdicts == FULL_COPY]
        for copy in crowd:
            published += 1
            driver.publish(copy.video_id, copy.path, published)
        for excerpt in (q for q in queries if q.reference_id == reference.video_id and q.transform in EXCERPTS):
            published += 1
            started = time.perf_counter()
            verdict, seconds = driver.look_up(f"{excerpt.video_id}-crowded", excerpt.path, published)
            judged.append(Judged(replace(excerpt, video_id=f"{excerpt.video_id}-crowded",
                                         transform=f"crowded {excerpt.transform}"),
                                 verdict, time.perf_counter() - started - seconds["decode_and_signature"],
                                 frozenset(c.video_id for c in crowd)))
    return judged


def pair_figures(judged: list[Judged]) -> dict:
    """Precision, recall, F1 and uAP over (query, reference) pairs, and per kind, of ``judged``."""
    scored: list[tuple[float, bool]] = []
    true_pos = false_pos = positives = 0
    per_transform: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for j in judged:
        q, verdict = j.query, j.verdict
        truth = q.reference_id if q.is_copy else None
        positives += truth is not None
        for match in verdict.matches:
            scored.append((match.score, match.video_id == truth))
        predicted = set(verdict.copies) - j.also_copied
        hit = truth in predicted
        true_pos += hit
        false_pos += len(predicted - {truth})
        row = per_transform[q.hard_case or q.transform]
        row["queries"] += 1
        row["copies"] += truth is not None
        row["found"] += hit
        row["false_pairs"] += len(predicted - {truth})
        row["verdict_ok"] += verdict.kind in q.expected_verdicts
        row["names_reference"] += truth is not None and verdict.duplicate_of == truth
    precision = true_pos / (true_pos + false_pos) if true_pos + false_pos else 0.0
    recall = true_pos / positives if positives else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "queries": len(judged), "positive_pairs": positives, "true_positives": true_pos, "false_positives": false_pos,
        "precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4),
        "uap": round(micro_average_precision(scored, positives), 4),
        "verdict_kind_ok": sum(j.verdict.kind in j.query.expected_verdicts for j in judged),
        "per_transform": {k: dict(v) for k, v in sorted(per_transform.items())},
    }


def report(judged: list[Judged], signature_seconds: list[float]) -> dict:
    ious: list[dict] = []
    hard_cases = []
    for j in judged:
        q, verdict = j.query, j.verdict
        truth = q.reference_id if q.is_copy else None
        if q.hard_case:
            hard_cases.append({"case": q.hard_case, "query": q.video_id, "expected": list(q.expected_verdicts),
                               "verdict": verdict.kind, "ok": verdict.kind in q.expected_verdicts,
                               "reason": verdict.reason})
        if q.query_segment_s and q.reference_segment_s:
            match = next((m for m in verdict.matches if m.video_id == truth), None)
            a = match.alignment if match else None
            ious.append({"query": q.video_id, "transform": q.transform,
                         "query_iou": interval_iou((a.query_start_s, a.query_end_s), q.query_segment_s) if a else 0.0,
                         "reference_iou": interval_iou((a.reference_start_s, a.reference_end_s),
                                                       q.reference_segment_s) if a else 0.0})
    detect_ms = [j.seconds * 1000 for j in judged]
    return {
        **pair_figures(judged),
        "held_out": {k: v for k, v in pair_figures([j for j in judged if j.query.held_out]).items()
                     if k != "per_transform"},
        "development": {k: v for k, v in pair_figures([j for j in judged if not j.query.held_out]).items()
                        if k != "per_transform"},
        "hard_cases": hard_cases, "segments": ious,
        "mean_segment_iou": round(statistics.mean(min(s["query_iou"], s["reference_iou"]) for s in ious), 4)
        if ious else None,
        "detect_ms_median": round(statistics.median(detect_ms), 2),
        "detect_ms_p99": round(percentile(detect_ms, 0.99), 2),
        "signature_s_median": round(statistics.median(signature_seconds), 3),
    }


def print_report(figures: dict, judged: list[Judged]) -> None:
    print(f"\n{'transform / hard case':40} {'queries':>7} {'found':>6} {'false':>6} {'verdict ok':>10} "
          f"{'names it':>8}")
    for name, row in figures["per_transform"].items():
        found = f"{row.get('found', 0)}/{row.get('copies', 0)}" if row.get("copies") else "-"
        name = f"{name} (held out)" if name in HELD_OUT_TRANSFORMS else name
        print(f"{name:40} {row['queries']:>7} {found:>6} {row.get('false_pairs', 0):>6} "
              f"{row.get('verdict_ok', 0):>7}/{row['queries']} {row.get('names_reference', 0):>6}/{row['copies']}")
    print("\nhard cases:")
    for case in figures["hard_cases"]:
        print(f"  {'ok ' if case['ok'] else 'BAD'} {case['case']:28} {case['verdict']:16} "
              f"(expected {'/'.join(case['expected'])}): {case['reason']}")
    print("\npartial copies, segment IoU (query side / reference side):")
    for s in figures["segments"]:
        print(f"  {s['query']:40} {s['query_iou']:.2f} / {s['reference_iou']:.2f}")
    wrong = [j for j in judged if j.verdict.kind not in j.query.expected_verdicts]
    if wrong:
        print("\nverdicts outside the expected kinds:")
        for j in wrong:
            print(f"  {j.query.video_id:40} {j.verdict.kind:16} expected {'/'.join(j.query.expected_verdicts)}: "
                  f"{j.verdict.reason}")
    for part in ("development", "held_out"):
        f = figures[part]
        print(f"{part:12} pairs: {f['positive_pairs']} true copies, {f['true_positives']} found, "
              f"{f['false_positives']} false pairs; precision {f['precision']:.3f}  recall {f['recall']:.3f}  "
              f"F1 {f['f1']:.3f}  uAP {f['uap']:.3f}")
    print(f"\npairs: {figures['positive_pairs']} true copies, {figures['true_positives']} found, "
          f"{figures['false_positives']} false pairs")
    print(f"precision {figures['precision']:.3f}  recall {figures['recall']:.3f}  F1 {figures['f1']:.3f} "
          f"(target >= {TARGET_F1})   uAP {figures['uap']:.3f} (target >= {TARGET_UAP})")
    print(f"mean segment IoU {figures['mean_segment_iou']} (target >= {TARGET_IOU}); "
          f"verdict kinds as expected: {figures['verdict_kind_ok']}/{figures['queries']}")
    print(f"detection (KNN + verification + audio) median {figures['detect_ms_median']} ms, "
          f"p99 {figures['detect_ms_p99']} ms on this small index; signature median {figures['signature_s_median']} s "
          "per video (decode + hashes)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a small corpus (for the test suite)")
    parser.add_argument("--corpus", type=Path, help="where to build the corpus (default STACK_DIR/bench/copy_corpus)")
    args = parser.parse_args()
    cfg = Settings.from_env()
    folder = args.corpus or cfg.stack_dir / "bench" / ("copy_corpus_quick" if args.quick else "copy_corpus")
    started = time.perf_counter()
    corpus = build_corpus(folder, quick=args.quick)
    print(f"corpus: {len(corpus)} videos in {folder} ({time.perf_counter() - started:.0f} s)")
    with own_redis(cfg, REDIS_PORT_OFFSET) as bench_cfg:
        judged, signature_seconds = judge_all(corpus, bench_cfg)
    figures = report(judged, signature_seconds)
    print_report(figures, judged)
    out = cfg.stack_dir / "bench" / ("copy_eval_quick.json" if args.quick else "copy_eval.json")
    out.write_text(json.dumps(figures, indent=2))
    print(f"figures written to {out}")


if __name__ == "__main__":
    main()

"""The randomized copy-detection benchmark: queries made by random chains of edits (bench/copy_bench_corpus.py),
judged against 40 references and 1,000 distractors.

``python -m bench.copy_bench [--quick] [--seed N] [--matcher production]`` builds (or reuses) the corpus,
indexes its references and distractors with the matcher (bench/copy_matchers.py; the production path in a Redis
of its own), searches every query and prints, over (query, reference) pairs:
- micro-AP as in VSC 2022: every prediction of every query (one per pair, its best score) in one ranking by
  score; average precision over it, positives = every true pair (a query's reference; negative queries have none);
- precision and recall at the matcher's operating point (for production: the verdict lists the reference among
  its visual copies), and the number of false pairs that name a distractor;
- the best recall at precision >= 0.99 over score thresholds (and that threshold);
- the same per family (a query counts under each family of its chain), per group of families and per chain
  length. Per-query results go to results-<matcher>.json in the corpus folder.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from bench.bench_stack import own_redis
from bench.copy_augment import FAMILIES
from bench.copy_bench_corpus import BenchVideo, build_corpus
from bench.copy_matchers import MATCHERS, Matcher, Prediction
from bench.figures import micro_average_precision, recall_at_precision
from settings import Settings
from telemetry.progress import track

REDIS_PORT_OFFSET = 310
MIN_PRECISION = 0.99
TARGET_MICRO_AP, TARGET_RECALL = 0.90, 0.90  # issue 36: micro-AP, and recall at precision >= MIN_PRECISION


@dataclass(frozen=True)
class QueryResult:
    query: BenchVideo
    predictions: list[Prediction]
    seconds: float


def best_per_reference(predictions: list[Prediction]) -> dict[str, Prediction]:
    """One prediction per indexed video: the best scored (a copy if any of its predictions says so)."""
    best: dict[str, Prediction] = {}
    for p in sorted(predictions, key=lambda p: (-p.is_copy, -p.score)):
        best.setdefault(p.reference_id, p)
    return best


def figures(results: Iterable[QueryResult], distractor_ids: set[str]) -> dict:
    """Pair figures of ``results``: micro-AP, precision/recall at the operating point, recall at MIN_PRECISION."""
    scored: list[tuple[float, bool]] = []
    queries = positives = found = false_pairs = from_distractors = 0
    for result in results:
        truth = result.query.reference_id
        queries += 1
        positives += truth is not None
        for reference_id, p in best_per_reference(result.predictions).items():
            scored.append((p.score, reference_id == truth))
            if p.is_copy:
                found += reference_id == truth
                false_pairs += reference_id != truth
                from_distractors += reference_id != truth and reference_id in distractor_ids
    recall_99, threshold = recall_at_precision(scored, positives, MIN_PRECISION)
    return {
        "queries": queries, "positive_pairs": positives, "found": found, "false_pairs": false_pairs,
        "false_pairs_from_distractors": from_distractors,
        "precision": round(found / (found + false_pairs), 4) if found + false_pairs else None,
        "recall": round(found / positives, 4) if positives else None,
        "micro_ap": round(micro_average_precision(scored, positives), 4) if positives else None,
        "recall_at_p99": round(recall_99, 4), "threshold_at_p99": threshold,
    }


def breakdown(results: list[QueryResult], distractor_ids: set[str]) -> dict[str, dict]:
    """Figures overall, per family, per group of families and per chain length."""
    parts: dict[str, dict] = {"all": figures(results, distractor_ids)}
    for family in FAMILIES:
        parts[f"family {family}"] = figures((r for r in results if family in r.query.families), distractor_ids)
    for group in dict.fromkeys(group for group, _ in FAMILIES.values()):
        parts[f"group {group}"] = figures((r for r in results if any(FAMILIES[f][0] == group
                                                                         for f in r.query.families)), distractor_ids)
    for length in sorted({len(r.query.chain) for r in results}):
        parts[f"chain length {length}"] = figures((r for r in results if len(r.query.chain) == length),
                                                  distractor_ids)
    return parts


def run(matcher: Matcher, videos: list[BenchVideo]) -> tuple[list[QueryResult], float]:
    """Index the references and distractors, search every query; the results and the indexing seconds."""
    started = time.perf_counter()
    matcher.index([(v.video_id, v.path) for v in videos if v.role in ("reference", "distractor")])
    indexing_s = time.perf_counter() - started
    results = []
    queries = [v for v in videos if v.role == "query"]
    for query in track(queries, len(queries), "searched", "queries"):
        started = time.perf_counter()
        predictions = matcher.search(query.video_id, query.path)
        results.append(QueryResult(query, predictions, time.perf_counter() - started))
    return results, indexing_s


def _cell(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def print_report(parts: dict[str, dict]) -> None:
    print(f"\n{'part':28} {'queries':>7} {'pairs':>5} {'found':>5} {'false':>5} {'(dis)':>5} {'precision':>9} "
          f"{'recall':>6} {'micro-AP':>8} {'R@P99':>6}")
    for name, f in parts.items():
        print(f"{name:28} {f['queries']:>7} {f['positive_pairs']:>5} {f['found']:>5} {f['false_pairs']:>5} "
              f"{f['false_pairs_from_distractors']:>5} {_cell(f['precision']):>9} {_cell(f['recall']):>6} "
              f"{_cell(f['micro_ap']):>8} {_cell(f['recall_at_p99']):>6}")
    f = parts["all"]
    print(f"\nmicro-AP {_cell(f['micro_ap'])} (target >= {TARGET_MICRO_AP}); at the operating point precision "
          f"{_cell(f['precision'])}, recall {_cell(f['recall'])}; recall at precision >= {MIN_PRECISION} "
          f"{_cell(f['recall_at_p99'])} (target >= {TARGET_RECALL}, score threshold {f['threshold_at_p99']})")


def write_results(path: Path, parts: dict[str, dict], results: list[QueryResult], timing: dict) -> None:
    path.write_text(json.dumps({"figures": parts, "timing": timing, "queries": [
        {"query": r.query.video_id, "reference": r.query.reference_id, "chain": r.query.chain,
         "seconds": round(r.seconds, 3),
         "predictions": [{"reference": p.reference_id, "score": p.score, "is_copy": p.is_copy,
                          "query_range_s": p.query_range_s, "reference_range_s": p.reference_range_s}
                         for p in sorted(r.predictions, key=lambda p: -p.score)[:10]]}
        for r in results]}, indent=1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a small slice (6 references, 20 distractors, 20 queries)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--matcher", choices=sorted(MATCHERS), default="production")
    args = parser.parse_args()
    cfg = Settings.from_env()
    started = time.perf_counter()
    folder, videos = build_corpus(cfg.stack_dir, args.seed, args.quick)
    build_s = time.perf_counter() - started
    print(f"corpus: {len(videos)} videos in {folder} ({build_s:.0f} s)")
    distractor_ids = {v.video_id for v in videos if v.role == "distractor"}
    with own_redis(cfg, REDIS_PORT_OFFSET) as bench_cfg:
        matcher = MATCHERS[args.matcher](bench_cfg)
        try:
            started = time.perf_counter()
            results, indexing_s = run(matcher, videos)
            run_s = time.perf_counter() - started
        finally:
            matcher.close()
    parts = breakdown(results, distractor_ids)
    print_report(parts)
    timing = {"build_s": round(build_s, 1), "run_s": round(run_s, 1), "indexing_s": round(indexing_s, 1),
              "search_s_median": round(statistics.median(r.seconds for r in results), 3)}
    print(f"corpus build {timing['build_s']} s (0 when cached); run {timing['run_s']} s: indexing "
          f"{timing['indexing_s']} s, search (decode + signature + detection) median {timing['search_s_median']} s "
          "per query")
    out = folder / f"results-{args.matcher}.json"
    write_results(out, parts, results, timing)
    print(f"per-query results written to {out}")


if __name__ == "__main__":
    main()

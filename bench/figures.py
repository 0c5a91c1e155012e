"""Figures the benchmarks print."""

from __future__ import annotations


def percentile(values: list[float], share: float) -> float:
    """The value below which ``share`` of ``values`` lie (nearest rank, no interpolation)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def micro_average_precision(scored: list[tuple[float, bool]], positives: int) -> float:
    """Average precision over one ranking of all (query, reference) pairs (the uAP of copy detection benchmarks)."""
    hits, total = 0, 0.0
    for rank, (_, relevant) in enumerate(sorted(scored, key=lambda p: -p[0]), start=1):
        if relevant:
            hits += 1
            total += hits / rank
    return total / positives if positives else 0.0


def recall_at_precision(scored: list[tuple[float, bool]], positives: int,
                        min_precision: float) -> tuple[float, float | None]:
    """The highest recall of the pairs scoring at least some threshold, over the thresholds whose precision is at
    least ``min_precision``, and the lowest such threshold (None if none reaches it). Equal scores stand or fall
    together."""
    best: tuple[float, float | None] = (0.0, None)
    hits = taken = 0
    ranked = sorted(scored, key=lambda p: -p[0])
    for n, (score, relevant) in enumerate(ranked):
        hits += relevant
        taken += 1
        if n + 1 < len(ranked) and ranked[n + 1][0] == score:
            continue
        if hits / taken >= min_precision and positives and hits / positives >= best[0]:
            best = (hits / positives, score)
    return best

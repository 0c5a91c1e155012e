"""A small soak through the real stack: 44 events, a quarter of them bad or tricky (one of each kind), every
one accounted for with its expected outcome, the worker's memory sampled. The figure for thousands of
events is measured with ``python -m loadgen soak`` (README, "Dead letters and soak")."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from loadgen.soak import BAD_KINDS, VERDICT, run_soak
from local_stack.services import start_pipeline, stop_pipeline
from settings import Settings


@pytest.fixture(scope="module")
def worker(stack: Settings) -> Iterator[Settings]:
    start_pipeline(stack, print)
    yield stack
    stop_pipeline(stack, print)


def test_small_soak_accounts_for_every_event(worker: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = worker
    result = run_soak(cfg, count=44, rate=4, bad_share=0.25, timeout_s=240, memory_every_s=1)
    out = capsys.readouterr().out
    print(out)
    assert result.missing == [] and result.unexpected == [], out
    assert result.ok and "soak: OK" in out
    assert set(result.outcomes) == {"good", *BAD_KINDS}  # each bad kind published at least once
    for kind, expected in BAD_KINDS.items():
        assert set(result.outcomes[kind]) == {expected}, (kind, result.outcomes[kind])
    assert result.outcomes["good"] == {VERDICT: 33}
    no_audio = [p.key for p in result.planned if p.kind == "no_audio"]
    assert all(result.outputs[k][cfg.topic_enriched][0].record["has_audio"] is False for k in no_audio)
    assert "published: 44" in out and "missing: 0" in out and "duplicates by video id" in out
    assert {watch.name for watch in result.memory} == {"archiver", "copies-1", "enrichment-1"}
    assert all(len(watch.samples) >= 3 for watch in result.memory) and "copies-1 memory (VmRSS of pid" in out

"""The randomized copy benchmark on its small seeded slice, with the production matcher (the copy stage, with its
descriptor signal on a tritonserver of its own) in a real Redis (its own, as bench.copy_bench starts them: nothing
else of the stack is needed): the corpus is what the seed plans, every query is recorded and decodes, and the figures
add up. The benchmark's scores are not asserted (bench.copy_bench reports them); what the descriptor signal adds is,
on an edit PDQ cannot follow."""

from __future__ import annotations

import json
from pathlib import Path

from bench.bench_stack import own_redis
from bench.copy_bench import breakdown, run
from bench.copy_bench_corpus import QUICK, build_corpus, plan
from bench.copy_matchers import ProductionMatcher
from features.media import decode_video
from loadgen.samples import run_ffmpeg
from settings import Settings

REDIS_PORT_OFFSET = 320


def test_quick_slice_builds_as_planned_and_is_judged(cfg: Settings, tmp_path: Path) -> None:
    folder, videos = build_corpus(cfg.stack_dir, seed=1, quick=True)
    assert videos == plan(folder, 1, QUICK)
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["seed"] == 1
    recorded = {v["video_id"]: v for v in manifest["videos"]}
    queries = [v for v in videos if v.role == "query"]
    assert len(queries) == QUICK.queries
    for query in queries:
        assert recorded[query.video_id]["chain"] == query.chain and 1 <= len(query.chain) <= 3
        decoded = decode_video(query.path, cfg)
        assert decoded.frames and decoded.duration_s >= 2.0 and decoded.audio is not None, query.video_id

    with own_redis(cfg, REDIS_PORT_OFFSET) as bench_cfg:
        matcher = ProductionMatcher(bench_cfg)
        try:
            results, _ = run(matcher, videos)
            reference = next(v for v in videos if v.role == "reference")
            # the harness wiring: a reference searched unedited (as a later upload) is found as a copy of itself
            again = matcher.search(f"again-{reference.video_id}", reference.path)
            assert any(p.reference_id == reference.video_id and p.is_copy for p in again)
            # turned by 7 degrees and zoomed to hide the corners: no PDQ framing follows it, the descriptors do
            turned = run_ffmpeg([reference.path], ["-vf", "rotate=7*PI/180,scale=iw*1.2:ih*1.2,crop=iw/1.2:ih/1.2",
                                                   "-c:v", "libx264", "-preset", "veryfast", "-an"],
                                tmp_path / "turned.mp4")
            found = sorted(matcher.search("turned", turned), key=lambda p: -p.score)
            assert found and found[0].reference_id == reference.video_id and found[0].is_copy, found[:3]
            assert ProductionMatcher.TIER <= found[0].score < 2 * ProductionMatcher.TIER  # found by descriptors
        finally:
            matcher.close()

    assert [r.query for r in results] == queries
    parts = breakdown(results, {v.video_id for v in videos if v.role == "distractor"})
    everything = parts["all"]
    assert everything["queries"] == QUICK.queries
    assert everything["positive_pairs"] == sum(q.reference_id is not None for q in queries)
    assert 0 <= everything["found"] <= everything["positive_pairs"]
    assert 0.0 <= everything["micro_ap"] <= 1.0
    assert everything["recall_at_p99"] <= 1.0
    assert sum(parts[f"chain length {n}"]["queries"] for n in (1, 2, 3) if f"chain length {n}" in parts) == \
        QUICK.queries
    assert all(parts[f"family {f}"]["queries"] == sum(f in q.families for q in queries)
               for q in queries for f in q.families)

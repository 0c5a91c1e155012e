"""bench.verdict_cases' quick slice against the real Redis: same files, 2 s clips, stills and controls judged as
the copy stage judges them, every verdict as the rules say (README, "A still of a video" and "The same file under
another id is an exact duplicate")."""

from __future__ import annotations

from bench.verdict_cases import build_cases, judge_cases
from settings import Settings


def test_quick_verdict_cases_come_out_as_the_rules_say(stack: Settings) -> None:
    bench = stack.stack_dir / "bench"
    judged = judge_cases(build_cases(bench / "verdict_cases_quick", bench / "copy_corpus_references", quick=True),
                         stack)
    assert {j.video.case for j in judged if j.video.expected} >= {
        "identical re-upload, 1-3 s", "identical re-upload, no usable frame", "re-encoded excerpt of 1-3 s",
        "still of a video", "unrelated clip of 1-3 s", "unrelated still"}
    wrong = [(j.video.video_id, j.verdict.kind, j.verdict.reason) for j in judged
             if j.video.expected and not j.as_expected]
    assert not wrong

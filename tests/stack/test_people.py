"""Who appears in a video, end to end with FACES_ENABLED: a worker whose Triton serves the faces model finds the
people of a video made of two real photos (Obama, then Biden, from the face_recognition sdist), sends them on the
enriched topic and archives their face descriptors; a faceless video has nobody. With faces off (the session's
stack) nothing is detected or stored: tests/stack/test_pipeline.py checks that.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from inference.triton_client import FACES_MODEL
from loadgen.demo import event
from loadgen.face_photos import face_photos
from loadgen.samples import run_ffmpeg
from local_stack.services import SERVICES, start, start_pipeline, stop, stop_pipeline
from settings import Settings
from storage.archive import Archive
from tests.stack.test_models import call_models
from tests.stack.test_pipeline import publish_and_wait

PHOTO_SECONDS = 4.0
# the top 16:9 of each (portrait) photo, where the face is, as a 640x360 frame: whole, Biden's face would be ~58 px
FRAME = "crop=iw:iw*9/16:0:0,scale=640:360,setsar=1,fps=25"
STILL = f"loop=loop={round(PHOTO_SECONDS * 25) - 1}:size=1"  # a photo is one frame: repeated for 4 s at 25 fps


@pytest.fixture(scope="module")
def faces_worker(stack: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """A second tritonserver with every model and FACES_ENABLED=true (its own folder for its pid and log), and the
    pipeline's workers calling it with faces on (workers read their settings from the environment)."""
    triton_cfg = stack.with_triton_port(stack.triton_http_port + 300).replace(
        stack_dir=tmp_path_factory.mktemp("faces-triton"), faces_enabled=True)
    triton = next(s for s in SERVICES if s.name == "triton")
    worker_cfg = stack.with_triton_port(triton_cfg.triton_http_port).replace(faces_enabled=True)
    with pytest.MonkeyPatch.context() as environment:
        environment.setenv("TRITON_HTTP_PORT", str(triton_cfg.triton_http_port))
        environment.setenv("FACES_ENABLED", "true")
        try:
            start(triton_cfg, triton, print)
            assert call_models(triton_cfg, "model_states")[FACES_MODEL].ready
            start_pipeline(worker_cfg, print)
            yield worker_cfg
        finally:
            stop_pipeline(worker_cfg, print)
            stop(triton_cfg, "triton", print)


def two_people_video(cfg: Settings) -> str:
    """Obama's photo for 4 s, then Biden's for 4 s (their top 16:9), 640x360 at 25 fps; its path under
    MEDIA_ROOT."""
    photos = face_photos()
    target = cfg.media_root / "people" / "obama-then-biden.mp4"
    target.parent.mkdir(parents=True, exist_ok=True)
    run_ffmpeg([photos["obama"], photos["biden"]],
               ["-filter_complex", f"[0]{STILL},{FRAME}[a];[1]{STILL},{FRAME}[b];[a][b]concat=n=2:v=1[v]",
                "-map", "[v]", "-c:v", "libx264", "-pix_fmt", "yuv420p"], target)
    return str(target.relative_to(cfg.media_root))


def faceless_video(cfg: Settings) -> str:
    target = cfg.media_root / "people" / "test-pattern.mp4"
    target.parent.mkdir(parents=True, exist_ok=True)
    run_ffmpeg([], ["-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25:duration=6", "-c:v", "libx264",
                    "-pix_fmt", "yuv420p"], target)
    return str(target.relative_to(cfg.media_root))


def test_people_are_found_sent_and_archived_only_with_faces_on(faces_worker: Settings) -> None:
    cfg = faces_worker
    published = datetime.now(UTC)
    events = [event("people-two", two_people_video(cfg), "Two speeches", published),
              event("people-none", faceless_video(cfg), "Colour bars", published)]
    results = publish_and_wait(cfg, events)["by_video"]
    two = results["people-two"][cfg.topic_enriched].record["people"]
    assert len(two) == 2, two
    assert two[0]["first_s"] < PHOTO_SECONDS <= two[1]["first_s"], two  # Obama first, then Biden
    assert all(p["person_id"] is None and p["faces"] >= 1 and p["confidence"] > 0 for p in two), two
    assert results["people-none"][cfg.topic_enriched].record["people"] == []
    archive = Archive(cfg.clickhouse_dsn)
    assert archive.wait_for_videos(["people-two", "people-none"], timeout_s=60) == 2
    rows = archive.query("SELECT video_id, person_index, length(embedding), first_s FROM video_people FINAL "
                         "WHERE has(['people-two', 'people-none'], video_id) ORDER BY video_id, person_index")
    assert [(video_id, index, dims) for video_id, index, dims, _ in rows] == [
        ("people-two", 0, 128), ("people-two", 1, 128)], rows

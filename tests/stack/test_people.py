"""Who appears in a video, end to end with FACES_ENABLED: a worker whose Triton serves the faces model finds the
people of a video made of two real photos (Obama, then Biden, from the face_recognition sdist), sends them on the
enriched topic and archives their face descriptors; a faceless video has nobody. With faces off (the session's
stack) nothing is detected or stored: tests/stack/test_pipeline.py checks that.

Across the library: two more videos (another photo of Obama, a zoom onto Biden's) are published, the re-clustering
job's people run (jobs/recluster.py) finds one person cluster each for Obama and Biden, the worker loads their
centroids from the compacted topic, and a third photo of Obama published afterwards is assigned to his cluster
on arrival. The search API then filters by person and lists a person's videos, the page shows who appears, and
deleting a video removes its face data everywhere and keeps it from coming back.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from redis import Redis

from bench.faces_eval import shot
from core.records import DuplicateVerdict, VideoPublished
from inference.triton_client import FACES_MODEL, TritonModels
from jobs.delete_video import delete_videos
from jobs.recluster import run_recluster
from loadgen.demo import event
from loadgen.face_photos import face_photos
from loadgen.samples import run_ffmpeg
from local_stack.services import SEARCH_API, SERVICES, start, start_pipeline, stop, stop_pipeline
from pipeline.enrichment_stage import EnrichmentStage
from settings import Settings
from storage.archive import PER_VIDEO_TABLES, Archive
from storage.generations import IndexGeneration
from tests.stack.test_models import call_models
from tests.stack.test_pipeline import publish_and_wait
from tests.stack.test_search_api import chromium_page

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


def one_photo_video(cfg: Settings, photo: str, motion: str) -> str:
    """A 4 s clip of one photo: a slow "zoom" onto its face or a "pan" across it (bench/faces_eval.py's shots)."""
    target = cfg.media_root / "people" / f"{photo}-{motion}.mp4"
    target.parent.mkdir(parents=True, exist_ok=True)
    source = face_photos()[photo]
    run_ffmpeg([source], ["-filter_complex", f"[0:v]{shot(source, motion, PHOTO_SECONDS)}[v]", "-map", "[v]",
                          "-r", "25", "-c:v", "libx264", "-pix_fmt", "yuv420p"], target)
    return str(target.relative_to(cfg.media_root))


def faceless_video(cfg: Settings) -> str:
    target = cfg.media_root / "people" / "test-pattern.mp4"
    target.parent.mkdir(parents=True, exist_ok=True)
    run_ffmpeg([], ["-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25:duration=6", "-c:v", "libx264",
                    "-pix_fmt", "yuv420p"], target)
    return str(target.relative_to(cfg.media_root))


@pytest.fixture(scope="module")
def library(faces_worker: Settings) -> dict[str, Any]:
    """The people flow across the library: the first videos, the re-clustering's people run (and a re-run with
    nothing changed), the centroids loaded by the live worker, then a third photo of Obama published."""
    cfg = faces_worker
    published = datetime.now(UTC)
    first = publish_and_wait(cfg, [
        event("people-pair", two_people_video(cfg), "Two speeches", published),
        event("people-none", faceless_video(cfg), "Colour bars", published),
        event("people-obama2", one_photo_video(cfg, "obama2", "pan"), "Speech in the garden", published),
        event("people-biden", one_photo_video(cfg, "biden", "zoom"), "Speech on the economy", published),
    ])["by_video"]
    archive = Archive(cfg.clickhouse_dsn)
    indexes = IndexGeneration.live(cfg, Redis.from_url(cfg.redis_url))
    try:
        assert archive.wait_for_videos(list(first), timeout_s=60) == 4
        report = run_recluster(cfg, archive, indexes.search, kind="people")
        rerun = run_recluster(cfg, archive, indexes.search, kind="people")
    finally:
        archive.close()
    deadline = time.monotonic() + 60  # the live worker loads the centroids from the compacted topic
    while len(indexes.people.cluster_ids()) < len(report.run.clusters) and time.monotonic() < deadline:
        time.sleep(0.5)
    later = publish_and_wait(cfg, [event("people-obama3", one_photo_video(cfg, "obama3", "zoom"),
                                         "Speech at the podium", published)])["by_video"]
    records = {video_id: outputs[cfg.topic_enriched].record for video_id, outputs in {**first, **later}.items()}
    return {"cfg": cfg, "records": records, "report": report, "rerun": rerun, "indexes": indexes,
            "loaded": indexes.people.cluster_ids()}


def person_of(library: dict[str, Any], member: str) -> str:
    return next(c.cluster_id for c in library["report"].run.clusters if member in c.members)


def test_people_are_found_sent_and_archived(library: dict[str, Any]) -> None:
    cfg, records = library["cfg"], library["records"]
    two = records["people-pair"]["people"]
    assert len(two) == 2, two
    assert two[0]["first_s"] < PHOTO_SECONDS <= two[1]["first_s"], two  # Obama first, then Biden
    assert all(p["faces"] >= 1 and p["confidence"] > 0 for p in two), two
    assert records["people-none"]["people"] == []
    assert [len(records[video_id]["people"]) for video_id in ("people-obama2", "people-biden")] == [1, 1]
    # before any re-clustering run nobody is matched across videos
    assert all(p["person_id"] is None for video_id, record in records.items() if video_id != "people-obama3"
               for p in record["people"])
    archive = Archive(cfg.clickhouse_dsn)
    try:
        rows = archive.query("SELECT video_id, person_index, length(embedding) FROM video_people FINAL "
                             "WHERE has(['people-pair', 'people-none'], video_id) ORDER BY video_id, person_index")
    finally:
        archive.close()
    assert rows == [("people-pair", 0, 128), ("people-pair", 1, 128)], rows


def test_people_are_clustered_across_videos_with_stable_ids(library: dict[str, Any]) -> None:
    run = library["report"].run
    assert sorted(sorted(c.members) for c in run.clusters) == [
        ["people-biden#0", "people-pair#1"], ["people-obama2#0", "people-pair#0"]], run.clusters
    assert all(c.cluster_id.startswith("p") and c.radius == library["cfg"].people_radius for c in run.clusters)
    rerun = library["rerun"].run
    assert {c.cluster_id: c.members for c in rerun.clusters} == {c.cluster_id: c.members for c in run.clusters}
    assert rerun.retired == []
    assert library["loaded"] == sorted(c.cluster_id for c in run.clusters)


def test_a_new_video_of_a_known_person_gets_their_id_on_arrival(library: dict[str, Any]) -> None:
    people = library["records"]["people-obama3"]["people"]
    assert [p["person_id"] for p in people] == [person_of(library, "people-pair#0")], people


@pytest.fixture(scope="module")
def people_api(library: dict[str, Any]) -> Iterator[httpx.Client]:
    cfg = library["cfg"]
    start(cfg, SEARCH_API, print)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{cfg.search_port}", timeout=30) as client:
            yield client
    finally:
        stop(cfg, SEARCH_API.name, print)


def test_search_filters_by_person_and_lists_a_persons_videos(library: dict[str, Any],
                                                             people_api: httpx.Client) -> None:
    obama, biden = person_of(library, "people-pair#0"), person_of(library, "people-pair#1")
    listed = people_api.get(f"/api/people/{obama}").json()
    assert listed["total"] == 3, listed
    assert {v["video"]["video_id"] for v in listed["videos"]} == {"people-pair", "people-obama2", "people-obama3"}
    pair = next(v for v in listed["videos"] if v["video"]["video_id"] == "people-pair")
    assert [a["first_s"] < PHOTO_SECONDS for a in pair["appearances"]] == [True], pair  # Obama: the first half
    hits = people_api.get("/api/search", params={"q": "speech", "person": biden}).json()["hits"]
    assert {hit["video"]["video_id"] for hit in hits} == {"people-pair", "people-biden"}, hits
    everyone = people_api.get("/api/search", params={"q": "speech"}).json()["hits"]
    assert {"people-obama2", "people-obama3"} <= {hit["video"]["video_id"] for hit in everyone}
    assert {p["person_id"] for p in people_api.get("/api/people").json()} == {obama, biden}
    assert people_api.get("/api/people/p0000000000").status_code == 404
    assert people_api.get("/api/people/-bad-").status_code == 422


def test_the_page_shows_who_appears_and_opens_a_persons_videos_in_headless_chromium(
        library: dict[str, Any], people_api: httpx.Client, tmp_path: Path) -> None:
    """A hit shows who appears in it; clicking a person lists their videos and keeps later searches to them."""
    biden = person_of(library, "people-pair#1")
    with chromium_page(tmp_path / "profile") as (page, errors):
        page.goto(str(people_api.base_url))
        page.wait_for_load_state("networkidle")
        page.fill("input[name=q]", "speech on the economy")
        page.click("button[type=submit]")
        page.wait_for_selector(".hit .person")
        chip = page.locator(f".hit .person[data-person-id='{biden}']").first
        assert chip.inner_text().startswith(f"person {biden}")
        chip.click()
        page.wait_for_selector(".person-video")
        titles = sorted(page.locator(".person-video h3").all_inner_texts())
        assert titles == ["Speech on the economy", "Two speeches"], titles
        assert page.input_value("input[name=person]") == biden and errors == []


def test_deleting_a_video_removes_its_face_data_and_keeps_it_out(library: dict[str, Any],
                                                                 people_api: httpx.Client) -> None:
    cfg, indexes = library["cfg"], library["indexes"]
    obama = person_of(library, "people-pair#0")
    archive = Archive(cfg.clickhouse_dsn)
    try:
        assert archive.query("SELECT count() FROM video_people WHERE video_id = 'people-obama3'") == [(1,)]
        report = delete_videos(cfg, archive, ["people-obama3"])
        assert report.unindexed == 1 and report.archived_rows["video_people"] == 1
        for table in PER_VIDEO_TABLES:
            assert archive.query(f"SELECT count() FROM {table} WHERE video_id = 'people-obama3'") == [(0,)], table
    finally:
        archive.close()
    assert indexes.search.cards(["people-obama3"]) == {}
    assert people_api.get(f"/api/people/{obama}").json()["total"] == 2
    assert people_api.get("/api/videos/people-obama3").status_code == 404
    # a replayed request for it (a re-drive, a reindex) enriches and stores nothing
    record = library["records"]["people-obama3"]

    async def replay() -> object:
        models = TritonModels(cfg)
        try:
            published = VideoPublished(**event("people-obama3", "people/obama3.mp4", "Speech at the podium",
                                               datetime.now(UTC)))
            verdict = DuplicateVerdict(video_id="people-obama3", published_at=published.published_at,
                                       verdict=record["verdict"], duplicate_of=None, score=0.0, reason="replayed",
                                       matches=[], copies=[], features_version="", processed_at=datetime.now(UTC))
            return await EnrichmentStage(cfg, indexes, models).enrich(published, verdict)
        finally:
            await models.close()

    assert asyncio.run(replay()) is None
    assert indexes.search.cards(["people-obama3"]) == {}

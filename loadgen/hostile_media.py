"""Small media files for the robustness tests and the worker fuzz test: pictures far over the pixel budget in a few
KB, long videos whose container states no duration, damaged files, and videos no other video is a copy of.
"""

from __future__ import annotations

import random
import struct
import zlib
from pathlib import Path

from loadgen.samples import run_ffmpeg


def huge_png(width: int, height: int) -> bytes:
    """A black 1-bit PNG of any size in a few KB (its rows compress to almost nothing)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = (b"\x00" + bytes((width + 7) // 8)) * height  # filter byte 0, then the row's bits
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b""))


def huge_picture_video(target: Path, side: int = 16000, frames: int = 3) -> Path:
    """An MP4 of ``frames`` PNG pictures of ``side`` x ``side`` (94 KB for 16000), made without decoding them."""
    png = target.with_name(f"{target.stem}-picture.png")
    png.write_bytes(huge_png(side, side))
    run_ffmpeg([], ["-loop", "1", "-framerate", "1", "-i", str(png), "-frames:v", str(frames), "-c:v", "copy"],
               target)
    png.unlink()
    return target


def undated_video(target: Path, video_s: float, audio_s: float = 0.0) -> Path:
    """A tiny 1 fps H.264 video (with a sine tone of ``audio_s`` seconds) as live Matroska, which states no
    duration, like a stream written to a pipe (20 minutes: 30 KB)."""
    audio = ["-f", "lavfi", "-t", str(audio_s), "-i", "sine=frequency=440:sample_rate=16000"] if audio_s else []
    return run_ffmpeg([], ["-f", "lavfi", "-t", str(video_s), "-i", "color=c=green:s=64x64:r=1", *audio,
                           "-c:v", "libx264", "-preset", "ultrafast", "-live", "1"], target)


def unique_video(target: Path, seed: int, seconds: float = 8) -> Path:
    """A video no other video is a copy of: a rule-30 cellular automaton grown from a random first row (``seed``),
    in 4-pixel cells, scrolling."""
    return run_ffmpeg([], ["-f", "lavfi", "-t", str(seconds), "-i", f"cellauto=rule=30:random_seed={seed}:"
                           "random_fill_ratio=0.5:s=80x60:rate=5:start_full=1", "-vf", "scale=320:240:flags=neighbor",
                           "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"], target)


def damaged_video(source: Path, target: Path, damaged_spots: int = 40, seed: int = 0) -> Path:
    """``source`` remuxed into FLV (H.263-style Sorenson video, whose decoder rejects broken packets) with
    ``damaged_spots`` runs of 1-63 random bytes written over its data past the first 5 %, as a bad disk or a
    cut transfer leaves a file."""
    run_ffmpeg([source], ["-c:v", "flv", "-c:a", "aac", "-ar", "44100"], target.with_suffix(".flv"))
    data = bytearray(target.with_suffix(".flv").read_bytes())
    rng = random.Random(seed)
    for _ in range(damaged_spots):
        start = rng.randrange(len(data) // 20, len(data))
        for i in range(start, min(len(data), start + rng.randrange(1, 64))):
            data[i] = rng.randrange(256)
    target.write_bytes(bytes(data))
    return target

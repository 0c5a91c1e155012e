"""Small media files for the robustness tests and the worker fuzz test: pictures far over the pixel budget in a few
KB, long videos whose container states no duration, damaged files, and videos no other video is a copy of.
"""

from __future__ import annotations

import os
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


def referencing_files(outside: Path, folder: Path) -> dict[str, bytes]:
    """Files that make FFmpeg open other files if it is let guess their format (file name -> bytes), to be written
    in ``folder``: HLS playlists whose segment is ``outside`` (a video outside MEDIA_ROOT) by absolute path, by a
    ``../`` path and as a ``file://`` URI, a playlist listing itself (it grew a worker without bound), a concat
    script, a DASH manifest, an SDP description and a playlist named like a video."""
    def hls(segment: str) -> bytes:
        return f"#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10.0,\n{segment}\n#EXT-X-ENDLIST\n".encode()

    return {
        "hls-absolute.m3u8": hls(str(outside)),
        "hls-parent.m3u8": hls(os.path.relpath(outside, folder)),
        "hls-file-uri.m3u8": hls(outside.as_uri()),
        "hls-self.m3u8": b"#EXTM3U\n#EXTINF:1,\nhls-self.m3u8\n#EXTINF:1,\nhls-self.m3u8\n",
        "concat.ffconcat": f"ffconcat version 1.0\nfile '{outside}'\n".encode(),
        "manifest.mpd": (f'<?xml version="1.0"?>\n<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static"><Period>'
                         f'<AdaptationSet><Representation id="1" bandwidth="1"><BaseURL>{outside.as_uri()}</BaseURL>'
                         '</Representation></AdaptationSet></Period></MPD>\n').encode(),
        "session.sdp": b"v=0\no=- 0 0 IN IP4 127.0.0.1\ns=probe\nc=IN IP4 127.0.0.1\nt=0 0\nm=video 5004 RTP/AVP 96\n",
        "playlist-named.mp4": hls(str(outside)),
    }


# Real-world stream layouts that phones, cameras and editors write (file name -> ffmpeg output arguments after
# the inputs of ``camera_layouts``: 0 the clip, 1 a cover picture, 2 a subtitle file, 3 a second picture).
_PICTURE = ["-map", "0:v", "-map", "0:a", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
            "-c:a", "aac"]
CAMERA_LAYOUTS: dict[str, list[str]] = {
    "timecode-track.mov": [*_PICTURE, "-timecode", "01:00:00:00"],
    "timecode-track.mp4": [*_PICTURE, "-timecode", "10:00:00:00"],
    "font-attachment.mkv": [*_PICTURE, "-attach", "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
                            "-metadata:s:t", "mimetype=application/x-truetype-font"],
    "subtitles.mp4": [*_PICTURE, "-map", "2:s", "-c:s", "mov_text"],
    "subtitles.mkv": [*_PICTURE, "-map", "2:s", "-c:s", "srt"],
    "cover-after.mp4": [*_PICTURE, "-map", "1:v", "-c:v:1", "png", "-disposition:v:1", "attached_pic"],
    "cover-first.mkv": ["-map", "1:v", "-map", "0:v", "-map", "0:a", "-c:v:0", "png", "-c:v:1", "libx264",
                        "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-disposition:v:0",
                        "attached_pic"],
    "two-video-streams.mp4": [*_PICTURE, "-map", "3:v", "-c:v:1", "libx264"],
    "anamorphic.mp4": [*_PICTURE, "-vf", "setsar=4/3"],
    "variable-frame-rate.mkv": [*_PICTURE, "-vf", "setpts='PTS+0.03*sin(N/3)/TB'", "-fps_mode", "vfr"],
}
# Phone videos filmed upright: the pictures are stored on their side with a display matrix that turns them
# (degrees counter-clockwise, as ffprobe says), written onto timecode-track.mp4's streams.
ROTATIONS = {"portrait-90.mp4": 90, "portrait-270.mp4": 270, "upside-down-180.mp4": 180}


def camera_layouts(source: Path, folder: Path, seconds: float = 3.0) -> dict[str, Path]:
    """The CAMERA_LAYOUTS and ROTATIONS made from ``seconds`` of ``source`` (a video with sound) scaled to 320
    pixels wide, in ``folder`` (kept when present); file name -> path."""
    clip = folder / "clip.mp4"
    if not clip.exists():
        run_ffmpeg([source], ["-t", str(seconds), "-vf", "scale=320:-2", "-c:v", "libx264", "-preset", "ultrafast",
                              "-c:a", "aac"], clip)
    cover = ["-f", "lavfi", "-i", "color=c=red:s=64x64:d=1"]
    subtitles = folder / "captions.srt"
    subtitles.write_text("1\n00:00:00,000 --> 00:00:02,000\nA caption\n")
    second = ["-f", "lavfi", "-t", str(seconds), "-i", "testsrc2=s=160x120:r=25"]
    made: dict[str, Path] = {}
    for name, arguments in CAMERA_LAYOUTS.items():
        made[name] = folder / name
        if not made[name].exists():
            run_ffmpeg([clip], [*cover, "-i", str(subtitles), *second, *arguments], made[name])
    for name, degrees in ROTATIONS.items():
        made[name] = folder / name
        if not made[name].exists():
            run_ffmpeg([made["timecode-track.mp4"]], ["-map", "0:v", "-map", "0:a", "-c", "copy",
                                                      "-metadata:s:v:0", f"rotate={degrees}"], made[name])
    return made

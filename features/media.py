"""Decode a media file once for every model and signature (PyAV).

Frames: one every 1/FRAMES_PER_SECOND seconds plus the first frame of each scene change; audio: 16 kHz mono.
The copy stage decodes every sampled frame (decode_video); the enrichment stage only the key frames among them
and the audio (decode_key_frames).
"""

from __future__ import annotations

import contextlib
import errno
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from core.containers import SNIFF_BYTES, opened_container
from core.errors import MediaError
from settings import Settings


@dataclass(frozen=True)
class DecodedVideo:
    frames: list[np.ndarray]  # RGB uint8, H x W x 3, long side <= FRAME_MAX_SIDE
    frame_times_s: list[float]
    scene_changes: list[bool]  # True where the frame was taken because a new shot starts there
    duration_s: float
    audio: np.ndarray | None  # float32 mono at AUDIO_SAMPLE_RATE; None when the file has no audio
    audio_sample_rate: int
    damaged_packets: int = 0  # video and audio packets skipped because their decoder found them damaged


# Codecs of still pictures: a video stream in one of them is a cover picture (phones and music exports attach one)
# unless the file has no other video stream.
STILL_PICTURE_CODECS = frozenset({"png", "mjpeg", "bmp", "gif", "webp", "tiff"})


@contextmanager
def open_media(path: Path, max_pixels: int, name: str) -> Iterator[av.container.InputContainer]:
    """The file opened with the demuxer its first bytes call for (core/containers.py), never one FFmpeg guesses:
    a playlist, a concat script or anything else that refers to other files is refused (MediaError), and FFmpeg
    may open nothing but this file (``protocol_whitelist=file``; QuickTime's external data references stay off).

    On exit the streams' decoders are closed too: PyAV frees a decoder (its frame threads and buffers) only when
    the garbage collector breaks a reference cycle, which in a long-running worker can take hundreds of videos.

    FFmpeg refuses to decode a picture of more than ``max_pixels`` (its ``max_pixels`` option) in the decoders:
    a 16000 x 16000 frame would take hundreds of MB before any check of ours could see it. The option is set on
    each stream's decoder after opening, not passed to ``av.open`` for the probe: PyAV 13 frees per-stream
    probe options for streams that did not exist when it allocated them, and crashes the process on MPEG-PS
    and FLV files, whose streams are only found while probing (fixed in PyAV 18)."""
    with open(path, "rb") as file:
        container_type = opened_container(file.read(SNIFF_BYTES), name)
    options = {"protocol_whitelist": "file"}
    if container_type.demuxer == "mov":
        options["enable_drefs"] = "0"  # QuickTime's references to other files (its default too: said, not assumed)
    refuse_larger = {"max_pixels": str(max_pixels)}
    with av.open(str(path), format=container_type.demuxer, container_options=options) as container:
        for stream in container.streams.video:
            stream.codec_context.options = refuse_larger
        try:
            yield container
        finally:
            for stream in container.streams:
                if stream.codec_context is not None:  # attachments, timecode and data tracks have no decoder
                    stream.codec_context.close(strict=False)


def video_stream(container: av.container.InputContainer) -> av.video.stream.VideoStream | None:
    """The stream that is the video: the first video stream that is not a still picture (a cover), else the first
    video stream; None when there is none."""
    streams = list(container.streams.video)
    moving = [stream for stream in streams if stream.codec_context.name not in STILL_PICTURE_CODECS]
    return (moving or streams or [None])[0]


def _open_checked(path: Path, cfg: Settings,
                  name: str) -> contextlib.AbstractContextManager[av.container.InputContainer]:
    """The file opened for decoding, after the checks every decode makes (raises MediaError)."""
    try:
        size = path.stat().st_size
    except OSError as exc:  # gone since its URI was resolved
        raise MediaError(f"media file not found: {name!r} ({exc.strerror})", kind="media_not_found") from exc
    if size == 0:
        raise MediaError(f"{name!r} is empty", kind="media_empty")
    if size > cfg.max_media_bytes:
        raise MediaError(f"{name!r} is {size} bytes, over MAX_MEDIA_BYTES={cfg.max_media_bytes}",
                         kind="media_too_large")
    return open_media(path, cfg.max_frame_pixels, name)


def _check_container(container: av.container.InputContainer, cfg: Settings,
                     name: str) -> tuple[av.video.stream.VideoStream, float]:
    """The video stream and the container's stated duration (0 when unknown), after checking it has video within
    the limits."""
    stream = video_stream(container)
    if stream is None:
        raise MediaError(f"{name!r} has no video stream", kind="media_unreadable")
    context = stream.codec_context  # 0 x 0 when only decoding would tell (FFmpeg refuses then)
    if context.width * context.height > cfg.max_frame_pixels:
        raise MediaError(f"{name!r} has {context.width}x{context.height} pictures, over MAX_FRAME_PIXELS="
                         f"{cfg.max_frame_pixels}", kind="media_too_large")
    duration = container.duration / av.time_base if container.duration else 0.0
    if duration > cfg.max_video_seconds:
        raise MediaError(f"{name!r} lasts {duration:.0f}s, over MAX_VIDEO_SECONDS="
                         f"{cfg.max_video_seconds:.0f}", kind="media_too_long")
    return stream, duration


def over_memory_budget(name: str, cfg: Settings) -> MediaError:
    """The error for a file whose decoding needed more memory than its child process may have."""
    return MediaError(f"{name!r} needed more than MEDIA_MEMORY_BUDGET_MIB={cfg.media_memory_budget_mib} MiB to decode",
                      kind="media_over_budget")


def _unreadable(exc: av.FFmpegError, name: str, cfg: Settings) -> MediaError:
    """FFmpeg's reason without the file's path on this server (its message ends with it). A decoder answers
    EINVAL for a picture over its ``max_pixels`` (or of an impossible size), which only decoding could tell."""
    if exc.errno in (errno.ENOMEM, errno.EAGAIN):  # an allocation (a buffer, a thread's stack) failed: the decode's
        # child process is at its memory budget (features/media_budget.py)
        return over_memory_budget(name, cfg)
    if exc.errno == errno.EINVAL:
        return MediaError(f"cannot decode {name!r}: a picture over MAX_FRAME_PIXELS={cfg.max_frame_pixels} (or of "
                          "an invalid size)", kind="media_too_large")
    return MediaError(f"cannot decode {name!r}: {exc.strerror or type(exc).__name__}", kind="media_unreadable")


def decode_video(path: Path, cfg: Settings, name: str | None = None) -> DecodedVideo:
    """Decode ``path`` once for the copy signature. Raises MediaError for unreadable, empty or over-limit media;
    its message calls the file ``name`` (the media URI as published; default its file name), never its path."""
    name = name or path.name
    damage = DamageCount()
    try:
        with _open_checked(path, cfg, name) as container:
            stream, duration = _check_container(container, cfg, name)
            frames, times, scene_changes = _sample_frames(container, stream, cfg, name, damage)
        audio = _decode_audio(path, cfg, name, damage)
    except av.FFmpegError as exc:
        raise _unreadable(exc, name, cfg) from exc
    if not frames:
        raise MediaError(f"{name!r} has no decodable video frames", kind="media_unreadable")
    last_frame_end = times[-1] + 1.0 / cfg.frames_per_second
    return DecodedVideo(frames, times, scene_changes, duration or last_frame_end, audio, cfg.audio_sample_rate,
                        damage.packets)


@dataclass(frozen=True)
class KeyFrames:
    """What the enrichment models need of a video: its key frames and its audio."""

    frames: list[np.ndarray]  # RGB uint8, as decode_video samples them, one per time asked for
    times_s: list[float]
    audio: np.ndarray | None  # float32 mono at AUDIO_SAMPLE_RATE; None when the file has no audio
    audio_sample_rate: int


def decode_key_frames(path: Path, times_s: list[float], cfg: Settings, name: str | None = None,
                      audio: bool = True) -> KeyFrames:
    """The frames decode_video sampled at ``times_s`` (sorted), and the audio (unless not wanted), without
    decode_video's per-frame work (thumbnails for cuts, conversions of every sampled frame). Raises MediaError like
    decode_video."""
    name = name or path.name
    wanted = iter(times_s)
    next_time = next(wanted, None)
    frames: list[np.ndarray] = []
    damage = DamageCount()
    try:
        with _open_checked(path, cfg, name) as container:
            stream, _ = _check_container(container, cfg, name)
            display = Display.of(stream)
            for time_s, frame in _frames(container, stream, lambda start, end: any(
                    start - FRAME_TIME_TOLERANCE_S <= t < end for t in times_s), cfg, name, damage):
                if next_time is None:
                    break
                if time_s < next_time - FRAME_TIME_TOLERANCE_S:
                    continue
                frames.append(display.rgb(frame, cfg))
                next_time = next(wanted, None)
        sound = _decode_audio(path, cfg, name, damage) if audio else None
    except av.FFmpegError as exc:
        raise _unreadable(exc, name, cfg) from exc
    if len(frames) != len(times_s):
        raise MediaError(f"{name!r}: {len(frames)} of {len(times_s)} key frames decoded (the file changed "
                         "since its signature was made?)", kind="media_unreadable")
    return KeyFrames(frames, list(times_s), sound, cfg.audio_sample_rate)


# Scene changes are found on tiny grey thumbnails of every decoded frame (cheap next to decoding itself).
THUMBNAIL_SIDE = 32
# A cut this close after a kept frame adds nothing new worth a second frame.
MIN_SECONDS_BETWEEN_FRAMES = 0.25
# Sampled times are kept to the millisecond (and stored as float32): a frame this close to one is that frame.
FRAME_TIME_TOLERANCE_S = 0.0005


@dataclass
class DamageCount:
    """Packets a decoder rejected as damaged while decoding one file."""

    packets: int = 0

    def decode(self, packet: av.Packet) -> list[av.frame.Frame]:
        """The packet's frames, or none (counted) when the decoder finds it damaged: FFmpeg answers that with
        "invalid data" or, from some decoders, a bare -1 (EPERM)."""
        try:
            return packet.decode()
        except (av.error.InvalidDataError, av.error.PermissionError):
            self.packets += 1
            return []


# A sample aspect ratio this far from 1 or more stretches the pictures (PAL 4:3's 12:11 is 9 % off).
ANAMORPHIC_MIN = 0.03


@dataclass(frozen=True)
class Display:
    """How a stream's pictures are shown, as players show them: turned by the display matrix a phone writes for a
    portrait video (in quarter turns counter-clockwise) and stretched by the sample aspect ratio (anamorphic DV,
    some broadcast captures), so a copy of the upright picture finds it and models see what people see."""

    quarter_turns: int = 0
    pixel_aspect: float = 1.0  # a pixel's width over its height

    @classmethod
    def of(cls, stream: av.video.stream.VideoStream) -> Display:
        degrees = float(stream.side_data.get("DISPLAYMATRIX", 0.0) or 0.0)  # counter-clockwise, as ffprobe says
        aspect = stream.sample_aspect_ratio or stream.codec_context.sample_aspect_ratio
        # 0/1 means unknown; a crop scaled back to its size leaves one within a few % of 1 (711:715), which
        # changes the picture by a pixel or two: pictures are stretched only for a real anamorphic ratio
        pixel_aspect = float(aspect) if aspect and ANAMORPHIC_MIN <= abs(float(aspect) - 1.0) <= 9.0 else 1.0
        return cls(round(degrees / 90.0) % 4, pixel_aspect)

    def rgb(self, frame: av.VideoFrame, cfg: Settings) -> np.ndarray:
        """The frame as RGB as shown, scaled so its long side is at most FRAME_MAX_SIDE (even sides)."""
        shown_width, shown_height = frame.width * self.pixel_aspect, float(frame.height)
        scale = min(1.0, cfg.frame_max_side / max(shown_width, shown_height))
        width, height = (max(2, int(shown_width * scale) // 2 * 2), max(2, int(shown_height * scale) // 2 * 2))
        picture = frame.to_ndarray(format="rgb24", width=width, height=height)
        return np.ascontiguousarray(np.rot90(picture, self.quarter_turns)) if self.quarter_turns else picture


def _frames(container: av.container.InputContainer, stream: av.video.stream.VideoStream,
            wanted: Callable[[float, float], bool], cfg: Settings, name: str,
            damage: DamageCount) -> Iterator[tuple[float, av.VideoFrame]]:
    """(time since the first frame, frame) for the video ``stream``'s frames with a time, decoded with two threads,
    skipping the frames no other frame is decoded from (non-reference B-frames) unless ``wanted(start_s, end_s)``
    (times since the first frame) for the time they are shown: they are the cheap quarter to half of the
    frames, and skipping them leaves every other frame exactly as it was.

    Times count from the first frame, not from the container's clock, so two encodes of one video sample the
    same instants whatever start time their container states (MPEG-PS starts at ~0.5 s, FLV and WebM a few
    ms in). A packet the decoder rejects as damaged is skipped and counted in ``damage``, as the ffmpeg
    command line does, instead of ending the video there.

    The limits hold whatever the container states (a stream written to a pipe states no duration): decoding
    stops with media_too_long at MAX_VIDEO_FRAMES frames or once the frames shown span MAX_VIDEO_SECONDS."""
    stream.thread_type = "AUTO"
    context = stream.codec_context
    time_base = stream.time_base
    frame_s = 1.0 / float(stream.average_rate) if stream.average_rate else 0.04
    first_s: float | None = None
    for count, packet in enumerate(container.demux(stream), start=1):
        if count > cfg.max_video_frames:
            raise MediaError(f"{name!r} has more than MAX_VIDEO_FRAMES={cfg.max_video_frames} video frames",
                             kind="media_too_long")
        if packet.pts is not None and time_base is not None:
            start = float(packet.pts * time_base) - (first_s or 0.0)
            end = start + (float(packet.duration * time_base) if packet.duration else frame_s)
            context.skip_frame = "DEFAULT" if first_s is None or wanted(start, end) else "NONREF"
        for frame in damage.decode(packet):
            if frame.time is None:
                continue
            first_s = frame.time if first_s is None else first_s
            if frame.time - first_s > cfg.max_video_seconds:
                raise _too_long(name, cfg, "video")
            yield frame.time - first_s, frame


def _too_long(name: str, cfg: Settings, what: str) -> MediaError:
    return MediaError(f"{name!r} has more than MAX_VIDEO_SECONDS={cfg.max_video_seconds:.0f} s of {what} (counted "
                      "while decoding)", kind="media_too_long")


def _sample_frames(container: av.container.InputContainer, stream: av.video.stream.VideoStream, cfg: Settings,
                   name: str, damage: DamageCount) -> tuple[list[np.ndarray], list[float], list[bool]]:
    step = 1.0 / cfg.frames_per_second
    next_t = 0.0
    last_kept_t = -1.0
    previous_thumbnail: np.ndarray | None = None
    frames: list[np.ndarray] = []
    times: list[float] = []
    scene_changes: list[bool] = []

    def covers_a_slot(start: float, end: float) -> bool:
        return float(np.ceil((start - 1e-6) / step)) * step < end

    display = Display.of(stream)
    for time_s, frame in _frames(container, stream, covers_a_slot, cfg, name, damage):
        thumbnail = frame.to_ndarray(format="gray", width=THUMBNAIL_SIDE, height=THUMBNAIL_SIDE).astype(np.float32)
        is_cut = (previous_thumbnail is not None
                  and float(np.abs(thumbnail - previous_thumbnail).mean()) / 255.0 > cfg.scene_change_threshold)
        previous_thumbnail = thumbnail
        on_schedule = time_s + 1e-6 >= next_t
        if not on_schedule and not (is_cut and time_s - last_kept_t >= MIN_SECONDS_BETWEEN_FRAMES):
            continue
        frames.append(display.rgb(frame, cfg))
        times.append(round(float(time_s), 3))
        scene_changes.append(is_cut)
        last_kept_t = float(time_s)
        if on_schedule:
            next_t = (int(time_s / step + 1e-6) + 1) * step
    return frames, times, scene_changes


def _decode_audio(path: Path, cfg: Settings, name: str, damage: DamageCount) -> np.ndarray | None:
    """The first audio stream, mono at AUDIO_SAMPLE_RATE; media_too_long past MAX_VIDEO_SECONDS of it. Damaged
    packets are skipped and counted in ``damage``."""
    max_samples = int(cfg.max_video_seconds * cfg.audio_sample_rate)
    with open_media(path, cfg.max_frame_pixels, name) as container:
        if not container.streams.audio:
            return None
        resampler = av.AudioResampler(format="flt", layout="mono", rate=cfg.audio_sample_rate)
        chunks: list[np.ndarray] = []
        samples = 0
        stream = container.streams.audio[0]
        for frame in (f for packet in container.demux(stream) for f in damage.decode(packet)):
            for out in resampler.resample(frame):
                chunks.append(out.to_ndarray().reshape(-1))
                samples += chunks[-1].size
            if samples > max_samples:
                raise _too_long(name, cfg, "audio")
        for out in resampler.resample(None):
            chunks.append(out.to_ndarray().reshape(-1))
    return np.concatenate(chunks).astype(np.float32) if chunks else np.zeros(0, dtype=np.float32)

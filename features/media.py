"""Decode a media file once for every model and signature (PyAV).

Frames: one every 1/FRAMES_PER_SECOND seconds plus the first frame of each scene change; audio: 16 kHz mono.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

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


@contextmanager
def open_media(path: Path) -> Iterator[av.container.InputContainer]:
    """``av.open`` that also closes the streams' decoders on exit. PyAV frees a decoder (its frame threads and
    buffers) only when the garbage collector breaks a reference cycle, which in a long-running worker can
    take hundreds of videos: closing it here keeps the worker's threads and memory flat."""
    with av.open(str(path)) as container:
        try:
            yield container
        finally:
            for stream in container.streams:
                stream.codec_context.close(strict=False)


def decode_video(path: Path, cfg: Settings) -> DecodedVideo:
    """Decode ``path`` once. Raises MediaError for unreadable, empty or over-limit media."""
    size = path.stat().st_size
    if size == 0:
        raise MediaError(f"{path.name} is empty", kind="media_empty")
    if size > cfg.max_media_bytes:
        raise MediaError(f"{path.name} is {size} bytes, over MAX_MEDIA_BYTES={cfg.max_media_bytes}",
                         kind="media_too_large")
    try:
        with open_media(path) as container:
            if not container.streams.video:
                raise MediaError(f"{path.name} has no video stream", kind="media_unreadable")
            duration = container.duration / av.time_base if container.duration else 0.0
            if duration > cfg.max_video_seconds:
                raise MediaError(f"{path.name} lasts {duration:.0f}s, over MAX_VIDEO_SECONDS="
                                 f"{cfg.max_video_seconds:.0f}", kind="media_too_long")
            frames, times, scene_changes = _sample_frames(container, cfg)
        audio = _decode_audio(path, cfg.audio_sample_rate)
    except av.FFmpegError as exc:
        raise MediaError(f"cannot decode {path.name}: {exc}", kind="media_unreadable") from exc
    if not frames:
        raise MediaError(f"{path.name} has no decodable video frames", kind="media_unreadable")
    last_frame_end = times[-1] + 1.0 / cfg.frames_per_second
    return DecodedVideo(frames, times, scene_changes, duration or last_frame_end, audio, cfg.audio_sample_rate)


# Scene changes are found on tiny grey thumbnails of every decoded frame (cheap next to decoding itself).
THUMBNAIL_SIDE = 32
# A cut this close after a kept frame adds nothing new worth a second frame.
MIN_SECONDS_BETWEEN_FRAMES = 0.25


def _sample_frames(container: av.container.InputContainer,
                   cfg: Settings) -> tuple[list[np.ndarray], list[float], list[bool]]:
    stream = container.streams.video[0]
    stream.thread_type = "AUTO"
    step = 1.0 / cfg.frames_per_second
    next_t = 0.0
    last_kept_t = -1.0
    previous_thumbnail: np.ndarray | None = None
    frames: list[np.ndarray] = []
    times: list[float] = []
    scene_changes: list[bool] = []
    for frame in container.decode(stream):
        if frame.time is None:
            continue
        thumbnail = frame.to_ndarray(format="gray", width=THUMBNAIL_SIDE, height=THUMBNAIL_SIDE).astype(np.float32)
        is_cut = (previous_thumbnail is not None
                  and float(np.abs(thumbnail - previous_thumbnail).mean()) / 255.0 > cfg.scene_change_threshold)
        previous_thumbnail = thumbnail
        on_schedule = frame.time + 1e-6 >= next_t
        if not on_schedule and not (is_cut and frame.time - last_kept_t >= MIN_SECONDS_BETWEEN_FRAMES):
            continue
        scale = min(1.0, cfg.frame_max_side / max(frame.width, frame.height))
        width, height = (max(2, int(frame.width * scale) // 2 * 2), max(2, int(frame.height * scale) // 2 * 2))
        frames.append(frame.to_ndarray(format="rgb24", width=width, height=height))
        times.append(round(float(frame.time), 3))
        scene_changes.append(is_cut)
        last_kept_t = float(frame.time)
        if on_schedule:
            next_t = (int(frame.time / step + 1e-6) + 1) * step
    return frames, times, scene_changes


def _decode_audio(path: Path, sample_rate: int) -> np.ndarray | None:
    with open_media(path) as container:
        if not container.streams.audio:
            return None
        resampler = av.AudioResampler(format="flt", layout="mono", rate=sample_rate)
        chunks = []
        for frame in container.decode(container.streams.audio[0]):
            for out in resampler.resample(frame):
                chunks.append(out.to_ndarray().reshape(-1))
        for out in resampler.resample(None):
            chunks.append(out.to_ndarray().reshape(-1))
    return np.concatenate(chunks).astype(np.float32) if chunks else np.zeros(0, dtype=np.float32)

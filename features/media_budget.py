"""Media work within a time and a memory budget: each decode (and what is computed from its pictures) runs in a
child process of its own, so no file can hold a worker or take its memory.

A hostile or broken file can make FFmpeg loop or allocate without end (a playlist listing itself grew a worker
from 760 MiB to 2 GiB in 9 s and stalled every partition it owned). In a child, the worker keeps its pid, its
Kafka session and its other events in flight whatever the file does: the child's data segment is capped at
MEDIA_MEMORY_BUDGET_MIB (``RLIMIT_DATA``: allocations past it fail), it is killed after MEDIA_TIME_BUDGET_S,
and either ends the event as a ``media_over_budget`` dead letter (an allocation that fails raises MemoryError, or
makes FFmpeg answer ENOMEM or, for a thread it cannot start, EAGAIN: features/media.py). A child that dies (a
decoder crash) ends it as ``media_unreadable``.

Children are forked from a fork server that has imported the media code once (``multiprocessing``'s
"forkserver" start method), and the program's main module where children import it again, so starting one takes
milliseconds and never copies the worker's threads or sockets.
Only the work's result crosses back (pickled through a pipe): a copy signature, or a few key frames and audio.
"""

from __future__ import annotations

import multiprocessing
import resource
import signal
import sys
import traceback
import warnings
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any, TypeVar

from core.errors import MediaError
from features.media import over_memory_budget
from settings import Settings

T = TypeVar("T")


def _main_module() -> list[str]:
    """The main module's name, when each child imports it again before its work (multiprocessing does so for a
    program run as ``python -m package.module``; not for a package's ``__main__``, as the workers run): preloaded
    in the fork server, its imports are there already and a child starts in milliseconds rather than importing a
    program's libraries again (1.5 s for a benchmark's)."""
    spec = getattr(sys.modules.get("__main__"), "__spec__", None)
    name = getattr(spec, "name", None)
    return [name] if name and name != "__main__" and not name.endswith(".__main__") else []


# A child then runs the preloaded main module again as its "__mp_main__", which runpy warns may be unpredictable: it
# is not here (the module's body only defines things). Set in the fork server too, which preloads this module.
warnings.filterwarnings("ignore", message=r"'[\w.]+' found in sys.modules after import of package",
                        category=RuntimeWarning, module="runpy")
_CONTEXT = multiprocessing.get_context("forkserver")
_CONTEXT.set_forkserver_preload(["features.media_budget", "features.media", "features.copy_media",
                                 "features.local_features", *_main_module()])
MIB = 1024 * 1024


def within_budget(work: Callable[..., T], *args: Any, cfg: Settings, name: str) -> T:
    """``work(*args)`` run in a child process within MEDIA_TIME_BUDGET_S and MEDIA_MEMORY_BUDGET_MIB; its result,
    or the exception it raised. ``work`` must be a module-level function (it is pickled by name) and ``name`` is the
    media as the publisher named it, for the error's message. Blocks: call it through ``asyncio.to_thread``."""
    receiver, sender = _CONTEXT.Pipe(duplex=False)
    child = _CONTEXT.Process(target=_run_in_child, args=(sender, work, args, cfg.media_memory_budget_mib),
                             name=f"media-work {name}"[:64], daemon=True)
    try:
        child.start()
        sender.close()  # the child holds the only writer now: its death ends the pipe
        if not receiver.poll(cfg.media_time_budget_s):
            raise MediaError(f"{name!r} took more than MEDIA_TIME_BUDGET_S={cfg.media_time_budget_s:g} s to "
                             "decode", kind="media_over_budget")
        try:
            succeeded, value = receiver.recv()
        except EOFError:
            child.join(5)
            raise MediaError(f"cannot decode {name!r}: the decoding process died ({_ending(child.exitcode)}: a "
                             "decoder crash, or an allocation past MEDIA_MEMORY_BUDGET_MIB="
                             f"{cfg.media_memory_budget_mib} MiB left unchecked)", kind="media_unreadable") from None
    finally:
        if child.is_alive():
            child.kill()
        child.join()
        receiver.close()
        sender.close()
    if succeeded:
        return value
    if isinstance(value, MemoryError):
        raise over_memory_budget(name, cfg) from None
    raise value


def _run_in_child(sender: Connection, work: Callable[..., Any], args: tuple[Any, ...], memory_mib: int) -> None:
    """The child's whole life: cap its memory, do the work, send (True, result) or (False, exception)."""
    limit = memory_mib * MIB
    resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))
    try:
        answer: tuple[bool, Any] = (True, work(*args))
    except BaseException as exc:  # noqa: BLE001 - every failure goes back to the worker, which decides
        answer = (False, exc)
    try:
        sender.send(answer)
    except MemoryError:  # the result itself did not fit the budget
        sender.send((False, MemoryError()))
    except Exception:  # noqa: BLE001 - an exception that cannot be pickled goes back as its text
        sender.send((False, RuntimeError("".join(traceback.format_exception(answer[1])))))
    sender.close()


def _ending(exit_code: int | None) -> str:
    if exit_code is not None and exit_code < 0:
        return signal.Signals(-exit_code).name
    return f"exit code {exit_code}"

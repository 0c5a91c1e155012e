"""Building the benchmark corpora's files once: what exists is kept (delete a file to rebuild it), the rest is made
in order (parts before what is cut from them), with a progress bar."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from telemetry.progress import track


def build_missing(jobs: list[tuple[Path, Callable[[], object]]], corpus: str) -> None:
    """Run each job's maker whose target file does not exist yet, in order."""
    missing = [(target, make) for target, make in jobs if not target.exists()]
    print(f"{corpus}: {len(jobs) - len(missing)} of {len(jobs)} files exist, building {len(missing)}", flush=True)
    for target, make in track(missing, len(missing), f"{corpus}: built", "files"):
        target.parent.mkdir(parents=True, exist_ok=True)
        make()

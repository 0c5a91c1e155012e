"""Progress of long work (reindex, benchmarks, corpus builds, soak, demo): a tqdm bar on a terminal, and where
the output is not one (a log file, CI) a plain line every PLAIN_EVERY_S seconds and at the end, in tqdm's words
("replayed: 40/120 [00:12<00:24, 3.3 videos/s]")."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TextIO, TypeVar

from tqdm import tqdm

T = TypeVar("T")
PLAIN_EVERY_S = 10.0


class PlainProgress:
    """tqdm's ``update``/``n``/``close``, written as whole lines instead of a bar redrawn in place (``file`` None:
    counted only)."""

    def __init__(self, total: int | None, desc: str, unit: str, file: TextIO | None) -> None:
        self.total, self.desc, self.unit, self.file = total, desc, unit, file
        self.n = 0
        self.started = self.last = time.monotonic()
        self.closed = False

    def update(self, n: int = 1) -> None:
        self.n += n
        if time.monotonic() - self.last >= PLAIN_EVERY_S:
            self._line()

    def close(self) -> None:
        if not self.closed:
            self._line()
            self.closed = True

    def _line(self) -> None:
        self.last = time.monotonic()
        if self.file is None:
            return
        meter = tqdm.format_meter(self.n, self.total, self.last - self.started, unit=self.unit, prefix=self.desc,
                                  ascii=True)
        print(meter, file=self.file, flush=True)


@contextmanager
def progress(total: int | None, desc: str, unit: str = "it", file: TextIO | None = None,
             disable: bool = False) -> Iterator[tqdm | PlainProgress]:
    """A progress counter for ``total`` items (``update(n)``, ``n``): a bar on a terminal, plain lines otherwise
    (``disable``: counts, shows nothing)."""
    file = file or sys.stderr
    if file.isatty() and not disable:
        bar = tqdm(total=total, desc=desc, unit=unit, file=file, dynamic_ncols=True)
    else:
        bar = PlainProgress(total, desc, unit, None if disable else file)
    try:
        yield bar
    finally:
        bar.close()


def track(items: Iterable[T], total: int | None, desc: str, unit: str = "it") -> Iterator[T]:
    """``items``, counted on a ``progress`` counter as they are taken."""
    with progress(total, desc, unit) as bar:
        for item in items:
            yield item
            bar.update()

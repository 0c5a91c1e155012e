"""Seconds per stage of one event, for the worker's log line."""

from __future__ import annotations

import time


class Stopwatch:
    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, stage: str) -> None:
        """Record the time since the last lap (or the start) as ``stage``."""
        now = time.perf_counter()
        self.seconds[stage] = round(now - self._last, 4)
        self._last = now

    def add(self, seconds: dict[str, float]) -> None:
        """Record stages timed elsewhere (in another thread, or overlapping), and start the next lap now."""
        self.seconds.update(seconds)
        self._last = time.perf_counter()

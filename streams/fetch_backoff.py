"""An optional pause after an empty fetch, for brokers that answer fetches at once.

Kafka holds a fetch that finds nothing new for up to ``fetch.max.wait.ms`` before it answers. The local
broker (noida-db) answers at once, so aiokafka's fetcher, inside the Faust worker, re-fetches in a tight
loop: an idle worker kept 45-85 % of a core busy, and the broker about as much. With
``EMPTY_FETCH_BACKOFF_MS`` > 0 the fetcher waits that long after an answer without records before it asks
again. The local stack's worker sets 100; the default 0 changes nothing (Kafka needs nothing).

This wraps a private method of aiokafka (pinned in requirements.txt); ``install`` raises a RuntimeError if an
aiokafka upgrade removed it.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiokafka.consumer.fetcher import Fetcher


def install(backoff_ms: float) -> None:
    """Make every aiokafka consumer in this process wait ``backoff_ms`` after an empty fetch (0: no change)."""
    if backoff_ms <= 0:
        return
    if not hasattr(Fetcher, "_proc_fetch_request"):
        raise RuntimeError("EMPTY_FETCH_BACKOFF_MS needs aiokafka's Fetcher._proc_fetch_request (aiokafka 0.14.0, "
                           "requirements.txt); set it to 0 or pin that aiokafka")
    if getattr(Fetcher._proc_fetch_request, "empty_fetch_backoff_ms", None) is not None:
        return  # installed already
    fetch = Fetcher._proc_fetch_request  # returns True when the answer held records for us

    async def fetch_then_back_off(self: Fetcher, *args: Any) -> bool:
        got_records = await fetch(self, *args)
        if not got_records:
            try:
                await asyncio.sleep(backoff_ms / 1000)
            except asyncio.CancelledError:  # closing or unassigned: aiokafka expects the task to end quietly
                return False
        return got_records

    fetch_then_back_off.empty_fetch_backoff_ms = backoff_ms  # type: ignore[attr-defined]
    fetch_then_back_off.__wrapped__ = fetch  # type: ignore[attr-defined]
    Fetcher._proc_fetch_request = fetch_then_back_off

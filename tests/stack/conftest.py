"""The real local servers (noida-db, Redis Stack, tritonserver), started once for the session's stack tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from jobs.topics import ensure_topics
from local_stack.services import SEARCH_API, SERVICES, start, stop, stop_pipeline
from settings import Settings


@pytest.fixture(scope="session")
def stack(cfg: Settings) -> Iterator[Settings]:
    """Kafka (noida-db), Redis Stack and tritonserver, started for real, with topics created."""
    try:
        for service in SERVICES:
            start(cfg, service, print)
        ensure_topics(cfg)
        yield cfg
    finally:
        stop(cfg, SEARCH_API.name, print)
        stop_pipeline(cfg, print)
        for service in reversed(SERVICES):
            stop(cfg, service.name, print)

"""A deployment of its own for tests that run the workers on odd input: topics, consumer groups, Redis indexes
and an embedded archive named ``<prefix>-...``, so nothing they publish or index meets another test's data."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from jobs.topics import ensure_topics
from settings import Settings

# The settings naming what a deployment shares through Kafka and Redis; each gets the prefix before its default.
SHARED_NAMES = ("faust_app_id", "topic_publish", "topic_verdict", "topic_enriched", "topic_dead_letter",
                "topic_cluster_centroids", "topic_enrichment_requests", "topic_archive", "redis_frame_index",
                "redis_search_index", "redis_cluster_index")


@contextmanager
def own_deployment(stack: Settings, prefix: str, **environment: str) -> Iterator[Settings]:
    """The settings of the deployment ``prefix`` (topics created), with ``environment`` on top; the process
    environment says the same meanwhile, so workers started inside take it."""
    with pytest.MonkeyPatch.context() as env:
        for name in SHARED_NAMES:
            env.setenv(name.upper(), f"{prefix}-{Settings.model_fields[name].default}")
        env.setenv("CLICKHOUSE_DSN", f"chdb://{stack.stack_dir / f'{prefix}-clickhouse'}")
        for name, value in environment.items():
            env.setenv(name, value)
        cfg = Settings.from_env()
        ensure_topics(cfg)
        yield cfg

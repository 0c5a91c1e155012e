"""A throw-away Redis Stack for a benchmark, apart from the local stack's (own port, own data folder)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager

from local_stack.services import SERVICES, start, stop
from settings import Settings

REDIS = next(s for s in SERVICES if s.name == "redis")


@contextmanager
def own_redis(cfg: Settings, port_offset: int) -> Iterator[Settings]:
    """Start an empty Redis on ``cfg.redis_port + port_offset``; yield settings pointing at it; stop and delete."""
    bench_cfg = cfg.with_redis_port(cfg.redis_port + port_offset, cfg.stack_dir / "bench" / f"redis-{port_offset}")
    shutil.rmtree(bench_cfg.stack_dir / "redis", ignore_errors=True)
    start(bench_cfg, REDIS, print)
    try:
        yield bench_cfg
    finally:
        stop(bench_cfg, REDIS.name, print)
        shutil.rmtree(bench_cfg.stack_dir / "redis", ignore_errors=True)

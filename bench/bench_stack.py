"""Throw-away servers for a benchmark, apart from the local stack's: Redis Stack, tritonserver (own ports, folders)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager

from local_stack.services import SERVICES, start, stop
from settings import Settings

REDIS = next(s for s in SERVICES if s.name == "redis")
TRITON = next(s for s in SERVICES if s.name == "triton")


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


@contextmanager
def own_triton(cfg: Settings, http_port: int, models: tuple[str, ...]) -> Iterator[Settings]:
    """Start a tritonserver serving only ``models`` (of model_repository/) on ``http_port`` (gRPC +1)."""
    bench_cfg = cfg.with_triton_port(http_port)
    repository = cfg.stack_dir / "bench" / f"triton-{http_port}" / "models"
    shutil.rmtree(repository, ignore_errors=True)
    repository.mkdir(parents=True)
    for name in models:
        (repository / name).symlink_to(cfg.triton_model_repository / name)
    bench_cfg = bench_cfg.replace(stack_dir=repository.parent, triton_model_repository=repository)
    start(bench_cfg, TRITON, print)
    try:
        yield bench_cfg
    finally:
        stop(bench_cfg, TRITON.name, print)

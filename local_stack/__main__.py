"""``python -m local_stack up|worker|search|down|status``: the embedded local stack.

up      start the broker, Redis Stack and tritonserver (health-checked), create the Kafka topics and the
        ClickHouse archive schema, start the lag exporter, then the pipeline's workers: the archiver and
        --workers N of each stage (copies, enrichment; default 1). Already running services and workers are
        left as they are.
worker  start the pipeline's workers alone (--workers N), logs in STACK_DIR/logs/<worker>.log.
search  also start the search API and page on SEARCH_PORT (log: STACK_DIR/logs/search.log).
down    stop the search API, the workers and the servers (SIGTERM, then SIGKILL after a grace period). Data stays
        in STACK_DIR.
status  one line per service and worker (with its log and its metrics URL), then each stage's consumer lag per
        partition and the age of its oldest waiting record; exit code 1 if a server is not healthy.
"""

from __future__ import annotations

import argparse
import sys

from jobs.lag import consumer_lag, lag_lines
from jobs.topics import ensure_topics
from local_stack.services import (
    LAG_EXPORTER,
    MAX_WORKERS,
    SEARCH_API,
    SERVICES,
    StackError,
    log_file,
    metrics_url,
    running_pid,
    running_workers,
    start,
    start_pipeline,
    stop,
    stop_pipeline,
    triton_model_states,
)
from settings import Settings
from storage.archive import Archive


def up(cfg: Settings, workers: int) -> None:
    for service in SERVICES:
        start(cfg, service, print)
    for model, state, reason in triton_model_states(cfg):
        if state != "READY":
            print(f"triton model {model}: {state}: {reason}")
    created = ensure_topics(cfg)
    print(f"kafka topics: created {created}" if created else "kafka topics: present")
    archive = Archive(cfg.clickhouse_dsn)
    archive.create_schema()
    archive.close()
    print(f"clickhouse archive: schema ready at {cfg.clickhouse_dsn}")
    start(cfg, LAG_EXPORTER, print)
    start_pipeline(cfg, print, workers)


def down(cfg: Settings) -> None:
    stop(cfg, SEARCH_API.name, print)
    stop_pipeline(cfg, print)
    stop(cfg, LAG_EXPORTER.name, print)
    for service in reversed(SERVICES):
        stop(cfg, service.name, print)


def status(cfg: Settings) -> bool:
    all_healthy = True
    for service in SERVICES:
        pid = running_pid(cfg, service.name)
        healthy = service.is_healthy(cfg)
        all_healthy &= healthy
        state = "healthy" if healthy else ("running, not healthy" if pid else "stopped")
        print(f"{service.name:13s} {state:22s} pid={pid or '-'} log={log_file(cfg, service.name)}")
        if service.name == "triton" and pid:
            for model, model_state, reason in triton_model_states(cfg):
                print(f"  model {model:18s} {model_state:12s} {reason}")
    exporter = running_pid(cfg, LAG_EXPORTER.name)
    print(f"{LAG_EXPORTER.name:13s} {'running' if exporter else 'stopped':22s} pid={exporter or '-'} "
          f"metrics={metrics_url(cfg, LAG_EXPORTER.name)}")
    workers = running_workers(cfg)
    for name in workers:
        print(f"{name:13s} {'running':22s} pid={running_pid(cfg, name)} log={log_file(cfg, name)} "
              f"metrics={metrics_url(cfg, name)}")
    if not workers:
        print(f"{'workers':13s} {'stopped':22s} ('python -m local_stack worker' starts them)")
    search = running_pid(cfg, SEARCH_API.name)
    print(f"{'search':13s} {'running' if search else 'stopped':22s} pid={search or '-'} "
          f"url=http://{cfg.search_host}:{cfg.search_port}/ metrics={metrics_url(cfg, SEARCH_API.name)}")
    print(f"{'archive':13s} {'embedded' if cfg.clickhouse_dsn.startswith('chdb') else 'server':22s} "
          f"dsn={cfg.clickhouse_dsn}")
    if running_pid(cfg, "kafka") is not None:
        for line in lag_lines(consumer_lag(cfg)):
            print(f"lag  {line}")
    return all_healthy


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local_stack", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["up", "worker", "search", "down", "status"])
    parser.add_argument("--workers", type=int, default=1, help="workers per stage (up, worker; default 1)")
    args = parser.parse_args(argv)
    if not 1 <= args.workers <= MAX_WORKERS:
        parser.error(f"--workers must be 1 to {MAX_WORKERS}")
    cfg = Settings.from_env()
    try:
        if args.command == "up":
            up(cfg, args.workers)
        elif args.command == "worker":
            start_pipeline(cfg, print, args.workers)
        elif args.command == "search":
            start(cfg, SEARCH_API, print)
        elif args.command == "down":
            down(cfg)
        else:
            return 0 if status(cfg) else 1
    except StackError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

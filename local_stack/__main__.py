"""``python -m local_stack up|down|status``: the embedded local stack.

up      start the broker, Redis Stack and tritonserver (health-checked), create the Kafka topics and the
        ClickHouse archive schema. Already running services are left as they are.
worker  also start a pipeline worker in the background (log: STACK_DIR/logs/worker.log).
search  also start the search API and page on SEARCH_PORT (log: STACK_DIR/logs/search.log).
down    stop the search API, the worker and the servers (SIGTERM, then SIGKILL after a grace period). Data stays in
        STACK_DIR.
status  one line per service; exit code 1 if a server is not healthy.
"""

from __future__ import annotations

import argparse
import sys

from local_stack.services import (
    SEARCH_API,
    SERVICES,
    WORKER,
    StackError,
    log_file,
    running_pid,
    start,
    stop,
    triton_model_states,
)
from settings import Settings


def up(cfg: Settings) -> None:
    from jobs.topics import ensure_topics
    from storage.archive import Archive

    for service in SERVICES:
        start(cfg, service, print)
    for model, state, reason in triton_model_states(cfg):
        if state != "READY":
            print(f"triton model {model}: {state}: {reason}")
    created = ensure_topics(cfg)
    print(f"kafka topics: created {created}" if created else "kafka topics: present")
    if running_pid(cfg, WORKER.name) is not None and cfg.clickhouse_dsn.startswith("chdb"):
        print("clickhouse archive: held open by the running worker (chdb allows one process)")
        return
    archive = Archive(cfg.clickhouse_dsn)
    archive.create_schema()
    archive.close()
    print(f"clickhouse archive: schema ready at {cfg.clickhouse_dsn}")


def down(cfg: Settings) -> None:
    for service in (SEARCH_API, WORKER, *reversed(SERVICES)):
        stop(cfg, service.name, print)


def status(cfg: Settings) -> bool:
    all_healthy = True
    for service in SERVICES:
        pid = running_pid(cfg, service.name)
        healthy = service.is_healthy(cfg)
        all_healthy &= healthy
        state = "healthy" if healthy else ("running, not healthy" if pid else "stopped")
        print(f"{service.name:8s} {state:22s} pid={pid or '-'} log={log_file(cfg, service.name)}")
        if service.name == "triton" and pid:
            for model, model_state, reason in triton_model_states(cfg):
                print(f"  model {model:18s} {model_state:12s} {reason}")
    worker = running_pid(cfg, WORKER.name)
    print(f"{'worker':8s} {'running' if worker else 'stopped':22s} pid={worker or '-'} log={log_file(cfg, 'worker')}")
    search = running_pid(cfg, SEARCH_API.name)
    print(f"{'search':8s} {'running' if search else 'stopped':22s} pid={search or '-'} "
          f"url=http://{cfg.search_host}:{cfg.search_port}/")
    print(f"{'archive':8s} {'embedded' if cfg.clickhouse_dsn.startswith('chdb') else 'server':22s} "
          f"dsn={cfg.clickhouse_dsn}")
    return all_healthy


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local_stack", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["up", "worker", "search", "down", "status"])
    args = parser.parse_args(argv)
    cfg = Settings.from_env()
    try:
        if args.command == "up":
            up(cfg)
        elif args.command == "worker":
            start(cfg, WORKER, print)
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

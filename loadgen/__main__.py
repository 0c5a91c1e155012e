"""``python -m loadgen demo`` runs the sample report; ``python -m loadgen run`` generates load.

demo  prepare the sample media, start a worker, publish originals then copies, print one line per
      video (verdict, duplicate-of, cluster, timing), the archive's row counts, then stop the worker.
run   publish --count events at --rate per second to a running pipeline (``python -m local_stack
      worker``) and print throughput and publish-to-verdict latency (median, p95, p99).
"""

from __future__ import annotations

import argparse
import sys

from settings import Settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m loadgen", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("demo", help="run the pipeline over the sample videos and print a report")
    run = commands.add_parser("run", help="publish load and measure throughput and latency")
    run.add_argument("--count", type=int, default=50, help="events to publish (default 50)")
    run.add_argument("--rate", type=float, default=2.0, help="events per second (default 2)")
    run.add_argument("--timeout", type=float, default=600, help="seconds to wait for results (default 600)")
    run.add_argument("--sample", help="publish only this sample video (e.g. live-band, 60 s); default: cycle")
    args = parser.parse_args(argv)
    cfg = Settings.from_env()
    if args.command == "demo":
        from loadgen.demo import run_demo

        return run_demo(cfg)
    if args.count < 1 or args.rate <= 0:
        parser.error("--count must be >= 1 and --rate > 0")
    from loadgen.load import run_load

    return run_load(cfg, args.count, args.rate, args.timeout, args.sample)


if __name__ == "__main__":
    sys.exit(main())

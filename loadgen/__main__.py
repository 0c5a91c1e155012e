"""``python -m loadgen demo`` runs the sample report; ``run`` generates load; ``soak`` runs a long mixed load.

demo  every capability on real media (loadgen/demo.py): copies with their matched ranges, what was said and
      shown, topic clusters and new videos joining them, a series' intro, search with moments, a dead
      letter; prints the report, writes it as STACK_DIR/demo-report.html and says where to look next.
run   publish --count events at --rate per second to a running pipeline (``python -m local_stack
      worker``) and print throughput and publish-to-verdict latency (median, p95, p99).
soak  publish --count events at --rate per second, good ones on --media (short: 2 s cuts of the samples,
      the default; or samples), a --bad-share of them bad (undecodable, wrong schema,
      missing fields, absurd metadata, forbidden or missing media, empty or truncated files) or tricky (no
      audio), wait until every event is accounted for (verdict or dead letter of the expected kind), and
      print the outcome per kind, duplicates and the worker's memory (VmRSS) over the run; exit code 1 if
      any is missing or wrong.
"""

from __future__ import annotations

import argparse
import sys

from settings import Settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m loadgen", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("demo", help="show every capability on real media and report (text and HTML)")
    run = commands.add_parser("run", help="publish load and measure throughput and latency")
    run.add_argument("--count", type=int, default=50, help="events to publish (default 50)")
    run.add_argument("--rate", type=float, default=2.0, help="events per second (default 2)")
    run.add_argument("--timeout", type=float, default=600, help="seconds to wait for results (default 600)")
    run.add_argument("--sample", help="publish only this sample video (e.g. live-band, 60 s); default: cycle")
    soak = commands.add_parser("soak", help="long mixed load of good and bad events; every event accounted for")
    soak.add_argument("--count", type=int, default=1000, help="events to publish (default 1000)")
    soak.add_argument("--rate", type=float, default=2.0, help="events per second (default 2)")
    soak.add_argument("--bad-share", type=float, default=0.1, help="share of bad or tricky events (default 0.1)")
    soak.add_argument("--timeout", type=float, default=300,
                      help="give up when no event was accounted for during this many seconds (default 300)")
    soak.add_argument("--media", choices=("short", "samples"), default="short",
                      help="good events' media: 2 s cuts of the samples (default, ~2 s of work each) or the samples")
    soak.add_argument("--memory-every", type=float, default=5.0,
                      help="seconds between samples of the worker's memory (default 5)")
    args = parser.parse_args(argv)
    cfg = Settings.from_env()
    if args.command == "demo":
        from loadgen.demo import run_demo

        return run_demo(cfg)
    if args.command == "soak":
        if args.count < 1 or args.rate <= 0 or not 0 <= args.bad_share <= 1:
            parser.error("--count must be >= 1, --rate > 0 and --bad-share within 0..1")
        from loadgen.soak import run_soak

        return 0 if run_soak(cfg, args.count, args.rate, args.bad_share, args.timeout, args.memory_every,
                               args.media).ok else 1
    if args.count < 1 or args.rate <= 0:
        parser.error("--count must be >= 1 and --rate > 0")
    from loadgen.load import run_load

    return run_load(cfg, args.count, args.rate, args.timeout, args.sample)


if __name__ == "__main__":
    sys.exit(main())

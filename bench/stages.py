"""Throughput and latency of the pipeline's stages against the single sequential worker they replaced.

``python -m bench.stages [--baseline-ref REF] [--burst N] [--seconds S] [--fractions 0.5 0.8 1.2]``

A standard mix of packaged and derived media (5-60 s; speech, on-screen text, music, and copies: the samples of
loadgen/samples.py, the live band clip with LibriVox speech, bigbuckbunny with a caption), each event under a
fresh video id, so repeats of a medium are re-uploads the copy stage must find. On this machine, in one run:

1. the sequential worker of ``--baseline-ref`` (a git worktree of that commit, an empty local stack of its own
   on ports +500): a burst of ``--burst`` events, timed until every enriched record (or dead letter) is out;
2. the stages (one copies worker, one enrichment worker, the archiver; an empty stack of their own on ports
   +600): the same burst. The burst's rate of enriched records is the enrichment capacity;
3. the stages at ``--fractions`` of that capacity, ``--seconds`` each: publish-to-verdict and publish-to-enriched
   latency (median, p95, p99), from the outputs' Kafka timestamps.

Throughput is printed as videos per minute and video-seconds per second, and the ratio stages / sequential.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

import av

from bench.figures import percentile
from jobs.topics import ensure_topics
from loadgen.kafka_io import OutputCollector, Publisher
from loadgen.load import load_event, publish_paced
from loadgen.media_kit import captioned_video, live_band_with_speech
from loadgen.samples import Sample, prepare_samples
from local_stack.services import SERVICES, start, start_pipeline, stop, stop_pipeline
from settings import REPO_ROOT, Settings

BASELINE_PORT_OFFSET, STAGES_PORT_OFFSET = 500, 600
DERIVED = ("KAFKA_BOOTSTRAP", "REDIS_URL", "TRITON_GRPC_URL", "TRITON_HTTP_URL", "TRITON_GRPC_PORT",
           "TRITON_METRICS_PORT", "CLICKHOUSE_DSN", "FAUST_DATA_DIR")
TARGET_RATIO, TARGET_VERDICT_P95_S = 2.0, 2.0


@dataclass(frozen=True)
class Run:
    label: str
    published: int
    finished: int  # with an enriched record or a dead letter
    seconds: float  # first publish to the last output
    video_seconds: float
    verdict_latencies: list[float]
    enriched_latencies: list[float]

    def line(self) -> str:
        per_minute = 60 * self.finished / self.seconds
        return (f"{self.label:34s} {self.finished}/{self.published} done in {self.seconds:6.1f} s: "
                f"{per_minute:5.1f} videos/min, {self.video_seconds / self.seconds:5.2f} video-s/s; "
                f"verdict {spread(self.verdict_latencies)}; enriched {spread(self.enriched_latencies)}")


def spread(values: list[float]) -> str:
    if not values:
        return "n/a"
    return (f"p50 {percentile(values, 0.5):.2f} s p95 {percentile(values, 0.95):.2f} s "
            f"p99 {percentile(values, 0.99):.2f} s")


def standard_mix(cfg: Settings) -> list[Sample]:
    """The samples (originals and copies) plus a speech clip and a captioned clip, 5-60 s each."""
    samples = prepare_samples(cfg.media_root)
    folder = cfg.media_root / "bench-mix"
    folder.mkdir(parents=True, exist_ok=True)
    extra = []
    for name, title, build in (("band-speech-60s.mp4", "A reading over the band", live_band_with_speech),
                               ("bunny-caption.mp4", "Picnic in the meadow", captioned_video)):
        if not (folder / name).exists():
            build(folder / name)
        extra.append(Sample(Path(name).stem, f"bench-mix/{name}", title, None, "mix", samples[0].published_at))
    return samples + extra


def durations(cfg: Settings, mix: list[Sample]) -> dict[str, float]:
    found = {}
    for sample in mix:
        with av.open(str(cfg.media_root / sample.relative_path)) as container:
            found[sample.relative_path] = container.duration / av.time_base
    return found


def measure(cfg: Settings, label: str, mix: list[Sample], count: int, rate: float | None,
            timeout_s: float) -> Run:
    """Publish ``count`` events cycling over ``mix`` (all at once when ``rate`` is None) and collect them."""
    run_id = uuid.uuid4().hex[:6]
    seconds_of = durations(cfg, mix)
    collector = OutputCollector(cfg)
    publisher = Publisher(cfg)
    sent: dict[str, float] = {}
    media: dict[str, str] = {}

    def send(i: int) -> None:
        sample = mix[i % len(mix)]
        event = load_event(sample, f"bench-{run_id}-{i:04d}")
        media[event["video_id"]] = sample.relative_path
        sent[event["video_id"]] = publisher.publish(event)

    try:
        if rate is None:
            for i in range(count):
                send(i)
            started = min(sent.values())
        else:
            started = publish_paced(count, rate, send)
        publisher.flush()
        results = collector.wait_for(set(sent), timeout_s, show_progress="processed")
    finally:
        collector.close()
    finished = {v: outputs for v, outputs in results.items() if OutputCollector.is_finished(outputs, cfg)}
    last = max((r.received_at for outputs in finished.values() for r in outputs.values()), default=started)

    def latencies(topic: str) -> list[float]:
        return [outputs[topic].received_at - sent[v] for v, outputs in results.items() if topic in outputs]

    return Run(label, count, len(finished), max(last - started, 1e-6),
               sum(seconds_of[media[v]] for v in finished), latencies(cfg.topic_verdict),
               latencies(cfg.topic_enriched))


def baseline_run(cfg: Settings, ref: str, mix: list[Sample], burst: int, timeout_s: float) -> Run:
    """The burst through the sequential worker of commit ``ref``, on a local stack of its own."""
    source = cfg.stack_dir / "bench" / "baseline-src"
    if source.exists():
        subprocess.run(["git", "worktree", "remove", "--force", str(source)], cwd=REPO_ROOT, check=False)
    subprocess.run(["git", "worktree", "add", "--detach", str(source), ref], cwd=REPO_ROOT, check=True,
                   capture_output=True)
    ports = {name: str(getattr(cfg, name.lower()) + BASELINE_PORT_OFFSET)
             for name in ("KAFKA_PORT", "REDIS_PORT", "TRITON_HTTP_PORT")}
    stack_dir = cfg.stack_dir / "bench" / "baseline-stack"
    shutil.rmtree(stack_dir, ignore_errors=True)
    environment = {key: value for key, value in os.environ.items() if key not in DERIVED}
    environment.update(ports, STACK_DIR=str(stack_dir), MEDIA_ROOT=str(cfg.media_root), PYTHONPATH=str(source))
    local_stack = [sys.executable, "-m", "local_stack"]
    base_cfg = cfg.replace(kafka_bootstrap=f"127.0.0.1:{ports['KAFKA_PORT']}")
    try:
        for command in ("up", "worker"):
            subprocess.run([*local_stack, command], cwd=source, env=environment, check=True)
        return measure(base_cfg, f"sequential worker ({ref[:10]})", mix, burst, None, timeout_s)
    finally:
        subprocess.run([*local_stack, "down"], cwd=source, env=environment, check=False)
        subprocess.run(["git", "worktree", "remove", "--force", str(source)], cwd=REPO_ROOT, check=False)


def own_stack(cfg: Settings, offset: int, name: str) -> Settings:
    """Settings (and this process's environment, which the workers inherit) for an empty stack of its own under
    STACK_DIR/bench/``name``, on ports +``offset``, reading the media where ``cfg`` has them: earlier videos in an
    index would change what the measured ones are judged copies of."""
    stack_dir = cfg.stack_dir / "bench" / name
    shutil.rmtree(stack_dir, ignore_errors=True)
    for variable in DERIVED:
        os.environ.pop(variable, None)
    os.environ.update(STACK_DIR=str(stack_dir), MEDIA_ROOT=str(cfg.media_root),
                      KAFKA_PORT=str(cfg.kafka_port + offset), REDIS_PORT=str(cfg.redis_port + offset),
                      TRITON_HTTP_PORT=str(cfg.triton_http_port + offset))
    return Settings.from_env()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--baseline-ref", help="commit of the sequential worker to compare with (skipped if absent)")
    parser.add_argument("--burst", type=int, default=22, help="events of the throughput burst (default 22)")
    parser.add_argument("--seconds", type=float, default=180, help="publishing time per load level (default 180)")
    parser.add_argument("--fractions", type=float, nargs="*", default=[0.5, 0.8, 1.2],
                        help="load levels, as shares of the measured enrichment capacity")
    parser.add_argument("--timeout", type=float, default=1800, help="longest wait for a run's outputs")
    args = parser.parse_args()
    cfg = Settings.from_env()
    mix = standard_mix(cfg)
    seconds = durations(cfg, mix)
    print(f"mix: {len(mix)} media, {min(seconds.values()):.0f}-{max(seconds.values()):.0f} s, "
          f"{sum(seconds.values()) / len(mix):.1f} s on average")
    runs = []
    if args.baseline_ref:
        runs.append(baseline_run(cfg, args.baseline_ref, mix, args.burst, args.timeout))
        print(runs[-1].line(), flush=True)
    cfg = own_stack(cfg, STAGES_PORT_OFFSET, "stages-stack")
    for service in SERVICES:
        start(cfg, service, print)
    ensure_topics(cfg)
    start_pipeline(cfg, print)
    try:
        burst = measure(cfg, "stages, burst", mix, args.burst, None, args.timeout)
        print(burst.line(), flush=True)
        capacity = burst.finished / burst.seconds  # videos/s the enrichment stage sustains
        for fraction in args.fractions:
            rate = fraction * capacity
            run = measure(cfg, f"stages at {fraction:.0%} ({60 * rate:.1f}/min)", mix,
                          max(3, round(rate * args.seconds)), rate, args.timeout)
            print(run.line(), flush=True)
            runs.append(run)
    finally:
        stop_pipeline(cfg, print)
        for service in reversed(SERVICES):
            stop(cfg, service.name, print)
    if args.baseline_ref:
        ratio = (burst.finished / burst.seconds) / (runs[0].finished / runs[0].seconds)
        print(f"throughput stages / sequential: {ratio:.2f}x (target >= {TARGET_RATIO:.0f}x)")
    for run in runs:
        if run.label.startswith("stages at"):
            p95 = percentile(run.verdict_latencies, 0.95) if run.verdict_latencies else float("nan")
            print(f"{run.label}: verdict p95 {p95:.2f} s (target <= {TARGET_VERDICT_P95_S:.0f} s)")


if __name__ == "__main__":
    main()

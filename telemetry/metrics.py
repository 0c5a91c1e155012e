"""The Prometheus metrics this project's processes export (README, "Metrics"), declared once.

Every long-running process serves its metrics on ``METRICS_HOST:METRICS_PORT/metrics`` (``serve``): the stage
workers (these, and Faust's own monitor as ``faust_*``), the archiver, the search API (``http_*``, from
prometheus-fastapi-instrumentator) and the lag exporter (``jobs/lag.py``). A metric that a process never touches
is still listed by it, at zero; Prometheus tells the processes apart by their ``job`` and ``instance`` labels.
"""

from __future__ import annotations

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram, start_http_server

# Latencies from milliseconds (a Triton text request) to minutes (an enriched record behind a backlog).
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600)

EVENTS = Counter("vu_events_processed", "Events a stage finished, by outcome: the verdict kind (copies) or "
                 "enriched (enrichment); those dead-lettered are counted in vu_dead_letters", ["stage", "outcome"])
DEAD_LETTERS = Counter("vu_dead_letters", "Records sent to the dead-letter topic, by the topic they came from and "
                       "the error kind", ["source_topic", "kind"])
OUTAGE_WAITS = Counter("vu_outage_waits", "Times an event was held (offset not committed) because a service was "
                       "down or overloaded, by the topic it came from and the error", ["source_topic", "cause"])
STEP_SECONDS = Histogram("vu_stage_step_seconds", "Time of each step of a stage for one video (decode, signature, "
                         "models, ...)", ["stage", "step"], buckets=LATENCY_BUCKETS)
PUBLISH_TO_VERDICT = Histogram("vu_publish_to_verdict_seconds", "From the publish-video record reaching Kafka to "
                               "its verdict sent", buckets=LATENCY_BUCKETS)
PUBLISH_TO_ENRICHED = Histogram("vu_publish_to_enriched_seconds", "From the publish-video record reaching Kafka to "
                                "its enriched record sent", buckets=LATENCY_BUCKETS)
TRITON_SECONDS = Histogram("vu_triton_request_seconds", "One Triton inference request, answered or not, by model",
                           ["model"], buckets=LATENCY_BUCKETS)
TRITON_ERRORS = Counter("vu_triton_errors", "Triton requests that failed, by model and gRPC status (each retry "
                        "counts)", ["model", "status"])
INDEX_DOCUMENTS = Gauge("vu_index_documents", "Documents in a Redis index of the generation in use", ["index"])
ARCHIVE_BATCH_RECORDS = Histogram("vu_archive_batch_records", "Records in one batch the archiver wrote",
                                  buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000))
ARCHIVE_WRITE_SECONDS = Histogram("vu_archive_write_seconds", "Time to write one batch to ClickHouse",
                                  buckets=LATENCY_BUCKETS)
ARCHIVED_ROWS = Counter("vu_archived_records", "Records the archiver wrote (replayed ones already there are not), "
                        "by table", ["table"])


def serve(host: str, port: int, registry: CollectorRegistry = REGISTRY) -> None:
    """Serve ``registry`` on ``host:port/metrics`` from a daemon thread (port 0: no endpoint). A port in use stops
    the process with a message naming it: a process whose metrics nobody can read is misconfigured."""
    if not port:
        return
    try:
        start_http_server(port, addr=host, registry=registry)
    except OSError as exc:
        raise RuntimeError(f"cannot serve metrics on {host}:{port} ({exc}): set METRICS_PORT to a free port, "
                           "or 0 for none") from exc


def observe_steps(stage: str, seconds: dict[str, float]) -> None:
    """One video's step times (a stage's stopwatch) into ``vu_stage_step_seconds``."""
    for step, value in seconds.items():
        STEP_SECONDS.labels(stage, step).observe(value)

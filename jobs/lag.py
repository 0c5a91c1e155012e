"""Consumer lag of the stages: per consumer group and partition, how many records wait to be processed and how
old the oldest of them is.

``python -m jobs.lag`` prints it; ``python -m local_stack status`` shows it too; ``python -m jobs.lag --serve``
is the lag exporter: it serves ``vu_consumer_lag`` and ``vu_consumer_oldest_unprocessed_age_seconds`` on
METRICS_HOST:METRICS_PORT, measured afresh at each scrape. The lag of a partition is its end offset minus the
group's committed offset (or minus its first offset, when the group has committed nothing yet); the age is now
minus the Kafka timestamp of the record at that offset.
"""

from __future__ import annotations

import argparse
import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

from confluent_kafka import Consumer, ConsumerGroupTopicPartitions, TopicPartition
from confluent_kafka.admin import AdminClient
from prometheus_client.core import REGISTRY, GaugeMetricFamily
from prometheus_client.registry import Collector

from settings import Settings
from telemetry import metrics
from telemetry.logs import configure as configure_logging

log = logging.getLogger(__name__)
OLDEST_READ_TIMEOUT_S = 5.0
LAG_METRICS = ("vu_consumer_lag", "vu_consumer_oldest_unprocessed_age_seconds")


@dataclass(frozen=True)
class PartitionLag:
    group: str
    topic: str
    partition: int
    committed: int | None  # None: nothing committed yet
    start: int  # the partition's first offset still kept
    end: int
    oldest_age_s: float | None = None  # of the oldest record waiting; None when none waits (or unread)

    @property
    def lag(self) -> int:
        return self.end - max(self.committed or 0, self.start)


def stage_groups(cfg: Settings) -> dict[str, tuple[str, ...]]:
    """Each stage's consumer group and the topics it consumes."""
    return {f"{cfg.faust_app_id}-copies": (cfg.topic_publish,),
            f"{cfg.faust_app_id}-enrichment": (cfg.topic_enrichment_requests,),
            f"{cfg.faust_app_id}-archiver": (cfg.topic_archive, cfg.topic_enriched)}


def _oldest_timestamps(reader: Consumer, waiting: list[TopicPartition]) -> dict[tuple[str, int], float]:
    """The Kafka timestamp (s) of the record at each of ``waiting``'s offsets, read within a few seconds."""
    found: dict[tuple[str, int], float] = {}
    if not waiting:
        return found
    reader.assign(waiting)
    deadline = time.monotonic() + OLDEST_READ_TIMEOUT_S
    try:
        while len(found) < len(waiting) and time.monotonic() < deadline:
            for message in reader.consume(num_messages=len(waiting), timeout=0.5):
                where = (message.topic(), message.partition())
                if message.error() is None and where not in found:
                    found[where] = message.timestamp()[1] / 1000.0
                    reader.pause([TopicPartition(*where)])
    finally:
        reader.unassign()
    return found


def consumer_lag(cfg: Settings) -> list[PartitionLag]:
    """Every stage group's lag on every partition of the topics it consumes, with the oldest waiting record's age."""
    admin = AdminClient(cfg.kafka_client_config())
    reader = Consumer({**cfg.kafka_client_config(), "group.id": f"lag-{time.time_ns()}",
                       "enable.auto.commit": False})
    try:
        found = []
        metadata = reader.list_topics(timeout=10).topics
        for group, topics in stage_groups(cfg).items():
            partitions = [TopicPartition(topic, p) for topic in topics if topic in metadata
                          for p in sorted(metadata[topic].partitions)]
            if not partitions:
                continue
            request = ConsumerGroupTopicPartitions(group, partitions)
            committed = admin.list_consumer_group_offsets([request])[group].result(timeout=10)
            for tp in committed.topic_partitions:
                start, end = reader.get_watermark_offsets(TopicPartition(tp.topic, tp.partition), timeout=10)
                found.append(PartitionLag(group, tp.topic, tp.partition, tp.offset if tp.offset >= 0 else None,
                                          start, end))
        waiting = [TopicPartition(lag.topic, lag.partition, max(lag.committed or 0, lag.start))
                   for lag in found if lag.lag > 0]
        timestamps = _oldest_timestamps(reader, list({(tp.topic, tp.partition): tp for tp in waiting}.values()))
        now = time.time()
        return [PartitionLag(lag.group, lag.topic, lag.partition, lag.committed, lag.start, lag.end,
                             max(0.0, now - timestamps[(lag.topic, lag.partition)])
                             if lag.lag > 0 and (lag.topic, lag.partition) in timestamps else None)
                for lag in found]
    finally:
        reader.close()


def lag_lines(lags: list[PartitionLag]) -> list[str]:
    """One line per group: its total lag and the age of its oldest waiting record, then per partition."""
    lines = []
    for group in sorted({lag.group for lag in lags}):
        mine = [lag for lag in lags if lag.group == group]
        parts = "  ".join(f"{lag.topic}[{lag.partition}]={lag.lag}" for lag in mine)
        ages = [lag.oldest_age_s for lag in mine if lag.oldest_age_s is not None]
        oldest = f", oldest waiting {max(ages):.0f} s" if ages else ""
        lines.append(f"{group}: lag {sum(lag.lag for lag in mine)}{oldest}  ({parts})")
    return lines


class LagCollector(Collector):
    """The lag as Prometheus gauges, measured at each scrape (one scrape at a time)."""

    def __init__(self, cfg: Settings) -> None:
        self.cfg = cfg
        self.lock = threading.Lock()

    def collect(self) -> Iterator[GaugeMetricFamily]:
        labels = ["group", "topic", "partition"]
        lag = GaugeMetricFamily(LAG_METRICS[0], "Records of a topic partition a stage's group has not processed "
                                "(end offset minus committed offset)", labels=labels)
        age = GaugeMetricFamily(LAG_METRICS[1], "Age of the oldest record a stage's "
                                "group has not processed, by its Kafka timestamp (0 when none waits)", labels=labels)
        with self.lock:
            for found in consumer_lag(self.cfg):
                where = [found.group, found.topic, str(found.partition)]
                lag.add_metric(where, found.lag)
                age.add_metric(where, found.oldest_age_s or 0.0)
        yield lag
        yield age

    def describe(self) -> Iterator[GaugeMetricFamily]:
        return iter(())  # nothing measured when registered


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--serve", action="store_true", help="serve the lag as Prometheus metrics on METRICS_PORT")
    cfg = Settings.from_env()
    if not parser.parse_args().serve:
        for line in lag_lines(consumer_lag(cfg)):
            print(line)
        return
    configure_logging(cfg.log_format, "lag-exporter")
    REGISTRY.register(LagCollector(cfg))
    metrics.serve(cfg.metrics_host, cfg.metrics_port)
    log.info("lag exporter ready: http://%s:%d/metrics", cfg.metrics_host, cfg.metrics_port)
    threading.Event().wait()


if __name__ == "__main__":
    main()

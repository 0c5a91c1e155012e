"""Consumer lag of the stages: per consumer group and partition, how many records wait to be processed.

``python -m jobs.lag`` prints it; ``python -m local_stack status`` shows it too. The lag of a partition is its
end offset minus the group's committed offset (everything, when the group has committed nothing yet).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from confluent_kafka import Consumer, ConsumerGroupTopicPartitions, TopicPartition
from confluent_kafka.admin import AdminClient

from settings import Settings


@dataclass(frozen=True)
class PartitionLag:
    group: str
    topic: str
    partition: int
    committed: int | None  # None: nothing committed yet
    end: int

    @property
    def lag(self) -> int:
        return self.end - (self.committed or 0)


def stage_groups(cfg: Settings) -> dict[str, tuple[str, ...]]:
    """Each stage's consumer group and the topics it consumes."""
    return {f"{cfg.faust_app_id}-copies": (cfg.topic_publish,),
            f"{cfg.faust_app_id}-enrichment": (cfg.topic_enrichment_requests,),
            f"{cfg.faust_app_id}-archiver": (cfg.topic_archive, cfg.topic_enriched)}


def consumer_lag(cfg: Settings) -> list[PartitionLag]:
    """Every stage group's lag on every partition of the topics it consumes."""
    admin = AdminClient({"bootstrap.servers": cfg.kafka_bootstrap})
    reader = Consumer({"bootstrap.servers": cfg.kafka_bootstrap, "group.id": f"lag-{time.time_ns()}",
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
                _, end = reader.get_watermark_offsets(TopicPartition(tp.topic, tp.partition), timeout=10)
                found.append(PartitionLag(group, tp.topic, tp.partition, tp.offset if tp.offset >= 0 else None, end))
        return found
    finally:
        reader.close()


def lag_lines(lags: list[PartitionLag]) -> list[str]:
    """One line per group: its total lag, then per partition."""
    lines = []
    for group in sorted({lag.group for lag in lags}):
        mine = [lag for lag in lags if lag.group == group]
        parts = "  ".join(f"{lag.topic}[{lag.partition}]={lag.lag}" for lag in mine)
        lines.append(f"{group}: lag {sum(lag.lag for lag in mine)}  ({parts})")
    return lines


if __name__ == "__main__":
    for line in lag_lines(consumer_lag(Settings.from_env())):
        print(line)

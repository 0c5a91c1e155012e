"""Create the pipeline's Kafka topics up front, so producers never auto-create them with one partition.

Besides the public topics, two internal ones carry work between the stages: ``enrichment-requests`` (copy stage
-> enrichment stage) and ``archive`` (enrichment stage -> archiver). ``cluster-centroids`` and
``person-centroids`` are compacted (the latest centroid per cluster id, tombstones retire ids) with one
partition: they are small, and one ordered log keeps a run's centroids and tombstones in order. ``archive``
carries face descriptors (biometric data) when FACES_ENABLED: it keeps records TOPIC_ARCHIVE_RETENTION_HOURS,
long enough to wait out an archiver outage, no longer.
"""

from __future__ import annotations

from confluent_kafka.admin import AdminClient, NewTopic

from settings import Settings


def topic_names(cfg: Settings) -> list[str]:
    return [cfg.topic_publish, cfg.topic_verdict, cfg.topic_enriched, cfg.topic_dead_letter,
            cfg.topic_cluster_centroids, cfg.topic_person_centroids, cfg.topic_enrichment_requests, cfg.topic_archive]


def _new_topic(cfg: Settings, name: str) -> NewTopic:
    if name in (cfg.topic_cluster_centroids, cfg.topic_person_centroids):
        return NewTopic(name, num_partitions=1, replication_factor=1, config={"cleanup.policy": "compact"})
    if name == cfg.topic_archive:
        return NewTopic(name, num_partitions=cfg.topic_partitions, replication_factor=1,
                        config={"retention.ms": str(cfg.topic_archive_retention_hours * 3_600_000)})
    return NewTopic(name, num_partitions=cfg.topic_partitions, replication_factor=1)


def ensure_topics(cfg: Settings) -> list[str]:
    """Create missing topics with ``cfg.topic_partitions`` partitions; returns the names created."""
    admin = AdminClient(cfg.kafka_client_config())
    existing = set(admin.list_topics(timeout=10).topics)
    missing = [name for name in topic_names(cfg) if name not in existing]
    if not missing:
        return []
    futures = admin.create_topics([_new_topic(cfg, name) for name in missing])
    for future in futures.values():
        future.result(timeout=30)
    return missing


if __name__ == "__main__":
    created = ensure_topics(Settings.from_env())
    print(f"created topics: {created}" if created else "all topics present")

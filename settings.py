"""All configuration, read once from environment variables.

Every variable has a default that works for the embedded local stack (``python -m local_stack up``).
docker-compose.yaml sets the same variables for the production stack; README.md lists them all.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TypeVar

REPO_ROOT = Path(__file__).resolve().parent


def _env(name: str, default: str) -> str:
    return os.environ.get(name, default)


NumberT = TypeVar("NumberT", int, float)


def _env_number(name: str, default: NumberT, kind: type[NumberT]) -> NumberT:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return kind(raw)
    except ValueError as exc:
        raise ValueError(f"environment variable {name}={raw!r} is not a valid {kind.__name__}") from exc


def _env_int(name: str, default: int) -> int:
    return _env_number(name, default, int)


def _env_float(name: str, default: float) -> float:
    return _env_number(name, default, float)


@dataclass(frozen=True)
class Settings:
    """Runtime configuration. Build with ``Settings.from_env()``."""

    # Local stack: where the embedded servers keep data, logs and pid files.
    stack_dir: Path
    kafka_port: int
    redis_port: int
    triton_http_port: int
    triton_grpc_port: int
    triton_metrics_port: int

    # Connections (the production stack points these at real clusters).
    kafka_bootstrap: str
    redis_url: str
    triton_grpc_url: str
    triton_http_url: str
    clickhouse_dsn: str

    # Kafka topics.
    topic_publish: str
    topic_verdict: str
    topic_enriched: str
    topic_dead_letter: str
    topic_cluster_centroids: str
    topic_partitions: int

    # Faust worker.
    faust_app_id: str
    faust_data_dir: Path
    worker_instance_id: str | None
    empty_fetch_backoff_ms: float

    # Media.
    media_root: Path
    frames_per_second: float
    audio_sample_rate: int
    frame_max_side: int
    max_media_bytes: int
    max_video_seconds: float
    scene_change_threshold: float
    key_frames_max: int
    key_frame_min_hamming: int

    # Inference (client side) and the models in model_repository/ (server side).
    triton_timeout_s: float
    triton_retries: int
    outage_retry_max_s: float
    triton_model_repository: Path
    model_cpu_threads: int
    asr_model_dir: str
    asr_beam_size: int
    ocr_min_confidence: float
    clip_model: str
    clip_weights: str

    # Duplicate detection.
    redis_frame_index: str
    pdq_min_quality: int
    index_frames_max: int
    index_frame_min_change: int
    query_frames_max: int
    knn_ef_runtime: int
    pdq_candidate_hamming: int
    candidates_max: int
    pdq_align_hamming: int
    segment_max_gap_s: float
    duplicate_min_coverage: float
    partial_copy_min_coverage: float
    partial_copy_min_seconds: float
    in_flight_wait_s: float
    in_flight_ttl_s: float

    # Series: recurring segments (intro, credits) found by aligning episodes of one series.
    series_episodes_compared: int
    recurring_min_seconds: float
    series_lock_timeout_s: float

    # Topic clusters: incremental assignment in Redis, re-clustering (hdbscan) from the archive.
    redis_cluster_index: str
    keywords_max: int
    cluster_min_size: int
    cluster_min_samples: int
    cluster_reduced_dims: int
    cluster_match_min_jaccard: float
    cluster_max_radius: float

    # Free-text search: the chunk index in Redis and the HTTP API.
    redis_search_index: str
    search_candidates: int
    search_ef_runtime: int
    search_min_similarity: float
    search_host: str
    search_port: int
    search_max_query_chars: int
    search_max_page_size: int
    search_max_concurrent: int

    def with_triton_port(self, http_port: int) -> Settings:
        """The same settings for a tritonserver on ``http_port`` (gRPC +1, metrics +2) on this machine."""
        return replace(self, triton_http_port=http_port, triton_grpc_port=http_port + 1,
                       triton_metrics_port=http_port + 2, triton_http_url=f"127.0.0.1:{http_port}",
                       triton_grpc_url=f"127.0.0.1:{http_port + 1}")

    def with_redis_port(self, port: int, stack_dir: Path) -> Settings:
        """The same settings for a separate Redis on ``port`` keeping its data under ``stack_dir``."""
        return replace(self, redis_port=port, redis_url=f"redis://127.0.0.1:{port}/0", stack_dir=stack_dir)

    @classmethod
    def from_env(cls) -> Settings:
        stack_dir = Path(_env("STACK_DIR", str(REPO_ROOT / ".stack"))).resolve()
        kafka_port = _env_int("KAFKA_PORT", 19092)
        redis_port = _env_int("REDIS_PORT", 16379)
        triton_http_port = _env_int("TRITON_HTTP_PORT", 18000)
        triton_grpc_port = _env_int("TRITON_GRPC_PORT", triton_http_port + 1)
        triton_metrics_port = _env_int("TRITON_METRICS_PORT", triton_http_port + 2)
        return cls(
            stack_dir=stack_dir,
            kafka_port=kafka_port,
            redis_port=redis_port,
            triton_http_port=triton_http_port,
            triton_grpc_port=triton_grpc_port,
            triton_metrics_port=triton_metrics_port,
            kafka_bootstrap=_env("KAFKA_BOOTSTRAP", f"127.0.0.1:{kafka_port}"),
            redis_url=_env("REDIS_URL", f"redis://127.0.0.1:{redis_port}/0"),
            triton_grpc_url=_env("TRITON_GRPC_URL", f"127.0.0.1:{triton_grpc_port}"),
            triton_http_url=_env("TRITON_HTTP_URL", f"127.0.0.1:{triton_http_port}"),
            clickhouse_dsn=_env("CLICKHOUSE_DSN", f"chdb://{stack_dir / 'clickhouse'}"),
            topic_publish=_env("TOPIC_PUBLISH", "publish-video"),
            topic_verdict=_env("TOPIC_VERDICT", "verdict"),
            topic_enriched=_env("TOPIC_ENRICHED", "enriched"),
            topic_dead_letter=_env("TOPIC_DEAD_LETTER", "dead-letter"),
            topic_cluster_centroids=_env("TOPIC_CLUSTER_CENTROIDS", "cluster-centroids"),
            topic_partitions=_env_int("TOPIC_PARTITIONS", 4),
            faust_app_id=_env("FAUST_APP_ID", "video-understanding"),
            faust_data_dir=Path(_env("FAUST_DATA_DIR", str(stack_dir / "faust"))).resolve(),
            worker_instance_id=_env("WORKER_INSTANCE_ID", "") or None,
            empty_fetch_backoff_ms=_env_float("EMPTY_FETCH_BACKOFF_MS", 0.0),
            media_root=Path(_env("MEDIA_ROOT", str(stack_dir / "media"))).resolve(),
            frames_per_second=_env_float("FRAMES_PER_SECOND", 1.0),
            audio_sample_rate=_env_int("AUDIO_SAMPLE_RATE", 16000),
            frame_max_side=_env_int("FRAME_MAX_SIDE", 960),
            max_media_bytes=_env_int("MAX_MEDIA_BYTES", 512 * 1024 * 1024),
            max_video_seconds=_env_float("MAX_VIDEO_SECONDS", 600.0),
            scene_change_threshold=_env_float("SCENE_CHANGE_THRESHOLD", 0.15),
            key_frames_max=_env_int("KEY_FRAMES_MAX", 8),
            key_frame_min_hamming=_env_int("KEY_FRAME_MIN_HAMMING", 40),
            triton_timeout_s=_env_float("TRITON_TIMEOUT_S", 30.0),
            triton_retries=_env_int("TRITON_RETRIES", 3),
            outage_retry_max_s=_env_float("OUTAGE_RETRY_MAX_S", 30.0),
            triton_model_repository=Path(_env("TRITON_MODEL_REPOSITORY", str(REPO_ROOT / "model_repository"))),
            model_cpu_threads=_env_int("MODEL_CPU_THREADS", 1),
            asr_model_dir=_env("ASR_MODEL_DIR", ""),
            asr_beam_size=_env_int("ASR_BEAM_SIZE", 1),
            ocr_min_confidence=_env_float("OCR_MIN_CONFIDENCE", 0.6),
            clip_model=_env("CLIP_MODEL", "ViT-B-32"),
            clip_weights=_env("CLIP_WEIGHTS", ""),
            redis_frame_index=_env("REDIS_FRAME_INDEX", "frames"),
            pdq_min_quality=_env_int("PDQ_MIN_QUALITY", 50),
            index_frames_max=_env_int("INDEX_FRAMES_MAX", 12),
            index_frame_min_change=_env_int("INDEX_FRAME_MIN_CHANGE", 32),
            query_frames_max=_env_int("QUERY_FRAMES_MAX", 4),
            knn_ef_runtime=_env_int("KNN_EF_RUNTIME", 100),
            pdq_candidate_hamming=_env_int("PDQ_CANDIDATE_HAMMING", 64),
            candidates_max=_env_int("CANDIDATES_MAX", 10),
            pdq_align_hamming=_env_int("PDQ_ALIGN_HAMMING", 48),
            segment_max_gap_s=_env_float("SEGMENT_MAX_GAP_S", 3.0),
            duplicate_min_coverage=_env_float("DUPLICATE_MIN_COVERAGE", 0.8),
            partial_copy_min_coverage=_env_float("PARTIAL_COPY_MIN_COVERAGE", 0.5),
            partial_copy_min_seconds=_env_float("PARTIAL_COPY_MIN_SECONDS", 3.0),
            in_flight_wait_s=_env_float("IN_FLIGHT_WAIT_S", 30.0),
            in_flight_ttl_s=_env_float("IN_FLIGHT_TTL_S", 120.0),
            series_episodes_compared=_env_int("SERIES_EPISODES_COMPARED", 4),
            recurring_min_seconds=_env_float("RECURRING_MIN_SECONDS", 3.0),
            series_lock_timeout_s=_env_float("SERIES_LOCK_TIMEOUT_S", 60.0),
            redis_cluster_index=_env("REDIS_CLUSTER_INDEX", "clusters"),
            keywords_max=_env_int("KEYWORDS_MAX", 8),
            cluster_min_size=_env_int("CLUSTER_MIN_SIZE", 5),
            cluster_min_samples=_env_int("CLUSTER_MIN_SAMPLES", 2),
            cluster_reduced_dims=_env_int("CLUSTER_REDUCED_DIMS", 16),
            cluster_match_min_jaccard=_env_float("CLUSTER_MATCH_MIN_JACCARD", 0.3),
            cluster_max_radius=_env_float("CLUSTER_MAX_RADIUS", 0.5),
            redis_search_index=_env("REDIS_SEARCH_INDEX", "search"),
            search_candidates=_env_int("SEARCH_CANDIDATES", 100),
            search_ef_runtime=_env_int("SEARCH_EF_RUNTIME", 100),
            search_min_similarity=_env_float("SEARCH_MIN_SIMILARITY", 0.3),
            search_host=_env("SEARCH_HOST", "127.0.0.1"),
            search_port=_env_int("SEARCH_PORT", 18080),
            search_max_query_chars=_env_int("SEARCH_MAX_QUERY_CHARS", 200),
            search_max_page_size=_env_int("SEARCH_MAX_PAGE_SIZE", 50),
            search_max_concurrent=_env_int("SEARCH_MAX_CONCURRENT", 32),
        )

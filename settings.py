"""All configuration of the worker, the jobs, the search API and the local stack, read from the environment.

Each setting is declared once below, with its type, default and description; its environment variable is its
name in upper case (``KAFKA_PORT`` for ``kafka_port``; an empty value counts as unset). The defaults work for the
embedded local stack (``python -m local_stack up``); docker-compose.yaml sets the same variables for the
production stack. ``python -m settings`` prints the table that README.md shows (a test keeps them equal).
The Triton models' own knobs are in their config.pbtxt files (model_repository/).
"""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent


# The settings whose default is derived from others when unset (Settings._derived_defaults).
DERIVED = frozenset({"triton_grpc_port", "triton_metrics_port", "faust_data_dir", "media_root", "kafka_bootstrap",
                     "redis_url", "redis_password", "triton_grpc_url", "triton_http_url", "triton_api_key",
                     "clickhouse_dsn"})


class Settings(BaseSettings):
    """Runtime configuration. Build with ``Settings.from_env()``; derive changed copies with ``replace``."""

    model_config = SettingsConfigDict(frozen=True, env_ignore_empty=True, extra="ignore")

    # Local stack: where the embedded servers keep data, logs and pid files, and their ports.
    stack_dir: Path = Field(REPO_ROOT / ".stack", description="local stack data, logs, pids")
    kafka_port: int = Field(19092, description="local Kafka-protocol broker port")
    redis_port: int = Field(16379, description="local Redis port")
    triton_http_port: int = Field(18000, description="local Triton HTTP port")
    triton_grpc_port: int | None = Field(None, description="local Triton gRPC port (default: TRITON_HTTP_PORT + 1)")
    triton_metrics_port: int | None = Field(
        None, description="local Triton metrics port (default: TRITON_HTTP_PORT + 2)")

    # Connections (the production stack points these at real clusters).
    kafka_bootstrap: str = Field("", description="comma-separated host:port list (default: 127.0.0.1:KAFKA_PORT)")
    redis_url: str = Field("", description="default: redis://:REDIS_PASSWORD@127.0.0.1:REDIS_PORT/0. A URL given "
                           "here carries its own credentials: redis://:PASSWORD@host:6379/0, or "
                           "redis://USER:PASSWORD@... for an ACL user")
    redis_password: str | None = Field(
        None, description="the password the local Redis requires and the default REDIS_URL carries (default, unless "
        "REDIS_URL is given: a random one made on first use and kept in STACK_DIR/secrets/redis-password, readable by "
        "its owner only); the local Redis listens on 127.0.0.1 only and never starts without one")
    kafka_sasl_username: str | None = Field(
        None, description="with it, every Kafka client (Faust, confluent-kafka, aiokafka) authenticates with SASL over "
        "SASL_PLAINTEXT (the production broker requires it; the local one listens on 127.0.0.1 without)")
    kafka_sasl_password: str | None = Field(None, description="the password of KAFKA_SASL_USERNAME")
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] = Field(
        "PLAIN", description="the SASL mechanism the broker offers")
    triton_grpc_url: str = Field("", description="default: 127.0.0.1:TRITON_GRPC_PORT")
    triton_http_url: str = Field("", description="default: 127.0.0.1:TRITON_HTTP_PORT")
    triton_api_key: str | None = Field(
        None, description="the key (header triton-api-key) Triton's model-repository, logging, trace and shared-memory "
        "APIs require; the workers and the search API send it to read the repository index (default, unless "
        "TRITON_GRPC_URL or TRITON_HTTP_URL is given: a random one made on first use and kept in "
        "STACK_DIR/secrets/triton-api-key, readable by its owner only). URL-safe characters")
    clickhouse_dsn: str = Field("", description="default: chdb://STACK_DIR/clickhouse (embedded); "
                                "http://host:8123 for a server")

    # Kafka topics.
    topic_publish: str = Field("publish-video", description="topic of published videos")
    topic_verdict: str = Field("verdict", description="topic of duplicate verdicts")
    topic_enriched: str = Field("enriched", description="topic of enriched records")
    topic_dead_letter: str = Field("dead-letter", description="topic of events that could not be processed")
    topic_cluster_centroids: str = Field("cluster-centroids", description="compacted topic of cluster centroids")
    topic_person_centroids: str = Field(
        "person-centroids", description="compacted topic of person-cluster centroids (only with FACES_ENABLED)")
    topic_enrichment_requests: str = Field(
        "enrichment-requests", description="internal topic: videos the copy stage judged, for the enrichment stage")
    topic_archive: str = Field("archive", description="internal topic: archive records, for the archiver")
    topic_archive_retention_hours: int = Field(
        168, description="how long the archive topic keeps records (face descriptors among them), set when the "
        "project creates it")
    topic_partitions: int = Field(4, description="partitions of the topics the project creates")

    # Stage workers (streams/): copy detection, enrichment and the archiver, each its own consumer group.
    faust_app_id: str = Field("video-understanding",
                              description="prefix of the stages' consumer groups (<id>-copies, -enrichment, -archiver)")
    copies_concurrency: int = Field(2, description="events a copy-stage worker works on at once")
    enrichment_concurrency: int = Field(2, description="videos an enrichment-stage worker works on at once")
    archive_batch_max: int = Field(500, description="records the archiver writes to ClickHouse in one insert")
    archive_batch_s: float = Field(2.0, description="longest the archiver gathers a batch before writing it")
    faust_data_dir: Path | None = Field(None, description="Faust's local state (default: STACK_DIR/faust)")
    worker_instance_id: str | None = Field(
        None, description="Kafka static group membership: a worker restarted with the same id gets its partitions "
        "back without a rebalance. Give each worker its own stable id (e.g. the StatefulSet pod name); two live "
        "workers must never share one (the local stack's workers: their names, copies-1, enrichment-1, archiver...)")
    empty_fetch_backoff_ms: float = Field(
        0.0, description="milliseconds the worker's Kafka consumer waits after a fetch that brought nothing. Kafka "
        "holds empty fetches itself (fetch.max.wait.ms), so 0 is right there; the local broker (noida-db) answers "
        "them at once, and without a pause an idle worker re-fetched in a loop at 45-85 % of a core "
        "(streams/fetch_backoff.py; the local stack's workers: 100)")

    # What operators see (telemetry/): Prometheus metrics and the log lines.
    metrics_host: str = Field("127.0.0.1", description="address the metrics endpoints listen on (0.0.0.0 in a "
                              "container, for Prometheus to scrape)")
    metrics_port: int = Field(
        19100, description="port this process serves Prometheus metrics on (/metrics; 0: none). The local stack "
        "gives each of its processes its own from this one up (python -m local_stack status lists them)")
    log_format: Literal["text", "json"] = Field(
        "text", description="log lines as text, or one JSON object a line (time, level, logger, message, stage, "
        "video_id)")

    # Media.
    media_root: Path | None = Field(None, description="media URIs must resolve inside it (default: STACK_DIR/media)")
    frames_per_second: float = Field(1.0, description="frame sampling rate")
    audio_sample_rate: int = Field(16000, description="Hz, mono")
    frame_max_side: int = Field(960, description="decoded frames are scaled so the long side is at most this")
    max_media_bytes: int = Field(512 * 1024 * 1024, description="larger files are dead-lettered (media_too_large)")
    max_video_seconds: float = Field(
        600.0, description="longer videos are dead-lettered (media_too_long): the duration the container states and "
        "the seconds of video and of audio counted while decoding, whatever the container states")
    max_frame_pixels: int = Field(
        4096 * 2160, description="videos and images whose pictures have more pixels (width x height) are "
        "dead-lettered (media_too_large): the size a stream states is checked, and FFmpeg refuses to decode a larger "
        "picture (its max_pixels), so none takes memory (DCI 4K: 4096 x 2160)")
    max_video_frames: int = Field(
        36000, description="videos with more video frames are dead-lettered (media_too_long), whatever their "
        "timestamps say (600 s at 60 fps)")
    media_time_budget_s: float = Field(
        180.0, description="decoding one file (and computing its copy signature) may take this long; then it is "
        "stopped and dead-lettered (media_over_budget). Each decode runs in a child process of its own "
        "(features/media_budget.py)")
    media_memory_budget_mib: int = Field(
        2048, description="memory one decode's child process may allocate (its RLIMIT_DATA); past it the file is "
        "dead-lettered (media_over_budget). A 600 s video's frames at FRAME_MAX_SIDE take ~1 GiB")
    scene_change_threshold: float = Field(
        0.15, description="mean grey difference (0..1) of consecutive 32x32 thumbnails that counts as a cut")
    key_frames_max: int = Field(8, description="key frames for OCR/CLIP: at most this many")
    key_frame_min_hamming: int = Field(40, description="a new key frame when PDQ moved this many bits")
    seen_min_confidence: float = Field(
        0.3, description="an ImageNet concept is reported as seen on a key frame (enriched record, search) when its "
        "probability, summed over its plain group's classes, is at least this (bench.seen_eval: wrong concepts "
        "against missed ones)")

    # Inference (the client side; the models' own knobs are in model_repository/*/config.pbtxt).
    triton_timeout_s: float = Field(
        30.0, description="longest a request waits in Triton's queue; its deadline adds its share of work "
        "(inference/triton_client.SECONDS_PER_UNIT)")
    triton_retries: int = Field(3, description="retries of a failed request, backing off from 0.2 s, doubling")
    triton_max_in_flight: int = Field(
        2, description="requests a worker has in flight per model; more wait in the worker, not in Triton's queue")
    outage_retry_max_s: float = Field(
        30.0, description="while Triton, Redis or ClickHouse is down the worker retries the event it holds, "
        "backing off from 1 s, doubling up to this; it never dead-letters for an outage")
    spoken_languages: str = Field(
        "", description="comma-separated ISO 639-1 codes of the languages speech is recognised in when an event has "
        "no language_hint: whisper chooses among these only (empty: those the text encoder serves, "
        "core/languages.ENCODER_LANGUAGES)")
    channel_language_videos: int = Field(
        20, description="a channel's latest videos whose spoken languages weigh the choice of a new video's (0: none)")
    triton_model_repository: Path = Field(REPO_ROOT / "model_repository",
                                          description="what the local tritonserver serves")
    faces_enabled: bool = Field(
        False, description="run the faces model (faces are biometric data: off unless a deployment opts in). The "
        "local stack passes it to its tritonserver; a Triton of its own needs FACES_ENABLED=true in its environment "
        "(model_repository/faces/config.pbtxt reads it). Off, the model stays UNAVAILABLE and loads no face model")

    # Duplicate detection.
    redis_frame_index: str = Field(
        "frames", description="redisvl index name, also its key prefix (frames:<video_id>:<frame>:<framing>)")
    pdq_min_quality: int = Field(50, description="PDQ quality below which a frame is not compared")
    index_frames_max: int = Field(12, description="frames per video in the KNN index")
    index_frame_min_change: int = Field(32, description="a new index frame when PDQ moved this many bits")
    query_frames_max: int = Field(
        4, description="frames looked up per video (as shown, mirrored, with bars and each tile if it has any)")
    turned_query_frames: int = Field(
        1, description="of those, frames looked up rotated, upside down and transposed when no other view verifies")
    turned_ef_runtime: int = Field(
        20, description="HNSW search breadth of those turned lookups (narrower than KNN_EF_RUNTIME: they are rare)")
    knn_ef_runtime: int = Field(
        100, description="HNSW search breadth per lookup (recall against latency, see the 1M benchmark)")
    pdq_candidate_hamming: int = Field(
        64, description="max distance (of 256 bits, as KNN vectors estimate it) making a neighbour's video a candidate")
    candidates_max: int = Field(10, description="candidate videos verified per lookup")
    pdq_align_hamming: int = Field(
        48, description="max distance for two frames to vote in the alignment (unrelated frames: ~128 +- 8)")
    segment_max_gap_s: float = Field(3.0, description="a gap longer than this between aligned frames ends a segment")
    duplicate_min_coverage: float = Field(
        0.8, description="share of both videos inside the matched segment for a duplicate")
    partial_copy_min_coverage: float = Field(
        0.5, description="a partial copy covers this share of one video, or PARTIAL_COPY_MIN_SECONDS")
    partial_copy_min_seconds: float = Field(3.0, description="a shorter segment (and share) is not a copy")
    descriptor_signal: bool = Field(
        True, description="also look for copies by ImageNet descriptors (turned, warped, inset, grid copies) where PDQ "
        "verifies none: the copy stage then needs the image_features model in Triton. Off, it neither describes nor "
        "indexes pictures (PDQ and chromaprint only)")
    descriptor_min_score: float = Field(
        0.7, description="a descriptor match with at least this score is a copy: above the 0.50 that kept precision "
        "at 0.99 on the copy benchmark (seed 1, 1,040 videos indexed), precision 1.000 there; a young index of a few "
        "dozen videos needs more (bench.copy_bench --quick: 0.90-1.75)")
    in_flight_wait_s: float = Field(30.0, description="max wait for earlier-published videos in flight")
    in_flight_ttl_s: float = Field(120.0, description="liveness of a worker's in-flight mark")

    # Series: recurring segments (intro, credits) found by aligning episodes of one series.
    series_episodes_compared: int = Field(4, description="episodes a new one is aligned with")
    recurring_min_seconds: float = Field(3.0, description="shortest recurring segment")
    series_lock_timeout_s: float = Field(60.0, description="max wait for a series' lock")

    # Topic clusters: incremental assignment in Redis, re-clustering (hdbscan) from the archive.
    redis_cluster_index: str = Field("clusters", description="Redis index of cluster centroids")
    keywords_max: int = Field(8, description="keywords per video")
    cluster_min_size: int = Field(5, description="hdbscan's smallest cluster")
    cluster_min_samples: int = Field(
        2, description="neighbours behind a point's core distance (capped at the smallest cluster)")
    cluster_reduced_dims: int = Field(16, description="PCA dimensions before hdbscan")
    cluster_fit_max: int = Field(
        20_000, description="re-clustering fits on an even sample of this many items (videos; people seen in videos) "
        "and predicts the rest (0: all); for topics and people")
    cluster_match_min_jaccard: float = Field(
        0.3, description="member overlap that keeps a cluster id across runs; for topics and people")
    # Between real topics and unrelated videos (universal-sentence-encoder-multilingual v3, 2026-12): the median
    # member of each theme lies 0.18-0.29 from its centroid (bench/cluster_eval.py, tests/stack/test_cluster_flow.py),
    # that of 5 unrelated videos 0.42-0.49 (5th-95th percentile of 200 random groups; over 0.4 in 98 % of them,
    # over 0.5 in 4 %). MiniLM's were 0.46-0.53, for which 0.5 was set.
    cluster_max_radius: float = Field(
        0.4, description="cap of a cluster's assignment radius and of its median member's distance (cosine)")

    # People across the library (with FACES_ENABLED): a person seen in a video (its mean face descriptor) is assigned
    # to the nearest person cluster in Redis, and re-clustered with topics' code (core/clustering.py), euclidean.
    redis_people_index: str = Field("people", description="Redis index of person-cluster centroids")
    redis_deleted_videos: str = Field(
        "deleted-videos", description="Redis set of deleted video ids (python -m jobs.delete_video), never "
        "enriched or archived again")
    people_min_size: int = Field(
        2, description="hdbscan's smallest person cluster, in people seen in videos (2: a person in two videos)")
    people_min_samples: int = Field(1, description="neighbours behind a face descriptor's core distance")
    people_reduced_dims: int = Field(32, description="PCA dimensions of the 128-d face descriptors before hdbscan")
    people_radius: float = Field(
        0.5, description="euclidean distance from a person cluster's centroid within which a new face descriptor "
        "joins it, and the most its median member may lie from it")

    # Free-text search: the chunk index in Redis and the HTTP API.
    redis_search_index: str = Field(
        "search", description="name of the search indexes (-chunks, -frames) and key prefix")
    search_candidates: int = Field(100, description="chunks each signal returns before fusion")
    search_ef_runtime: int = Field(100, description="HNSW search breadth of the semantic signal")
    # bench/text_encoders.py, English search-corpus queries (2026-12): 0.25 keeps 98 % of the answers and 4.4 % of
    # the other documents (0.3: 93 % and 1.9 %); MiniLM kept 95 % and 3.4 % at its 0.3.
    search_min_similarity: float = Field(
        0.25, description="semantic chunks below this cosine similarity are dropped")
    search_host: str = Field("127.0.0.1", description="address the search API listens on")
    search_port: int = Field(18080, description="port of the search API")
    search_max_query_chars: int = Field(200, description="longest query accepted")
    search_max_page_size: int = Field(50, description="largest page of hits")
    search_max_concurrent: int = Field(32, description="requests in flight; more get 429 with Retry-After")
    search_max_connections: int = Field(
        256, description="open connections past which a new one is answered 503 (JSON, with the security "
        "headers) and closed (search/server.py)")
    search_header_timeout_s: float = Field(
        10.0, description="a connection whose request line and headers are not complete this long after it opened "
        "(or after its previous answer) gets 408 and is closed (search/server.py)")
    search_keep_alive_s: int = Field(5, description="an idle keep-alive connection is closed after this many seconds")
    search_max_request_line_bytes: int = Field(8192, description="a longer request line (URL) gets 414")
    search_max_header_bytes: int = Field(65536, description="a longer request head (line and headers) gets 431")
    search_suggestions: int = Field(8, description="completions /api/suggest returns at most")
    search_suggest_min_repeats: int = Field(
        3, description="times a query must find something before it is offered to others as a completion")
    search_api_docs: bool = Field(
        False, description="serve the API's documentation (/docs: Swagger UI, loaded from a CDN) and schema "
        "(/openapi.json)")

    @field_validator("stack_dir", "faust_data_dir", "media_root")
    @classmethod
    def _absolute(cls, path: Path | None) -> Path | None:
        return None if path is None else path.resolve()

    @model_validator(mode="after")
    def _derived_defaults(self) -> Settings:
        """Fill the settings whose defaults derive from others (ports, STACK_DIR) when they were not given."""
        derived = {
            "triton_grpc_port": self.triton_http_port + 1, "triton_metrics_port": self.triton_http_port + 2,
            "faust_data_dir": self.stack_dir / "faust", "media_root": self.stack_dir / "media",
        }
        for name, value in derived.items():
            if getattr(self, name) is None:
                object.__setattr__(self, name, value)  # frozen afterwards, so once here only
        if self.redis_password is None and not self.redis_url:  # the local Redis: never without a password
            object.__setattr__(self, "redis_password", local_secret(self.stack_dir, "redis-password"))
        if self.triton_api_key is None and not self.triton_grpc_url and not self.triton_http_url:  # the local Triton
            object.__setattr__(self, "triton_api_key", local_secret(self.stack_dir, "triton-api-key"))
        addresses = {
            "kafka_bootstrap": f"127.0.0.1:{self.kafka_port}",
            "redis_url": local_redis_url(self.redis_port, self.redis_password),
            "triton_grpc_url": f"127.0.0.1:{self.triton_grpc_port}",
            "triton_http_url": f"127.0.0.1:{self.triton_http_port}",
            "clickhouse_dsn": f"chdb://{self.stack_dir / 'clickhouse'}",
        }
        for name, value in addresses.items():
            if not getattr(self, name):
                object.__setattr__(self, name, value)
        return self

    @classmethod
    def from_env(cls) -> Settings:
        return cls()

    def replace(self, **changes: Any) -> Settings:
        """A copy with ``changes`` (derived defaults are not recomputed: give what depends on a change too)."""
        return self.model_copy(update=changes)

    def kafka_client_config(self) -> dict[str, str]:
        """confluent-kafka's connection settings: the bootstrap servers and, with KAFKA_SASL_USERNAME, SASL."""
        config = {"bootstrap.servers": self.kafka_bootstrap}
        if self.kafka_sasl_username:
            config |= {"security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": self.kafka_sasl_mechanism,
                       "sasl.username": self.kafka_sasl_username, "sasl.password": self.kafka_sasl_password or ""}
        return config

    def aiokafka_config(self) -> dict[str, str]:
        """The same as aiokafka's keyword arguments (AIOKafkaConsumer, AIOKafkaProducer)."""
        config = {"bootstrap_servers": self.kafka_bootstrap}
        if self.kafka_sasl_username:
            config |= {"security_protocol": "SASL_PLAINTEXT", "sasl_mechanism": self.kafka_sasl_mechanism,
                       "sasl_plain_username": self.kafka_sasl_username,
                       "sasl_plain_password": self.kafka_sasl_password or ""}
        return config

    def with_triton_port(self, http_port: int) -> Settings:
        """The same settings for a tritonserver on ``http_port`` (gRPC +1, metrics +2) on this machine."""
        return self.replace(triton_http_port=http_port, triton_grpc_port=http_port + 1,
                            triton_metrics_port=http_port + 2, triton_http_url=f"127.0.0.1:{http_port}",
                            triton_grpc_url=f"127.0.0.1:{http_port + 1}")

    def with_redis_port(self, port: int, stack_dir: Path) -> Settings:
        """The same settings for a separate Redis on ``port`` keeping its data under ``stack_dir``."""
        return self.replace(redis_port=port, redis_url=local_redis_url(port, self.redis_password), stack_dir=stack_dir)


def local_secret(stack_dir: Path, name: str) -> str:
    """The secret ``name`` of the local stack under ``stack_dir``: read from ``STACK_DIR/secrets/<name>``, or made
    (random, URL-safe) on first use and kept there, readable by its owner only (mode 0600, the folder 0700)."""
    folder = stack_dir / "secrets"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = folder / name
    if not path.exists():
        draft = folder / f".{name}.{secrets.token_hex(8)}"
        descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as out:
            out.write(secrets.token_urlsafe(32))
        try:
            os.link(draft, path)  # whole or not at all; a process that made one first wins
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return path.read_text().strip()


def local_redis_url(port: int, password: str | None) -> str:
    """The URL of a local Redis on ``port`` (the password %-quoted, so any character goes)."""
    credentials = f":{quote(password, safe='')}@" if password else ""
    return f"redis://{credentials}127.0.0.1:{port}/0"


def markdown_table() -> str:
    """Every setting as a row of README.md's configuration table: variable, default, description."""
    rows = ["| variable | default | what |", "|---|---|---|"]
    for name, field in Settings.model_fields.items():
        default = field.default
        if isinstance(default, Path):
            default = f"./{default.relative_to(REPO_ROOT)}"
        if default is None or default == "":
            shown = "(derived)" if name in DERIVED else "(none)"
        else:
            shown = f"`{default}`"
        rows.append(f"| `{name.upper()}` | {shown} | {field.description} |")
    return "\n".join(rows)


if __name__ == "__main__":
    sys.stdout.write(markdown_table() + "\n")

"""Settings: one declaration per variable, read from the environment, documented in README.md as declared."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from redis import Redis

from settings import DERIVED, REPO_ROOT, Settings, markdown_table


def test_readme_documents_every_setting_as_declared() -> None:
    """README.md's configuration table is ``python -m settings``'s output, row for row."""
    assert markdown_table() in (REPO_ROOT / "README.md").read_text()


def test_variables_are_read_and_derived_defaults_follow(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKA_PORT", "39999")
    monkeypatch.setenv("TRITON_HTTP_PORT", "38000")
    monkeypatch.setenv("REDIS_URL", "")  # empty counts as unset
    monkeypatch.delenv("REDIS_PASSWORD", raising=False)
    monkeypatch.setenv("WORKER_INSTANCE_ID", "")
    monkeypatch.setenv("MAX_VIDEO_SECONDS", "30")
    cfg = Settings.from_env()
    assert cfg.kafka_bootstrap == "127.0.0.1:39999" and cfg.redis_url.startswith("redis://127.0.0.1:")
    assert (cfg.triton_grpc_port, cfg.triton_grpc_url) == (38001, "127.0.0.1:38001")
    assert cfg.worker_instance_id is None and cfg.max_video_seconds == 30.0
    assert cfg.media_root == cfg.stack_dir / "media" and cfg.clickhouse_dsn == f"chdb://{cfg.stack_dir / 'clickhouse'}"


def test_a_bad_value_names_its_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKA_PORT", "ninety")
    with pytest.raises(ValidationError, match="kafka_port"):
        Settings.from_env()


def test_settings_are_frozen_and_replaced_by_copy() -> None:
    cfg = Settings.from_env()
    with pytest.raises(ValidationError):
        cfg.max_video_seconds = 1.0  # type: ignore[misc]
    shorter = cfg.replace(max_video_seconds=1.0)
    assert shorter.max_video_seconds == 1.0 and cfg.max_video_seconds != 1.0


def test_the_table_says_derived_for_exactly_the_settings_derived_when_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    unset = [name for name, field in Settings.model_fields.items() if field.default in (None, "")]
    for name in unset:
        monkeypatch.delenv(name.upper(), raising=False)
    cfg = Settings.from_env()
    assert {name for name in unset if getattr(cfg, name) not in (None, "")} == DERIVED


def test_a_redis_password_goes_into_the_default_url_quoted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.setenv("REDIS_PASSWORD", "p@ss word/:%")
    monkeypatch.setenv("REDIS_PORT", "16000")
    cfg = Settings.from_env()
    assert cfg.redis_url == "redis://:p%40ss%20word%2F%3A%25@127.0.0.1:16000/0"
    assert Redis.from_url(cfg.redis_url).connection_pool.connection_kwargs["password"] == "p@ss word/:%"
    assert cfg.with_redis_port(16001, cfg.stack_dir).redis_url.startswith("redis://:p%40ss%20word%2F%3A%25@")


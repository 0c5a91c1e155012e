"""Settings: one declaration per variable, read from the environment, documented in README.md as declared."""

from __future__ import annotations

import stat
from pathlib import Path

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
    assert cfg.kafka_bootstrap == "127.0.0.1:39999" and cfg.redis_url.startswith(f"redis://:{cfg.redis_password}@127.0.0.1:")
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



def test_the_local_redis_password_is_made_once_and_kept_owner_only(monkeypatch: pytest.MonkeyPatch,
                                                                  tmp_path: Path) -> None:
    """Without REDIS_PASSWORD or REDIS_URL, the first Settings makes a random password in STACK_DIR/secrets/ (0600)
    and every later one reads the same; an explicit REDIS_PASSWORD wins; a REDIS_URL given alone carries its own."""
    for name in ("REDIS_PASSWORD", "REDIS_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("STACK_DIR", str(tmp_path / "stack"))
    first = Settings.from_env()
    secret = tmp_path / "stack" / "secrets" / "redis-password"
    assert first.redis_password == secret.read_text() and len(first.redis_password) >= 32
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600 and stat.S_IMODE(secret.parent.stat().st_mode) == 0o700
    assert first.redis_url == f"redis://:{first.redis_password}@127.0.0.1:{first.redis_port}/0"
    assert Settings.from_env().redis_password == first.redis_password
    monkeypatch.setenv("REDIS_PASSWORD", "chosen")
    assert Settings.from_env().redis_password == "chosen"
    monkeypatch.delenv("REDIS_PASSWORD")
    monkeypatch.setenv("REDIS_URL", "redis://:elsewhere@redis:6379/0")
    assert Settings.from_env().redis_password is None

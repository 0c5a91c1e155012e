"""Settings: one declaration per variable, read from the environment, documented in README.md as declared."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from settings import REPO_ROOT, Settings, markdown_table


def test_readme_documents_every_setting_as_declared() -> None:
    """README.md's configuration table is ``python -m settings``'s output, row for row."""
    assert markdown_table() in (REPO_ROOT / "README.md").read_text()


def test_variables_are_read_and_derived_defaults_follow(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKA_PORT", "39999")
    monkeypatch.setenv("TRITON_HTTP_PORT", "38000")
    monkeypatch.setenv("REDIS_URL", "")  # empty counts as unset
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

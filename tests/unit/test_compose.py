"""docker-compose.yaml (the production stack) parses and only sets variables the code reads."""

from __future__ import annotations

import re

import yaml

from settings import REPO_ROOT, Settings

APP_SERVICES = ("topics", "copies", "enrichment", "archiver", "lag-exporter", "search", "loadgen")


def variables_read_by_settings() -> set[str]:
    return {name.upper() for name in Settings.model_fields}


def test_compose_parses_with_the_production_services() -> None:
    compose = yaml.safe_load((REPO_ROOT / "docker-compose.yaml").read_text())
    assert {"kafka", "redis", "clickhouse", "triton", "copies", "enrichment", "archiver", "loadgen"} <= set(
        compose["services"])
    assert compose["services"]["loadgen"]["profiles"] == ["loadgen"]
    for service in compose["services"].values():
        build = service.get("build")
        if build:
            assert (REPO_ROOT / build["dockerfile"]).is_file()


def test_every_app_variable_is_read_by_the_code() -> None:
    compose = yaml.safe_load((REPO_ROOT / "docker-compose.yaml").read_text())
    known = variables_read_by_settings()
    for name in APP_SERVICES:
        environment = compose["services"][name]["environment"]
        assert isinstance(environment, dict)
        unknown = set(environment) - known
        assert not unknown, f"{name} sets variables no code reads: {unknown}"


def test_production_points_at_servers_not_the_embedded_stack() -> None:
    environment = yaml.safe_load((REPO_ROOT / "docker-compose.yaml").read_text())["services"]["archiver"]["environment"]
    assert environment["CLICKHOUSE_DSN"].startswith("http://")
    assert environment["KAFKA_BOOTSTRAP"] == "kafka:9092"


def test_the_triton_service_sets_only_what_the_models_configs_name() -> None:
    """The models read their knobs from config.pbtxt; the environment only fills the ${NAME}s those name."""
    named = {name for config in (REPO_ROOT / "model_repository").glob("*/config.pbtxt")
             for name in re.findall(r"\$\{(\w+)\}", config.read_text())}
    assert named >= {"CLIP_WEIGHTS", "MODEL_CACHE_DIR"}
    environment = yaml.safe_load((REPO_ROOT / "docker-compose.yaml").read_text())["services"]["triton"]["environment"]
    assert set(environment) <= named


def test_redis_requires_the_password_every_app_service_connects_with() -> None:
    """Compose refuses to start without REDIS_PASSWORD (``${VAR:?}``); Redis requires it, every app's URL has it."""
    services = yaml.safe_load((REPO_ROOT / "docker-compose.yaml").read_text())["services"]
    password = "${REDIS_PASSWORD:?set REDIS_PASSWORD}"
    command = services["redis"]["command"]
    assert command[command.index("--requirepass") + 1] == password
    assert services["redis"]["environment"]["REDISCLI_AUTH"] == password
    for name in APP_SERVICES:
        assert services[name]["environment"]["REDIS_URL"] == f"redis://:{password}@redis:6379/0"


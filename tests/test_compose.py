"""docker-compose.yaml (the production stack) parses and only sets variables the code reads."""

from __future__ import annotations

import re

import yaml

from settings import REPO_ROOT

APP_SERVICES = ("topics", "worker", "loadgen")


def variables_read_by_settings() -> set[str]:
    source = (REPO_ROOT / "settings.py").read_text()
    return set(re.findall(r'_env(?:_int|_float)?\("([A-Z0-9_]+)"', source))


def test_compose_parses_with_the_production_services() -> None:
    compose = yaml.safe_load((REPO_ROOT / "docker-compose.yaml").read_text())
    assert {"kafka", "redis", "clickhouse", "triton", "worker", "loadgen"} <= set(compose["services"])
    assert compose["services"]["loadgen"]["profiles"] == ["loadgen"]
    for service in compose["services"].values():
        build = service.get("build")
        if build:
            assert (REPO_ROOT / build["dockerfile"]).is_file()


def test_every_app_variable_is_read_by_the_code() -> None:
    compose = yaml.safe_load((REPO_ROOT / "docker-compose.yaml").read_text())
    known = variables_read_by_settings()
    assert len(known) > 20  # the regex really finds settings.py's variables
    for name in APP_SERVICES:
        environment = compose["services"][name]["environment"]
        assert isinstance(environment, dict)
        unknown = set(environment) - known
        assert not unknown, f"{name} sets variables no code reads: {unknown}"


def test_production_points_at_servers_not_the_embedded_stack() -> None:
    environment = yaml.safe_load((REPO_ROOT / "docker-compose.yaml").read_text())["services"]["worker"]["environment"]
    assert environment["CLICKHOUSE_DSN"].startswith("http://")
    assert environment["KAFKA_BOOTSTRAP"] == "kafka:9092"

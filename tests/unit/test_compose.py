"""docker-compose.yaml (the production stack) parses and only sets variables the code reads."""

from __future__ import annotations

import re

import yaml

from inference.triton_client import API_KEY_HEADER, RESTRICTED_APIS
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



def test_triton_restricts_its_admin_apis_behind_a_required_key_the_apps_send() -> None:
    """Model loading, the repository index, logging, trace and shared memory need TRITON_API_KEY (compose refuses to
    start without it), over HTTP and gRPC, in the header the project's client sends; every app service has it."""
    services = yaml.safe_load((REPO_ROOT / "docker-compose.yaml").read_text())["services"]
    key = "${TRITON_API_KEY:?set TRITON_API_KEY}"
    flags = dict(arg.removeprefix("--").split("=", 1) for arg in services["triton"]["command"] if arg.startswith("--"))
    for flag in ("http-restricted-api", "grpc-restricted-protocol"):
        apis, header_and_key = flags[flag].split(":", 1)
        assert set(apis.split(",")) == set(RESTRICTED_APIS.split(",")) >= {"model-repository", "logging", "trace",
                                                                             "shared-memory"}
        assert header_and_key == f"{API_KEY_HEADER}={key}"
    for name in APP_SERVICES:
        assert services[name]["environment"]["TRITON_API_KEY"] == key


def test_kafka_requires_sasl_authorizes_with_acls_and_every_app_logs_in() -> None:
    """The broker listens with SASL only (clients and controller), KRaft's StandardAuthorizer with the admin as the
    only super user; ACLs are set before the topics are created; each app service has a user and a required
    password, the pipeline's (not the admin's) unless it is the topic creator."""
    services = yaml.safe_load((REPO_ROOT / "docker-compose.yaml").read_text())["services"]
    broker = services["kafka"]["environment"]
    assert broker["KAFKA_LISTENERS"] == "SASL_PLAINTEXT://:9092,CONTROLLER://:9093"
    assert set(broker["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"].split(",")) == {
        "SASL_PLAINTEXT:SASL_PLAINTEXT", "CONTROLLER:SASL_PLAINTEXT"}
    assert broker["KAFKA_AUTHORIZER_CLASS_NAME"] == "org.apache.kafka.metadata.authorizer.StandardAuthorizer"
    assert broker["KAFKA_SUPER_USERS"] == "User:admin"
    users = broker["KAFKA_LISTENER_NAME_SASL__PLAINTEXT_PLAIN_SASL_JAAS_CONFIG"]
    assert broker["KAFKA_LISTENER_NAME_CONTROLLER_PLAIN_SASL_JAAS_CONFIG"] == users
    passwords = {"admin": "KAFKA_ADMIN_PASSWORD", "pipeline": "KAFKA_PIPELINE_PASSWORD",
                 "loadgen": "KAFKA_LOADGEN_PASSWORD"}
    for user, variable in passwords.items():
        assert f'user_{user}="${{{variable}:?set {variable}}}"' in users
    acls = services["kafka-acls"]["command"][0]
    assert "--allow-principal User:pipeline" in acls and "--allow-principal User:loadgen" in acls
    assert services["topics"]["depends_on"] == {"kafka-acls": {"condition": "service_completed_successfully"}}
    for name in APP_SERVICES:
        environment = services[name]["environment"]
        user = environment["KAFKA_SASL_USERNAME"]
        assert user == {"topics": "admin", "loadgen": "loadgen"}.get(name, "pipeline"), name
        assert environment["KAFKA_SASL_PASSWORD"] == f"${{{passwords[user]}:?set {passwords[user]}}}"
        assert environment["KAFKA_SASL_MECHANISM"] == "PLAIN" and environment["KAFKA_BOOTSTRAP"] == "kafka:9092"

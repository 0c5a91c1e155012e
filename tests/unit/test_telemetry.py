"""The metrics and log lines operators get (README, "Metrics"): the dashboard asks only for metrics the code
exports, Prometheus scrapes every compose service that serves them, JSON log lines carry stage and video id."""

from __future__ import annotations

import io
import json
import logging
import re
import socket

import pytest
import yaml
from fastapi import FastAPI
from fastapi.testclient import TestClient
from faust.sensors.prometheus import FaustMetrics
from prometheus_client import REGISTRY, CollectorRegistry
from prometheus_fastapi_instrumentator import Instrumentator

from jobs.lag import LAG_METRICS
from settings import REPO_ROOT
from telemetry import metrics
from telemetry import progress as telemetry_progress
from telemetry.logs import configure, video
from telemetry.progress import progress, track

DASHBOARD = REPO_ROOT / "docker" / "grafana" / "dashboards" / "pipeline.json"
SAMPLE_SUFFIXES = ("_bucket", "_count", "_sum", "_total", "_created")


def family(name: str) -> str:
    """The metric family a sample name belongs to (vu_x_seconds_bucket -> vu_x_seconds)."""
    for suffix in SAMPLE_SUFFIXES:
        if name.endswith(suffix):
            return name.removesuffix(suffix)
    return name


def exported_families() -> set[str]:
    """Every metric family the project's processes export: its own (telemetry.metrics, the lag exporter), Faust's
    monitor as the stage apps name it, and the search API's instrumentator."""
    assert metrics.EVENTS  # registered on import
    names = {m.name for m in REGISTRY.collect()} | set(LAG_METRICS)
    faust = CollectorRegistry()
    FaustMetrics.create(faust, "faust")
    names |= {m.name for m in faust.collect()}
    app = FastAPI()
    Instrumentator(should_group_status_codes=False, registry=(api := CollectorRegistry())).instrument(app)
    app.get("/x")(lambda: {})
    TestClient(app).get("/x")
    return names | {m.name for m in api.collect()}


def dashboard_queries() -> list[tuple[str, str]]:
    dashboard = json.loads(DASHBOARD.read_text())
    return [(panel["title"], target["expr"]) for panel in dashboard["panels"] for target in panel["targets"]]


def test_the_dashboard_loads_with_a_query_per_panel() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    assert dashboard["uid"] and dashboard["panels"]
    assert all(panel["targets"] and panel["datasource"]["uid"] == "prometheus" for panel in dashboard["panels"])
    titles = " ".join(panel["title"] for panel in dashboard["panels"]).lower()
    for subject in ("outcome", "verdict", "lag", "step", "triton", "search"):
        assert subject in titles


def test_every_dashboard_query_names_a_metric_the_code_exports() -> None:
    exported = exported_families()
    asked = {(title, family(name)) for title, expr in dashboard_queries()
             for name in re.findall(r"\b(?:vu|faust|http)_[a-z_]+", expr)}
    assert asked
    assert {(title, name) for title, name in asked if name not in exported} == set()


def test_the_project_s_metrics_follow_prometheus_conventions() -> None:
    ours = [m for m in REGISTRY.collect() if m.name.startswith("vu_")]
    assert len(ours) >= 12
    for metric in ours:
        assert re.fullmatch(r"vu_[a-z_]+", metric.name)
        if metric.type == "histogram" and "seconds" not in metric.name:
            assert metric.name.endswith(("_records",)), metric.name  # a unit in the name: seconds or records
        assert metric.documentation


def test_prometheus_scrapes_every_compose_service_that_serves_metrics() -> None:
    compose = yaml.safe_load((REPO_ROOT / "docker-compose.yaml").read_text())["services"]
    config = yaml.safe_load((REPO_ROOT / "docker" / "prometheus.yml").read_text())
    targets = {}
    for job in config["scrape_configs"]:
        for sd in job.get("dns_sd_configs", []):
            targets[job["job_name"]] = (sd["names"][0], sd["port"])
        for static in job.get("static_configs", []):
            host, port = static["targets"][0].split(":")
            targets[job["job_name"]] = (host, int(port))
    serving = {name for name, service in compose.items()
               if isinstance(service.get("environment"), dict) and "METRICS_PORT" in service["environment"]
               and name not in ("topics", "loadgen")}  # jobs that end: nothing to scrape
    assert serving == {"copies", "enrichment", "archiver", "lag-exporter", "search"}
    for name in serving:
        assert targets[name] == (name, int(compose[name]["environment"]["METRICS_PORT"]))
    assert targets["triton"] == ("triton", 8002)


def test_json_log_lines_carry_the_stage_and_the_video(capsys: pytest.CaptureFixture[str]) -> None:
    root = logging.getLogger()
    kept = (root.handlers[:], root.level)
    try:
        configure("json", "copies")
        logging.getLogger("streams.copies").info("video %s: %s", "v-1", "UNIQUE", extra=video("v-1"))
        line = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    finally:
        root.handlers[:], root.level = kept
    assert line["message"] == "video v-1: UNIQUE"
    assert (line["stage"], line["video_id"], line["level"], line["logger"]) == ("copies", "v-1", "INFO",
                                                                               "streams.copies")
    assert line["time"]


def test_a_metrics_port_in_use_is_a_clear_error() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(RuntimeError, match="METRICS_PORT"):
            metrics.serve("127.0.0.1", taken.getsockname()[1], CollectorRegistry())


def test_progress_off_a_terminal_is_plain_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(telemetry_progress, "PLAIN_EVERY_S", 0.0)
    out = io.StringIO()
    with progress(3, "replayed", "videos", file=out) as bar:
        for _ in range(3):
            bar.update()
    lines = out.getvalue().splitlines()
    assert "\r" not in out.getvalue() and len(lines) == 4  # one per update and one at the end
    assert lines[-1].startswith("replayed: 100%") and "3/3" in lines[-1] and "videos/s" in lines[-1]


def test_progress_disabled_counts_and_says_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    with progress(5, "", disable=True) as bar:
        bar.update(2)
        assert bar.n == 2
    assert capsys.readouterr().err == ""
    assert list(track(iter("abc"), 3, "letters")) == ["a", "b", "c"]

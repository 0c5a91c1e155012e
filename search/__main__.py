"""``python -m search``: serve the search API and page on SEARCH_HOST:SEARCH_PORT (with the connection limits of
search/server.py), its metrics on METRICS_HOST:METRICS_PORT."""

from search.api import create_app
from search.server import serve
from settings import Settings
from telemetry import metrics
from telemetry.logs import configure as configure_logging
from telemetry.logs import logging_config

if __name__ == "__main__":
    cfg = Settings.from_env()
    configure_logging(cfg.log_format, "search")
    metrics.serve(cfg.metrics_host, cfg.metrics_port)
    serve(create_app(cfg), cfg, logging_config(cfg.log_format, "search"))

"""``python -m search``: serve the search API and page on SEARCH_HOST:SEARCH_PORT, its metrics on
METRICS_HOST:METRICS_PORT."""

import uvicorn

from search.api import create_app
from settings import Settings
from telemetry import metrics
from telemetry.logs import configure as configure_logging
from telemetry.logs import logging_config

if __name__ == "__main__":
    cfg = Settings.from_env()
    configure_logging(cfg.log_format, "search")
    metrics.serve(cfg.metrics_host, cfg.metrics_port)
    uvicorn.run(create_app(cfg), host=cfg.search_host, port=cfg.search_port,
                log_config=logging_config(cfg.log_format, "search"))

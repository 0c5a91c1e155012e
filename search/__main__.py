"""``python -m search``: serve the search API and page on SEARCH_HOST:SEARCH_PORT."""

import logging

import uvicorn

from search.api import create_app
from settings import Settings

if __name__ == "__main__":
    cfg = Settings.from_env()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    uvicorn.run(create_app(cfg), host=cfg.search_host, port=cfg.search_port, log_level="info")

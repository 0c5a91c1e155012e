"""Log lines as text (the default) or as one JSON object a line (``LOG_FORMAT=json``), for a log shipper.

A JSON line carries the time, level, logger, message, the process's ``stage`` and, where a line is about one
video, its ``video_id`` (``log.info(..., extra=video(video_id))``). Faust workers take the configuration as their
app's ``logging_config``; the archiver, the search API and the jobs call ``configure``.
"""

from __future__ import annotations

import logging
import logging.config
from typing import Any

JSON_FIELDS = "%(asctime)s %(levelname)s %(name)s %(message)s"
TEXT_FORMAT = "[%(asctime)s] [%(process)d] [%(levelname)s] %(name)s: %(message)s"


def video(video_id: str | None) -> dict[str, Any]:
    """The ``extra`` of a log line about one video: its id becomes a field of the JSON line."""
    return {"video_id": video_id}


def logging_config(log_format: str, stage: str, level: str = "INFO") -> dict[str, Any]:
    """A ``logging.config.dictConfig`` for one process: every line to stderr, as text or JSON."""
    if log_format == "json":
        formatter = {"()": "pythonjsonlogger.json.JsonFormatter", "fmt": JSON_FIELDS,
                     "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
                     "static_fields": {"stage": stage}}
    else:
        formatter = {"format": TEXT_FORMAT}
    return {"version": 1, "disable_existing_loggers": False, "formatters": {"default": formatter},
            "handlers": {"default": {"class": "logging.StreamHandler", "formatter": "default"}},
            "root": {"level": level, "handlers": ["default"]}}


def configure(log_format: str, stage: str, level: str = "INFO") -> None:
    logging.config.dictConfig(logging_config(log_format, stage, level))

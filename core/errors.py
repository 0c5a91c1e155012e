"""Errors that send an event to the dead-letter topic, each with a machine-readable kind."""

from __future__ import annotations


class PipelineError(Exception):
    """An event that cannot be processed; ``kind`` is written to DeadLetter.error_kind."""

    kind = "processing_failed"

    def __init__(self, message: str, kind: str | None = None) -> None:
        super().__init__(message)
        if kind is not None:
            self.kind = kind


class MediaError(PipelineError):
    kind = "media_unreadable"


class InferenceError(PipelineError):
    """The model server failed or is unreachable after retries."""

    kind = "inference_unavailable"

"""Errors that decide an event's fate: a PipelineError dead-letters it (with a machine-readable kind); a
ServiceUnavailable holds it until the service answers again (it is never dead-lettered for that)."""

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
    """A model said the input itself is bad, or kept failing on it while Triton was otherwise well."""

    kind = "inference_failed"


class ServiceUnavailable(Exception):
    """A server is down, overloaded (a full queue) or answered too late: the event waits and is tried again."""

"""What Avro's types cannot say about a ``publish-video`` event: checked before any work, so absurd metadata
is dead-lettered (``invalid_event``) with the field and the rule instead of reaching Redis keys, search
documents or the archive. The id and control-character rules also hold for media URIs and the search API's
query parameters."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from core.errors import PipelineError
from core.records import VideoPublished

ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")  # video, channel and series ids
# NUL and the other C0/C1 control characters: refused in media URIs and search queries
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f]")
MAX_TITLE_CHARS = 500
MAX_DESCRIPTION_CHARS = 5000
MAX_TAGS = 50
MAX_TAG_CHARS = 100
EARLIEST_PUBLISHED = datetime(2005, 1, 1, tzinfo=UTC)
FUTURE_TOLERANCE = timedelta(days=1)  # clock skew between the publisher and us
LANGUAGE_PATTERN = re.compile(r"[a-z]{2}")


def _fail(reason: str) -> PipelineError:
    return PipelineError(reason, kind="invalid_event")


def check_event(event: VideoPublished, now: datetime) -> None:
    """Raise PipelineError(kind="invalid_event") naming the first field that breaks a rule."""
    for field, value in (("video_id", event.video_id), ("channel_id", event.channel_id)):
        if not ID_PATTERN.fullmatch(value):
            raise _fail(f"{field} {value[:80]!r} is not 1-128 of A-Z a-z 0-9 . _ : - (starting alphanumeric)")
    if event.series_id is not None and not ID_PATTERN.fullmatch(event.series_id):
        raise _fail(f"series_id {event.series_id[:80]!r} is not 1-128 of A-Z a-z 0-9 . _ : -")
    if event.episode_number is not None and event.episode_number < 0:
        raise _fail(f"episode_number {event.episode_number} is negative")
    if not EARLIEST_PUBLISHED <= event.published_at <= now + FUTURE_TOLERANCE:
        raise _fail(f"published_at {event.published_at.isoformat()} is before {EARLIEST_PUBLISHED.date()} or "
                    f"more than {FUTURE_TOLERANCE.days} day ahead")
    if len(event.title or "") > MAX_TITLE_CHARS:
        raise _fail(f"title has {len(event.title or '')} characters, over {MAX_TITLE_CHARS}")
    if len(event.description or "") > MAX_DESCRIPTION_CHARS:
        raise _fail(f"description has {len(event.description or '')} characters, over {MAX_DESCRIPTION_CHARS}")
    if len(event.tags) > MAX_TAGS or any(not tag.strip() or len(tag) > MAX_TAG_CHARS for tag in event.tags):
        raise _fail(f"tags: at most {MAX_TAGS}, each 1-{MAX_TAG_CHARS} characters")
    if event.language_hint is not None and not LANGUAGE_PATTERN.fullmatch(event.language_hint):
        raise _fail(f"language_hint {event.language_hint[:20]!r} is not an ISO 639-1 code such as 'en'")

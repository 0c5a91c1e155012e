"""Absurd metadata is refused with the field and the rule (pure: the worker's dead-lettering of it is in
tests/stack/test_pipeline.py)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from core.errors import PipelineError
from core.event_checks import check_event
from core.records import VideoPublished

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
GOOD = VideoPublished(video_id="v-1", media_uri="a.mp4", channel_id="ch:7", published_at=NOW - timedelta(hours=1),
                      title="A title", description=None, tags=["cats"], series_id=None, episode_number=None,
                      language_hint="en")


def test_a_plain_event_passes() -> None:
    check_event(GOOD, NOW)
    check_event(replace(GOOD, published_at=NOW + timedelta(hours=23), series_id="s.1", episode_number=0), NOW)


@pytest.mark.parametrize("change, field", [
    ({"video_id": ""}, "video_id"), ({"video_id": "a b"}, "video_id"), ({"video_id": "x" * 129}, "video_id"),
    ({"video_id": "*"}, "video_id"), ({"channel_id": "ch/1"}, "channel_id"), ({"series_id": "s 1"}, "series_id"),
    ({"episode_number": -1}, "episode_number"), ({"published_at": datetime(1970, 1, 1, tzinfo=UTC)}, "published_at"),
    ({"published_at": NOW + timedelta(days=2)}, "published_at"), ({"title": "t" * 501}, "title"),
    ({"description": "d" * 5001}, "description"), ({"tags": ["x"] * 51}, "tags"), ({"tags": [" "]}, "tags"),
    ({"language_hint": "english"}, "language_hint")])
def test_absurd_fields_are_refused_by_name(change: dict[str, Any], field: str) -> None:
    with pytest.raises(PipelineError) as refused:
        check_event(replace(GOOD, **change), NOW)
    assert refused.value.kind == "invalid_event" and str(refused.value).startswith(field)

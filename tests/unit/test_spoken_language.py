"""The spoken-language choice: restriction to the served languages, the prior, windows and changes of language."""

from __future__ import annotations

import pytest

from core.languages import ENCODER_LANGUAGES, served_languages, spoken_language_prior
from model_helpers.spoken_language import (
    choose_languages,
    detection_windows,
    language_spans,
    posterior,
)

SERVED = dict.fromkeys(("de", "en", "pl", "ru"), 1.0)


def test_a_language_the_deployment_does_not_serve_is_never_chosen() -> None:
    """Whisper's Czech guess for Russian speech falls to the likeliest served language."""
    assert choose_languages([{"cs": 0.6, "ru": 0.25, "pl": 0.1, "en": 0.05}], SERVED) == ["ru"]


def test_the_prior_decides_between_languages_whisper_hesitates_over() -> None:
    window = {"pl": 0.4, "ru": 0.35, "cs": 0.25}
    assert choose_languages([window], SERVED) == ["pl"]
    assert choose_languages([window], {**SERVED, "ru": 3.0}) == ["ru"]


def test_the_prior_does_not_overrule_clear_speech() -> None:
    assert choose_languages([{"en": 0.9, "ru": 0.05}], {**SERVED, "ru": 3.0}) == ["en"]


def test_one_doubtful_window_does_not_switch_the_language() -> None:
    russian, doubtful = {"ru": 0.9, "pl": 0.05}, {"pl": 0.5, "ru": 0.3}
    assert choose_languages([russian, doubtful, russian], SERVED) == ["ru", "ru", "ru"]


def test_a_video_that_switches_language_changes_where_the_evidence_does() -> None:
    russian, english = {"ru": 0.95, "pl": 0.03}, {"en": 0.95, "de": 0.03}
    assert choose_languages([russian, russian, english, english], SERVED) == ["ru", "ru", "en", "en"]


def test_no_windows_or_no_languages_choose_nothing() -> None:
    assert choose_languages([], SERVED) == [] and choose_languages([{"en": 1.0}], {}) == []


def test_posterior_is_restricted_to_the_served_languages_and_weighted() -> None:
    window = {"cs": 0.5, "ru": 0.25, "pl": 0.25}
    assert posterior(window, SERVED, "ru") == pytest.approx(0.5, abs=1e-4)
    assert posterior(window, {**SERVED, "ru": 3.0}, "ru") == pytest.approx(0.75, abs=1e-4)


def test_windows_hold_speech_and_are_spread_over_a_long_track() -> None:
    speech = [(0.0, 10.0), (31.0, 31.5), (65.0, 200.0)]
    assert detection_windows(40.0, speech, 6) == [(0.0, 30.0)]  # half a second of speech is not asked
    windows = detection_windows(200.0, speech, 3)
    assert windows == [(0.0, 30.0), (90.0, 120.0), (180.0, 200.0)]


def test_spans_cover_the_track_and_change_at_the_window_that_changes() -> None:
    windows = [(0.0, 30.0), (30.0, 60.0), (60.0, 70.0)]
    assert language_spans(windows, ["ru", "en", "en"], 70.0) == [(0.0, 30.0, "ru"), (30.0, 70.0, "en")]
    assert language_spans(windows[:1], ["de"], 12.0) == [(0.0, 12.0, "de")]


def test_the_prior_weighs_the_title_and_the_channel() -> None:
    prior = spoken_language_prior(("de", "en", "ru"), ("de", 0.5), ["ru", "ru", "en", "xx"])
    assert prior == {"de": 2.0, "en": 1.5, "ru": 2.0}
    assert spoken_language_prior(("de", "en"), None, []) == {"de": 1.0, "en": 1.0}


def test_served_languages_default_to_the_text_encoders() -> None:
    assert served_languages("") == ENCODER_LANGUAGES
    assert served_languages(" RU, en,ru ") == ("ru", "en")

"""The prior over the served languages that the asr model's language choice takes (core/languages.py): the
language of the video's title and description (py3langid, restricted to the served languages) and the languages
its channel's latest videos were heard in."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

from py3langid.langid import MODEL_FILE, LanguageIdentifier

from core.languages import spoken_language_prior


@lru_cache(maxsize=4)
def _identifier(served: tuple[str, ...]) -> LanguageIdentifier:
    identifier = LanguageIdentifier.from_pickled_model(MODEL_FILE, norm_probs=True)
    identifier.set_languages([code for code in served if code in identifier.nb_classes])
    return identifier


def metadata_language(text: str, served: tuple[str, ...]) -> tuple[str, float] | None:
    """The served language ``text`` is most likely written in and its probability; None without letters."""
    if not any(ch.isalpha() for ch in text):
        return None
    code, probability = _identifier(served).classify(text)
    return str(code), float(probability)


def language_prior(served: tuple[str, ...], metadata_text: str, channel: Sequence[str]) -> dict[str, float]:
    """The prior weight of each served language for a video with ``metadata_text`` on a channel whose latest
    videos were heard in ``channel``."""
    return spoken_language_prior(served, metadata_language(metadata_text, served), channel)

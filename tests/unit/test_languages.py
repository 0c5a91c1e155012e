"""Which stemmer a chunk or a query gets (core/languages.py)."""

from __future__ import annotations

import pytest

from core.languages import mostly_cyrillic, stemming_language


@pytest.mark.parametrize("text, spoken, language", [
    ("Вокзал закрыт до утра", None, "russian"),  # on screen: the script says
    ("Harbour lighthouse tour", None, "english"),
    ("поезд опоздал на два часа", "ru", "russian"),
    ("der Zug kam zwei Stunden zu spät", "de", "german"),  # whisper's language, when RediSearch stems it
    ("Привет, world", None, "russian"),  # 6 of 11 letters Cyrillic
    ("Moscow, Москва", None, "english"),  # 6 of 12: not more than half
    ("поезд опоздал", "en", "russian"),  # the script contradicts whisper: the script wins
    ("the train was late", "ru", "english"),
    ("ahoj světe", "cs", "english"),  # no Czech stemmer: the Latin default
    ("добрий вечір", "uk", "russian"),  # no Ukrainian stemmer: the Cyrillic default
    ("12:45 !!", None, "english"),  # no letters
])
def test_stemming_language(text: str, spoken: str | None, language: str) -> None:
    assert stemming_language(text, spoken) == language


def test_mostly_cyrillic_counts_letters_only() -> None:
    assert mostly_cyrillic("2026 год") and not mostly_cyrillic("2026") and not mostly_cyrillic("")

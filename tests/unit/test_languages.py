"""Which stemmer a chunk or a query gets (core/languages.py)."""

from __future__ import annotations

import pytest

from core.languages import STEMMERS, code_of, mostly_cyrillic, stemming_language, text_language


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


@pytest.mark.parametrize("text, spoken, code", [
    ("der Zug kam zwei Stunden zu spät", "de", "de"),
    ("pociąg się spóźnił", "pl", "pl"),  # no RediSearch stemmer, still its own code (its stopwords, its stems)
    ("поезд опоздал", "en", "ru"),  # the script contradicts whisper: the script's default
    ("Harbour lighthouse tour", None, "en"),
])
def test_text_language(text: str, spoken: str | None, code: str) -> None:
    assert text_language(text, spoken) == code
    assert code_of(stemming_language(text, spoken)) == (code if code in STEMMERS else "en")

"""Stems, dictionaries and transliteration per language (core/lexicon.py) and stopwords
(storage/search_index.stopwords), without servers."""

from __future__ import annotations

import pytest

from core.languages import ENCODER_LANGUAGES
from core.lexicon import forms, is_dictionary_word, stem, transliterated
from storage.search_index import stopwords


def test_every_served_language_has_stopwords() -> None:
    assert all(stopwords(code) for code in ENCODER_LANGUAGES)


@pytest.mark.parametrize("word, code, stop", [
    ("de", "es", True), ("la", "fr", True), ("en", "es", True), ("der", "de", True), ("и", "ru", True),
    ("się", "pl", True),
    ("de", "en", False), ("die", "en", False),  # English words: "die" is a German stopword only
    ("casa", "es", False), ("home", "en", False),
])
def test_stopwords_are_those_of_the_language(word: str, code: str, stop: bool) -> None:
    assert (word in stopwords(code)) == stop


@pytest.mark.parametrize("forms_, code", [
    (("lighthouse", "lighthouses"), "en"), (("снегопад", "снегопада", "снегопадом"), "ru"),
    (("bibliothek", "bibliotheken"), "de"), (("casa", "casas"), "es"), (("książka", "książki"), "pl"),
])
def test_word_forms_share_a_stem_in_their_language(forms_: tuple[str, ...], code: str) -> None:
    assert len({stem(word, code) for word in forms_}) == 1


def test_a_language_without_a_stemmer_keeps_its_words() -> None:
    assert stem("東京", "ja") == "東京" and stem("东西", "zh") == "东西"


@pytest.mark.parametrize("word, known", [
    ("drivers", True), ("books", True), ("monet", True), ("black", True),  # corrected before: words of a language
    ("stadtbibliothek", False), ("stadtbiblothek", False), ("lokfürer", False), ("lighthuose", False),
    ("вокзал", True), ("biblioteca", True), ("bücher", True),
])
def test_dictionary_words(word: str, known: bool) -> None:
    assert is_dictionary_word(word) == known


@pytest.mark.parametrize("word, other", [
    ("roblox", "роблокс"), ("роблокс", "robloks"), ("вокзал", "vokzal"), ("minecraft", "минекрафт"),
    ("объявление", "obyavlenie"),  # the marks of ъ and ь dropped
    ("köln", None), ("東京", None), ("x2", None),  # neither script alone, or no letters only
])
def test_transliteration_both_ways(word: str, other: str | None) -> None:
    assert transliterated(word) == other
    assert forms(word) == ((word,) if other is None else (word, other))

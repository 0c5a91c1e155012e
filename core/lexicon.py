"""Words per language for the keyword search: stems, dictionaries and transliteration (its stopwords, whose lists
come with redisvl, are storage/search_index.stopwords).

- Stems: the Snowball stemmer of the language (snowballstemmer: the algorithms RediSearch stems with, Polish
  too); a language without one (Chinese, Japanese, Korean, Thai) keeps its words as they are.
- Dictionaries: pyspellchecker's word-frequency lists (from OpenSubtitles) of the served languages it has (Arabic,
  Dutch, English, French, German, Italian, Portuguese, Russian, Spanish): a word in one of them is no typo.
- Transliteration: Russian Cyrillic <-> Latin (cyrtranslit), so "роблокс" finds "Roblox" and "vokzal" "Вокзал".
"""

from __future__ import annotations

import gzip
import json
from functools import cache, lru_cache
from importlib import resources

import cyrtranslit
import snowballstemmer

from core.languages import STEMMERS, mostly_cyrillic

DICTIONARY_LANGUAGES = ("ar", "de", "en", "es", "fr", "it", "nl", "pt", "ru")  # pyspellchecker's, of the served
MIN_DICTIONARY_LETTERS = 4  # shorter words are never taken for typos, so the dictionaries keep only longer ones
SNOWBALL_NAMES = {**STEMMERS, "pl": "polish"}  # snowballstemmer's algorithms, named likewise; Chinese has none
# cyrtranslit's Russian leaves these Latin letters as they are; read as Russian speakers transcribe them
LATIN_LEFT_OVER = str.maketrans({"x": "кс", "w": "в", "q": "к"})


@cache
def _stemmer(code: str) -> snowballstemmer.Stemmer | None:
    name = SNOWBALL_NAMES.get(code)
    return snowballstemmer.stemmer(name) if name in snowballstemmer.algorithms() and name != "chinese" else None


@lru_cache(maxsize=100_000)
def stem(word: str, code: str) -> str:
    """``word`` (lower case) stemmed in the language ``code``; itself where the language has no stemmer."""
    stemmer = _stemmer(code)
    return stemmer.stemWord(word) if stemmer is not None else word


@cache
def _dictionary_words() -> frozenset[str]:
    """Every word of MIN_DICTIONARY_LETTERS or more letters in pyspellchecker's dictionaries of DICTIONARY_LANGUAGES
    (~1.6 million words, ~2 s and ~200 MB: loaded once, on first use)."""
    folder = resources.files("spellchecker") / "resources"
    words: set[str] = set()
    for code in DICTIONARY_LANGUAGES:
        with gzip.open(folder.joinpath(f"{code}.json.gz").open("rb")) as stream:
            words.update(word for word in json.load(stream) if len(word) >= MIN_DICTIONARY_LETTERS)
    return frozenset(words)


def load_dictionaries() -> None:
    """Load the dictionaries now (the search API does at start, so no query waits for them)."""
    _dictionary_words()


def is_dictionary_word(word: str) -> bool:
    """``word`` (lower case) is a word of one of the served languages' dictionaries (any of them: a query's
    language is not known, only its script)."""
    return word in _dictionary_words()


@lru_cache(maxsize=100_000)
def transliterated(word: str) -> str | None:
    """``word`` (lower case) in the other script, Russian Cyrillic <-> Latin; None for a word of neither script,
    of mixed script, or one that reads the same."""
    if mostly_cyrillic(word):
        other = cyrtranslit.to_latin(word, "ru").replace("'", "")  # its mark of ь and ъ
    elif word.isascii() and word.isalpha():
        other = cyrtranslit.to_cyrillic(word, "ru").translate(LATIN_LEFT_OVER)
    else:
        return None
    return other if other != word and other.isalnum() else None


def forms(word: str) -> tuple[str, ...]:
    """``word`` and its transliteration, if it has one."""
    other = transliterated(word)
    return (word,) if other is None else (word, other)


"""The language a text is stemmed in by the keyword index.

RediSearch stems each indexed chunk in the language its ``language`` field names (one of its Snowball stemmers),
and a query in the language given with it, so "пекарня" finds "пекарни" and "lighthouse" finds "lighthouses".
A transcript segment takes the language whisper decoded it in; a title, an OCR line or a query, which say nothing
of their language, take their script's: mostly Cyrillic letters is Russian (this service's first market), anything
else English. A script that contradicts whisper's language (a Cyrillic segment "in English") goes by the script.
Each chunk also keeps that language's ISO 639-1 code (``text_language``), for its stopwords and stems in Python
(core/lexicon.py), which cover languages RediSearch has no stemmer for.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

# ISO 639-1 code (whisper's, the events' language_hint) -> RediSearch's stemmer of that language
STEMMERS = {"ar": "arabic", "hy": "armenian", "eu": "basque", "ca": "catalan", "zh": "chinese", "da": "danish",
            "nl": "dutch", "en": "english", "fi": "finnish", "fr": "french", "de": "german", "el": "greek",
            "hi": "hindi", "hu": "hungarian", "id": "indonesian", "ga": "irish", "it": "italian", "lt": "lithuanian",
            "ne": "nepali", "no": "norwegian", "pt": "portuguese", "ro": "romanian", "ru": "russian",
            "sr": "serbian", "es": "spanish", "sv": "swedish", "ta": "tamil", "tr": "turkish", "yi": "yiddish"}
# what the text encoder (universal-sentence-encoder-multilingual v3) serves: zh stands for zh-cn and zh-tw
ENCODER_LANGUAGES = ("ar", "de", "en", "es", "fr", "it", "ja", "ko", "nl", "pl", "pt", "ru", "th", "tr", "zh")
# The prior of the spoken-language choice (model_helpers/spoken_language.py): each served language weighs 1, plus
METADATA_WEIGHT = 2.0  # times the probability that the title and description are in it (a sure title: 3x likelier)
CHANNEL_WEIGHT = 2.0  # times the share of the channel's latest videos spoken in it (all of them: 3x likelier)
CYRILLIC_LANGUAGES = frozenset({"ru", "uk", "be", "bg", "sr", "mk", "kk"})
DEFAULT_LANGUAGE = "english"
CYRILLIC_DEFAULT = "russian"

_LETTER = re.compile(r"[^\W\d_]")
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")


def mostly_cyrillic(text: str) -> bool:
    """More than half of the text's letters are Cyrillic."""
    letters = _LETTER.findall(text)
    return bool(letters) and 2 * sum(1 for letter in letters if _CYRILLIC.match(letter)) > len(letters)


def text_language(text: str, spoken: str | None = None) -> str:
    """The ISO 639-1 code of ``text``'s language: ``spoken`` (whisper's, if it was said) unless the script
    contradicts it, else the script's (Russian for mostly Cyrillic, English otherwise)."""
    cyrillic = mostly_cyrillic(text)
    if spoken and (spoken in CYRILLIC_LANGUAGES) == cyrillic:
        return spoken
    return "ru" if cyrillic else "en"


def served_languages(setting: str) -> tuple[str, ...]:
    """The languages speech is recognised in: SPOKEN_LANGUAGES' comma-separated codes, else the encoder's."""
    codes = tuple(dict.fromkeys(code.strip().lower() for code in setting.split(",") if code.strip()))
    return codes or ENCODER_LANGUAGES


def spoken_language_prior(served: Sequence[str], metadata: tuple[str, float] | None,
                          channel: Sequence[str]) -> dict[str, float]:
    """The prior weight of each served language for a video's speech: 1, plus METADATA_WEIGHT x the probability
    of the metadata text's language (``metadata``: its code and probability, None without text), plus
    CHANNEL_WEIGHT x the share of the channel's latest videos (``channel``: their languages) spoken in it."""
    prior = dict.fromkeys(served, 1.0)
    if metadata is not None and metadata[0] in prior:
        prior[metadata[0]] += METADATA_WEIGHT * metadata[1]
    for code in channel:
        if code in prior:
            prior[code] += CHANNEL_WEIGHT / len(channel)
    return prior


def stemmer_of(code: str) -> str:
    """RediSearch's stemmer for the language ``code``: its own, else its script's default."""
    return STEMMERS.get(code) or (CYRILLIC_DEFAULT if code in CYRILLIC_LANGUAGES else DEFAULT_LANGUAGE)


def stemming_language(text: str, spoken: str | None = None) -> str:
    """RediSearch's stemmer for ``text``; ``spoken`` is the ISO 639-1 code whisper decoded it in, if it was said."""
    return stemmer_of(text_language(text, spoken))


def code_of(stemmer: str) -> str:
    """The ISO 639-1 code of a RediSearch stemmer's language (a chunk indexed before it kept its code)."""
    return next((code for code, name in STEMMERS.items() if name == stemmer), "en")

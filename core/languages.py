"""The language a text is stemmed in by the keyword index.

RediSearch stems each indexed chunk in the language its ``language`` field names (one of its Snowball stemmers),
and a query in the language given with it, so "пекарня" finds "пекарни" and "lighthouse" finds "lighthouses".
A transcript segment takes the language whisper decoded it in; a title, an OCR line or a query, which say nothing
of their language, take their script's: mostly Cyrillic letters is Russian (this service's first market), anything
else English. A script that contradicts whisper's language (a Cyrillic segment "in English") goes by the script.
"""

from __future__ import annotations

import re

# ISO 639-1 code (whisper's, the events' language_hint) -> RediSearch's stemmer of that language
STEMMERS = {"ar": "arabic", "hy": "armenian", "eu": "basque", "ca": "catalan", "zh": "chinese", "da": "danish",
            "nl": "dutch", "en": "english", "fi": "finnish", "fr": "french", "de": "german", "el": "greek",
            "hi": "hindi", "hu": "hungarian", "id": "indonesian", "ga": "irish", "it": "italian", "lt": "lithuanian",
            "ne": "nepali", "no": "norwegian", "pt": "portuguese", "ro": "romanian", "ru": "russian",
            "sr": "serbian", "es": "spanish", "sv": "swedish", "ta": "tamil", "tr": "turkish", "yi": "yiddish"}
CYRILLIC_LANGUAGES = frozenset({"ru", "uk", "be", "bg", "sr", "mk", "kk"})
DEFAULT_LANGUAGE = "english"
CYRILLIC_DEFAULT = "russian"

_LETTER = re.compile(r"[^\W\d_]")
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")


def mostly_cyrillic(text: str) -> bool:
    """More than half of the text's letters are Cyrillic."""
    letters = _LETTER.findall(text)
    return bool(letters) and 2 * sum(1 for letter in letters if _CYRILLIC.match(letter)) > len(letters)


def stemming_language(text: str, spoken: str | None = None) -> str:
    """RediSearch's stemmer for ``text``; ``spoken`` is the ISO 639-1 code whisper decoded it in, if it was said."""
    cyrillic = mostly_cyrillic(text)
    if spoken in STEMMERS and (spoken in CYRILLIC_LANGUAGES) == cyrillic:
        return STEMMERS[spoken]
    return CYRILLIC_DEFAULT if cyrillic else DEFAULT_LANGUAGE

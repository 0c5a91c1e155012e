"""Keyphrases of a video's text (title, description, tags, transcript, OCR lines) with YAKE.

YAKE ranks candidate phrases by statistics of the text itself (frequency, position, casing, spread over
sentences, neighbouring stopwords): no model, no corpus, a few milliseconds per video. Its stopword list is
English; other languages get phrases too, only less well filtered.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence

import yake

MAX_WORDS = 2
_EDGE_PUNCTUATION = re.compile(r"^\W+|\W+$")


@functools.cache
def _extractor(top: int) -> yake.KeywordExtractor:
    return yake.KeywordExtractor(lan="en", n=MAX_WORDS, top=top)


def extract_keywords(texts: Sequence[str], top_n: int = 8) -> list[str]:
    """Up to ``top_n`` keyphrases of 1-2 words, lower case, without repeats, best first."""
    # Each text ends a sentence, so no phrase spans a title and a tag; a text's own final stop is dropped
    # first, since "word.." would make YAKE keep the dot in the word.
    parts = [text.strip().rstrip(".!?;:, ") for text in texts]
    document = ". ".join(part for part in parts if part)
    if not document or top_n <= 0:
        return []
    keywords: list[str] = []
    # Twice as many candidates as wanted, since lower-casing and trimming merge some of them.
    for phrase, _score in _extractor(2 * top_n).extract_keywords(document):
        keyword = _EDGE_PUNCTUATION.sub("", phrase.lower())
        if keyword and keyword not in keywords:
            keywords.append(keyword)
    return keywords[:top_n]

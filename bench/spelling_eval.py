"""Spelling corrections of the keyword signal: how often a correctly spelled query gets a "did you mean", and how
many typos (long ones too) are corrected to the word meant.

``python -m bench.spelling_eval``

A Redis of its own holds a small multilingual index (CORPUS: titles and transcripts in seven languages, written
through the production indexer with each transcript's language; embeddings play no part here). Each query goes
through ``SearchIndex.keyword``, as the search API's keyword signal does. CORRECT holds queries spelled right in
eight languages, which the index mostly does not hold, several beside an indexed word one or two edits away (the
issue's "drivers" -> "river", "books" -> "cooks", "Monet" -> "money", "black" -> "back"): any correction of
them is spurious. TYPOS holds misspellings of indexed words, with the word meant. Prints each correction made and
the totals.
"""

from __future__ import annotations

import numpy as np

from bench.bench_stack import own_redis
from core.text import TEXT_EMBEDDING_DIMS, TextChunk
from settings import Settings
from storage.search_index import EnrichmentSummary, SearchFilters, SearchIndex, VideoCard

REDIS_PORT_OFFSET = 340
CORPUS = [  # title, language spoken, transcript
    ("River cruise at dawn", "en", "the river was calm and the boat drifted past the old mill"),
    ("Cooks of Lyon", "fr", "les cuisiniers préparent le repas dans la cuisine du restaurant"),
    ("Money saving tips", "en", "how to save money on groceries every week"),
    ("Back to school", "en", "the kids are back in class after the summer"),
    ("Die Stadtbibliothek Köln", "de", "die Stadtbibliothek hat neue Bücher und einen Lesesaal"),
    ("Der Lokführer erzählt", "de", "der Lokführer fährt den Zug durch die Nacht"),
    ("Roblox obby speedrun", "en", "jump over the lava and reach the checkpoint"),
    ("Ночная дорога", "ru", "поезд опоздал на два часа из-за сильного снегопада"),
    ("Paseo por Madrid", "es", "caminamos por la plaza mayor y el museo del prado"),
    ("Mercato di Roma", "it", "le verdure fresche del mercato ogni mattina"),
    ("Receita de bolo", "pt", "misture a farinha com os ovos e o açúcar"),
    ("Cardinal bird feeding", "en", "a red cardinal eats seeds from the feeder"),
]
CORRECT = [
    "drivers license test", "books for children", "Monet water lilies", "black cat", "cooking pasta at home",
    "mountain hiking trail", "guitar lesson for beginners", "Picasso paintings", "Bücherei Öffnungszeiten",
    "Zugfahrt nach Hamburg", "Schnee im Winter", "recetas de cocina", "museo de arte moderno", "playa de noche",
    "la tour Eiffel", "boulangerie du quartier", "recette de crêpes", "рецепт борща", "зимний лес",
    "москва ночью", "pizza napoletana", "lago di como", "praia do rio", "futebol brasileiro",
]
TYPOS = {  # query -> the indexed word meant
    "Stadtbiblothek": "stadtbibliothek", "Lokfürer": "lokführer", "Lesesall": "lesesaal", "cardnal": "cardinal",
    "speedrn": "speedrun", "checkpiont": "checkpoint", "снегопда": "снегопада", "farihna": "farinha",
}


def build(index: SearchIndex) -> None:
    vector = np.full(TEXT_EMBEDDING_DIMS, TEXT_EMBEDDING_DIMS ** -0.5, np.float32)
    for n, (title, spoken, transcript) in enumerate(CORPUS):
        card = VideoCard(video_id=f"v{n}", channel_id="bench", published_at_ms=0, title=title, duration_s=10.0,
                         media_uri="none", verdict="UNIQUE")
        summary = EnrichmentSummary(has_audio=True, language=spoken, no_speech=False, speech_s=5.0, ocr_confidence=())
        index.upsert_video(card, [TextChunk("title", 0, 10, title, vector),
                                  TextChunk("transcript", 1, 5, transcript, vector)], summary=summary)


def main() -> None:
    with own_redis(Settings.from_env(), REDIS_PORT_OFFSET) as cfg:
        index = SearchIndex(cfg.redis_url, "spelling_eval")
        index.create()
        build(index)
        spurious = 0
        for query in CORRECT:
            corrections = index.keyword(query, SearchFilters(), 20).corrections
            spurious += bool(corrections)
            print(f"correct  {query!r}: {corrections or 'no correction'}")
        right = 0
        for query, meant in TYPOS.items():
            corrections = index.keyword(query, SearchFilters(), 20).corrections
            right += corrections.get(query.lower()) == meant
            print(f"typo     {query!r} (meant {meant!r}): {corrections or 'no correction'}")
        print(f"spurious corrections: {spurious} of {len(CORRECT)} correctly spelled queries; "
              f"typos corrected to the word meant: {right} of {len(TYPOS)}")


if __name__ == "__main__":
    main()

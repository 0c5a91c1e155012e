"""What is seen: ImageNet concepts per key frame (the image_features model's CONCEPT_IDS and CONCEPT_SCORES), named
plainly and merged into moments.

Class names: the 1000 ImageNet-1k classes in the network's output order are WordNet synsets; their ids
(``imagenet_synsets.txt``) and WordNet lemmas (``imagenet_synset_to_lemma.txt``) ship in timm's wheel
(``timm/data/_info``, a dependency already), read here as files without importing timm. WordNet's names are odd for
a viewer ("tabby, tabby cat", "bell cote, bell cot", "beach wagon, station wagon..."), and ImageNet splits common
things finely (5 house cats, 118 dogs): PLAIN_GROUPS names the classes it can plainly, with synonyms a searcher may
type, and a frame's score for a group is the sum of its classes' probabilities among the model's top 5 (a cat photo
scored Egyptian cat 0.78, tiger cat 0.10, tabby 0.09: "cat" 0.97). Every other class keeps its WordNet lemmas,
cleaned (no Latin binomials), its first lemma as its name. Other languages come from the multilingual text encoder
the concept's text is embedded with ("кошка" near "cat, kitten, kitty").
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from importlib.util import find_spec
from pathlib import Path

import numpy as np

IMAGENET_CLASSES = 1000


def _timm_info_dir() -> Path:
    spec = find_spec("timm")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("ImageNet class names ship in the timm package (timm/data/_info), which is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "data" / "_info"


@cache
def imagenet_lemmas() -> tuple[tuple[str, ...], ...]:
    """The WordNet lemmas of each ImageNet-1k class, in the network's output order."""
    info = _timm_info_dir()
    synsets = (info / "imagenet_synsets.txt").read_text().split()
    lemmas = dict(line.split("\t", 1) for line in (info / "imagenet_synset_to_lemma.txt").read_text().splitlines()
                  if "\t" in line)
    if len(synsets) != IMAGENET_CLASSES:
        raise RuntimeError(f"{info}/imagenet_synsets.txt lists {len(synsets)} classes, not {IMAGENET_CLASSES}")
    return tuple(_clean(lemmas[synset]) for synset in synsets)


def _clean(lemma_line: str) -> tuple[str, ...]:
    """WordNet lemmas without Latin binomials ("Felis concolor") or duplicates."""
    kept: list[str] = []
    for lemma in (part.strip() for part in lemma_line.split(",")):
        if lemma and not re.fullmatch(r"[A-Z][a-z]+ [a-z]+", lemma) and lemma not in kept:
            kept.append(lemma)
    return tuple(kept) or (lemma_line.split(",")[0].strip(),)


# Plain names for groups of ImageNet classes (indices in the network's order; tests/unit/test_visual_concepts.py
# checks a class of each against its WordNet name), with synonyms a searcher may type.
PLAIN_GROUPS: tuple[tuple[str, tuple[str, ...], tuple[int, ...]], ...] = (
    ("dog", ("puppy", "hound", "pet dog"), tuple(range(151, 269))),
    ("cat", ("kitten", "kitty", "house cat", "pet cat"), tuple(range(281, 286))),
    ("wolf", ("wild dog",), tuple(range(269, 273))),
    ("fox", (), tuple(range(277, 281))),
    ("big cat", ("wild cat", "lion", "tiger", "leopard"), tuple(range(286, 294))),
    ("bear", (), tuple(range(294, 298))),
    ("bird", ("birds", "songbird", "water bird"), (*range(7, 25), *range(80, 101), *range(127, 147))),
    ("fish", ("sea fish",), (*range(0, 7), *range(389, 398))),
    ("frog", ("toad",), tuple(range(30, 33))),
    ("turtle", ("tortoise",), tuple(range(33, 38))),
    ("lizard", ("reptile",), tuple(range(38, 49))),
    ("snake", ("serpent",), tuple(range(52, 69))),
    ("spider", (), tuple(range(72, 78))),
    ("butterfly", ("moth",), tuple(range(321, 327))),
    ("rabbit", ("bunny", "hare"), tuple(range(330, 333))),
    ("horse", ("pony",), (339, 603)),
    ("cattle", ("cow", "bull", "ox", "buffalo"), (345, 346, 347)),
    ("sheep", ("ram", "lamb"), (348, 349)),
    ("ape", ("monkey", "primate"), tuple(range(365, 383))),
    ("elephant", (), (101, 385, 386)),
    ("car", ("automobile", "motor car"), (436, 468, 511, 609, 627, 656, 661, 751, 817)),
    ("truck", ("lorry", "van"), (555, 569, 675, 717, 864, 867)),
    ("bus", ("coach",), (654, 779, 874)),
    ("train", ("railway", "locomotive", "tram"), (466, 547, 565, 705, 820, 829)),
    ("bicycle", ("bike", "cycling"), (444, 671, 870, 880)),
    ("motorcycle", ("motorbike", "scooter", "moped"), (665, 670)),
    ("boat", ("ship", "vessel"), (472, 484, 510, 554, 576, 625, 628, 724, 780, 814, 833, 871, 914)),
    ("airplane", ("aeroplane", "aircraft", "plane"), (404, 895, 908)),
    ("coffee", ("cup of coffee", "espresso", "mug"), (504, 967, 968)),
    ("clock", ("watch", "time"), (409, 530, 892)),
    ("church", ("chapel", "bell tower"), (442, 497)),
    ("telephone", ("phone", "mobile phone", "smartphone"), (487, 528, 707)),
    ("computer", ("laptop", "PC"), (527, 590, 620, 681)),
    ("guitar", (), (402, 546)),
    ("piano", (), (579, 881)),
    ("camera", ("photo camera",), (732, 759)),
    ("mushroom", ("fungus",), (947, *range(991, 998))),
)


@dataclass(frozen=True)
class Concept:
    name: str  # what a viewer calls it
    synonyms: tuple[str, ...]  # other words for it (a group's synonyms and its classes' WordNet lemmas)
    classes: tuple[int, ...]  # the ImageNet-1k classes it stands for

    @property
    def text(self) -> str:
        """What the search index holds of it: the name, then its synonyms."""
        return ", ".join((self.name, *self.synonyms))


@cache
def concept_of_class() -> tuple[Concept, ...]:
    """The concept each ImageNet-1k class counts towards, indexed by class."""
    lemmas = imagenet_lemmas()
    concepts: list[Concept | None] = [None] * IMAGENET_CLASSES
    for name, synonyms, classes in PLAIN_GROUPS:
        wordnet = tuple(dict.fromkeys(lemmas[c][0] for c in classes if lemmas[c][0] != name))
        group = Concept(name, synonyms + wordnet[:6], classes)  # a few of its classes' names: 118 dogs is too many
        for c in classes:
            if concepts[c] is not None:
                raise ValueError(f"ImageNet class {c} is in two plain groups")
            concepts[c] = group
    return tuple(concept or Concept(lemmas[c][0], lemmas[c][1:], (c,)) for c, concept in enumerate(concepts))


@dataclass(frozen=True)
class ConceptMoment:
    """One concept seen over consecutive key frames."""

    concept: str  # its plain name
    imagenet_class: str  # the WordNet name of its most probable ImageNet class there
    start_s: float  # the first key frame it was seen on
    end_s: float  # the next key frame it was not seen on (or the video's end): each key frame stands until the next
    confidence: float  # mean over those key frames of its probability (summed over its group's classes)
    text: str  # name and synonyms, as searched


def frame_concepts(ids: np.ndarray, scores: np.ndarray) -> dict[Concept, tuple[float, int]]:
    """One frame's concepts: each with its summed probability and its most probable class."""
    table = concept_of_class()
    found: dict[Concept, tuple[float, int]] = {}
    for class_id, score in zip(ids.tolist(), scores.tolist(), strict=True):
        concept = table[class_id]
        total, best = found.get(concept, (0.0, class_id))
        found[concept] = (total + score, best)
    return found


def seen_moments(times_s: Sequence[float], ids: np.ndarray, scores: np.ndarray, duration_s: float,
                 min_confidence: float) -> list[ConceptMoment]:
    """Concepts seen with at least ``min_confidence`` on consecutive key frames (rows of ``ids``/``scores``, at
    ``times_s``), each run one moment; by start, then confidence."""
    per_frame = [frame_concepts(i, s) for i, s in zip(ids, scores, strict=True)]
    ends = [*times_s[1:], max(duration_s, times_s[-1] if times_s else 0.0)]
    moments: list[ConceptMoment] = []
    open_runs: dict[Concept, list[tuple[int, float, int]]] = {}

    def close(concept: Concept, run: list[tuple[int, float, int]]) -> None:
        best_class = max(run, key=lambda r: r[1])[2]
        moments.append(ConceptMoment(concept.name, imagenet_lemmas()[best_class][0], float(times_s[run[0][0]]),
                                   float(ends[run[-1][0]]), round(sum(r[1] for r in run) / len(run), 3),
                                   concept.text))

    for n, found in enumerate(per_frame):
        for concept in [c for c in open_runs if found.get(c, (0.0, 0))[0] < min_confidence]:
            close(concept, open_runs.pop(concept))
        for concept, (score, best) in found.items():
            if score >= min_confidence:
                open_runs.setdefault(concept, []).append((n, score, best))
    for concept, run in open_runs.items():
        close(concept, run)
    return sorted(moments, key=lambda m: (m.start_s, -m.confidence))

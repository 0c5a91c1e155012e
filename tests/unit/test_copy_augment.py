"""The copy benchmark's chain sampler (bench/copy_augment.py) and corpus plan: coverage, ranges, determinism."""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

from bench.copy_augment import FAMILIES, MIXING, params_allowed, sample_chain
from bench.copy_bench_corpus import QUICK, plan

FILLERS = 12
DRAWS = 3000


def chains(seed: int) -> list[list[dict]]:
    rng = random.Random(seed)
    return [sample_chain(rng, FILLERS) for _ in range(DRAWS)]


def test_every_family_and_chain_length_is_drawn() -> None:
    drawn = chains(7)
    families = Counter(step["family"] for chain in drawn for step in chain)
    assert set(families) == set(FAMILIES)
    # uniform among the families still allowed: none far from its share (about 6000 steps / 25 families)
    assert min(families.values()) > 0.5 * max(families.values())
    assert Counter(len(chain) for chain in drawn).keys() == {1, 2, 3}


def test_parameters_within_their_documented_ranges() -> None:
    for chain in chains(8):
        for step in chain:
            assert params_allowed(step["family"], step["params"], FILLERS), step


def test_chain_rules() -> None:
    for chain in chains(9):
        families = [step["family"] for step in chain]
        assert len(set(families)) == len(families)
        assert sum(f in MIXING for f in families) <= 1


def test_params_allowed_rejects_values_out_of_range() -> None:
    step = sample_chain(random.Random(1), FILLERS)[0]
    assert not params_allowed(step["family"], {**step["params"], "extra": 1}, FILLERS)
    rotate = {"angle": 200.0, "zoom": True, "fill": "0x102030"}
    assert not params_allowed("rotate", rotate, FILLERS)
    assert params_allowed("rotate", {**rotate, "angle": -179.5}, FILLERS)
    assert not params_allowed("inset", {"width": 0.5, "x": 0.1, "y": 0.2, "mirror": False, "audio": "copy",
                                        "fillers": [FILLERS]}, FILLERS)


def test_sampling_is_deterministic_for_a_seed() -> None:
    assert chains(3) == chains(3)
    assert chains(3) != chains(4)


def test_corpus_plan_is_deterministic_and_roles_are_sound() -> None:
    folder = Path("/nonexistent/copy_bench")
    first, again, other = plan(folder, 1, QUICK), plan(folder, 1, QUICK), plan(folder, 2, QUICK)
    assert first == again
    assert [v.chain for v in first] != [v.chain for v in other]
    roles = Counter(v.role for v in first)
    assert roles == {"filler": QUICK.fillers, "reference": QUICK.references, "distractor": QUICK.distractors,
                     "query": QUICK.queries}
    by_id = {v.video_id: v for v in first}
    queries = [v for v in first if v.role == "query"]
    assert all(1 <= len(q.chain) <= 3 for q in queries)
    for q in queries:
        source = by_id[q.recipe["from"]]
        assert source.role == ("reference" if q.reference_id else "filler")
        assert q.reference_id in (None, source.video_id)
    assert sum(q.reference_id is None for q in queries) >= 2  # negative queries
    # the small slice has each kind of reference
    assert {by_id[f"ref-{n:03d}"].recipe["kind"] for n in range(QUICK.references)} == {"footage", "photo", "shapes",
                                                                                       "life"}

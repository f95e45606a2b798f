"""The flashcards eval: the dataset, the offline target's scores, and scorers that can fail."""

from __future__ import annotations

import asyncio
import copy
from collections import Counter
from typing import Any

import pytest

from evals.run import DATASETS_DIR, Suite, build_scorecard, load_dataset, run_cases
from evals.scorers import Score
from evals.scorers.flashcards import (
    FLASHCARDS_SCORERS,
    backs_supported,
    contract_valid,
    count_ok,
    front_answer_not_trivial,
    fronts_unique,
)
from evals.targets import eval_models, flashcards_target

DATASET = DATASETS_DIR / "flashcards.jsonl"
PASSAGE = """# Forces

**Weight** is the force of gravity acting on a mass. It is measured in newtons, e.g. with a
newton meter. Near the surface of the Earth, the gravitational field strength is 9.8 N/kg.

- Friction is a contact force that opposes motion between two surfaces.
- A force of 18 N stretches the spring by 6 cm.
"""
CASE: dict[str, Any] = {"id": "t-1", "passage": PASSAGE, "card_count": 3, "instructions": ""}
GOOD: dict[str, Any] = {
    "cards": [
        {"front": "What is weight?", "back": "Weight is the force of gravity acting on a mass."},
        {
            "front": "What is the gravitational field strength near the Earth's surface?",
            "back": "It is 9.8 N/kg near the surface of the Earth.",
        },
        {
            "front": "How is weight measured?",
            "back": "It is measured in newtons, e.g. with a newton meter.",
        },
    ]
}


def with_card(index: int, **changes: Any) -> dict[str, Any]:
    payload = copy.deepcopy(GOOD)
    payload["cards"][index].update(changes)
    return payload


def test_the_dataset_is_balanced_original_stem_material() -> None:
    cases = load_dataset(DATASET)
    assert len(cases) >= 20
    subjects = Counter(case["subject"] for case in cases)
    assert set(subjects) == {"physics", "chemistry", "biology", "maths"}
    assert max(subjects.values()) - min(subjects.values()) <= 1
    for case in cases:
        assert 80 <= len(case["passage"].split()) <= 250, case["id"]
        assert 1 <= case["card_count"] <= 12 and isinstance(case["instructions"], str)
    assert len({case["card_count"] for case in cases}) >= 8
    assert sum(bool(case["instructions"]) for case in cases) >= len(cases) // 2


def test_the_offline_target_meets_every_metric_on_the_dataset() -> None:
    suite = Suite("flashcards", DATASET, flashcards_target, FLASHCARDS_SCORERS)
    offline = eval_models("offline")
    results = asyncio.run(run_cases(suite, load_dataset(DATASET), offline))
    scorecard = build_scorecard(suite, results, {}, 0.0, models=offline)
    assert all(mean >= 0.95 for mean in scorecard["metrics"].values()), scorecard["failures"]


def test_a_good_deck_scores_one_everywhere() -> None:
    for name, scorer in FLASHCARDS_SCORERS.items():
        assert scorer(CASE, GOOD) == Score(1.0, []), name


def test_contract_valid_fails_a_broken_deck() -> None:
    score = contract_valid(CASE, with_card(0, back="Gravity."))
    assert score.value == 0.0
    assert score.reasons == ['Card 1 ("What is weight?"): `back` must have at least 3 words.']
    assert contract_valid(CASE, {"cards": []}).value == 0.0


def test_backs_supported_needs_one_sentence_that_states_the_back() -> None:
    invented = with_card(0, back="Weight is measured in kilograms on the Moon.")
    score = backs_supported(CASE, invented)
    assert score.value == pytest.approx(2 / 3)
    assert score.reasons[0].startswith("Card 1: no passage sentence supports")
    # Words from two different sentences do not support a back together.
    stitched = with_card(1, back="Friction stretches the spring by 6 cm.")
    assert backs_supported(CASE, stitched).value == pytest.approx(2 / 3)
    assert backs_supported(CASE, with_card(2, back="9.9 N/kg near Earth")).value < 1.0


def test_fronts_unique_fails_fronts_that_differ_only_in_case_or_punctuation() -> None:
    score = fronts_unique(CASE, with_card(2, front="what is WEIGHT"))
    assert score == Score(0.0, ["Card 3 repeats the front of card 1."])


def test_count_ok_fails_an_empty_or_oversized_deck() -> None:
    assert count_ok(CASE, {"cards": []}).value == 0.0
    assert count_ok({**CASE, "card_count": 2}, GOOD).value == 0.0


def test_front_answer_not_trivial_fails_a_front_that_holds_the_back() -> None:
    quoted = with_card(0, front="Weight is the force of gravity acting on a mass: true or false?")
    score = front_answer_not_trivial(CASE, quoted)
    assert score.value == pytest.approx(2 / 3)
    assert score.reasons[0].startswith("Card 1: the front")
    reworded = with_card(0, front="Which force of gravity acting on a mass is called weight?")
    assert front_answer_not_trivial(CASE, reworded).value == pytest.approx(2 / 3)


@pytest.mark.parametrize("payload", [None, "cards", {"cards": "x"}, {"cards": [None, 3]}])
def test_scorers_never_raise_on_junk_and_score_it_zero(payload: Any) -> None:
    for name, scorer in FLASHCARDS_SCORERS.items():
        score = scorer(CASE, payload)
        # count_ok only counts: two junk entries are still two cards.
        assert score.value == (1.0 if name == "count_ok" and payload == {"cards": [None, 3]} else 0)

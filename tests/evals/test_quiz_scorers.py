"""The quiz scorers on hand-written quizzes: each passes a good quiz and fails a bad one."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from evals.scorers import Score
from evals.scorers.quiz import (
    QUIZ_SCORERS,
    answer_supported,
    contract_valid,
    count_ok,
    distractors_valid,
    explanation_grounded,
    no_duplicates,
)

PASSAGE = (
    "Weight is the force of gravity acting on a mass. It is measured in newtons with a newton "
    "meter. Near the surface of the Earth, the gravitational field strength is 9.8 N/kg. Mass "
    "is measured in kilograms and stays the same on the Moon. Friction is a contact force that "
    "opposes motion between two surfaces. A force of 18 N stretches the spring by 6 cm."
)
CASE: dict[str, Any] = {
    "id": "test-001",
    "subject": "physics",
    "title": "Weight and friction",
    "passage": PASSAGE,
    "question_count": 4,
    "instructions": "",
}


def _question(
    question: str, answer: str, distractors: list[str], explanation: str
) -> dict[str, Any]:
    return {
        "question": question,
        "choices": [answer, *distractors],
        "answer": answer,
        "explanation": explanation,
    }


GOOD: dict[str, Any] = {
    "questions": [
        _question(
            "In what unit is weight measured?",
            "newtons",
            ["kilograms", "joules", "watts"],
            'The passage says "It is measured in newtons with a newton meter."',
        ),
        _question(
            "What is the gravitational field strength near the surface of the Earth?",
            "9.8 N/kg",
            ["1.6 N/kg", "98 N/kg", "0.98 N/kg"],
            "\u201cthe gravitational field strength is 9.8 N/kg\u201d, as the passage states.",
        ),
        _question(
            "Which contact force opposes motion between two surfaces?",
            "Friction",
            ["Weight", "Tension", "Upthrust"],
            'From the passage: "Friction is a contact force that opposes motion".',
        ),
    ]
}


def _good() -> dict[str, Any]:
    return copy.deepcopy(GOOD)


def _with(index: int, **changes: Any) -> dict[str, Any]:
    """The good quiz with some fields of question `index` replaced."""
    payload = _good()
    payload["questions"][index].update(changes)
    return payload


def _assert_perfect(score: Score) -> None:
    assert score.value == 1.0, score.reasons
    assert score.reasons == []


@pytest.mark.parametrize("name", list(QUIZ_SCORERS))
def test_every_scorer_passes_the_good_quiz(name: str) -> None:
    _assert_perfect(QUIZ_SCORERS[name](CASE, _good()))


@pytest.mark.parametrize(
    "payload", [None, [], "quiz", {}, {"questions": "none"}, {"questions": []}]
)
@pytest.mark.parametrize("name", list(QUIZ_SCORERS))
def test_every_scorer_gives_zero_for_an_unreadable_quiz(name: str, payload: Any) -> None:
    score = QUIZ_SCORERS[name](CASE, payload)
    assert score.value == 0.0
    assert score.reasons


@pytest.mark.parametrize("name", list(QUIZ_SCORERS))
def test_scorers_survive_questions_of_the_wrong_shape(name: str) -> None:
    payload = {"questions": ["not an object", {"question": 3, "choices": None}]}
    score = QUIZ_SCORERS[name](CASE, payload)
    assert 0.0 <= score.value <= 1.0


# --- contract_valid -----------------------------------------------------------------------------


def test_contract_valid_fails_when_the_answer_is_not_a_choice() -> None:
    score = contract_valid(CASE, _with(0, answer="Newtons"))
    assert score.value == 0.0
    assert any("answer" in reason for reason in score.reasons)


def test_contract_valid_fails_with_three_choices() -> None:
    score = contract_valid(CASE, _with(1, choices=["9.8 N/kg", "1.6 N/kg", "98 N/kg"]))
    assert score.value == 0.0


def test_contract_valid_fails_with_too_many_questions() -> None:
    assert contract_valid({**CASE, "question_count": 2}, _good()).value == 0.0


# --- answer_supported ---------------------------------------------------------------------------


def test_answer_supported_counts_the_fraction_of_supported_answers() -> None:
    payload = _with(0, answer="joules", choices=["joules", "kilograms", "newtons", "watts"])
    score = answer_supported(CASE, payload)
    assert score.value == pytest.approx(2 / 3)
    assert score.reasons == ["Q1: the answer 'joules' is not in the passage."]


def test_answer_supported_ignores_case_spacing_and_edge_punctuation() -> None:
    payload = _with(
        0, answer="  NEWTONS. ", choices=["  NEWTONS. ", "kilograms", "joules", "watts"]
    )
    _assert_perfect(answer_supported(CASE, payload))


def test_answer_supported_matches_whole_words_only() -> None:
    # "8 N" occurs only inside "18 N" and "9.8 N/kg", neither of which supports it.
    payload = _with(1, answer="8 N", choices=["8 N", "1.6 N", "98 N", "0.98 N"])
    assert answer_supported(CASE, payload).value == pytest.approx(2 / 3)


def test_answer_supported_accepts_content_words_from_one_sentence() -> None:
    # Not a phrase of the passage, but "contact" and "force" are both in the friction sentence.
    payload = _with(2, answer="A contact force", choices=["A contact force", "B", "C", "D"])
    _assert_perfect(answer_supported(CASE, payload))


def test_answer_supported_rejects_content_words_spread_over_sentences() -> None:
    # "gravity" and "kilograms" are both in the passage, but never in the same sentence.
    payload = _with(2, answer="gravity kilograms", choices=["gravity kilograms", "B", "C", "D"])
    assert answer_supported(CASE, payload).value == pytest.approx(2 / 3)


def test_answer_supported_sees_through_invisible_characters() -> None:
    case = {**CASE, "passage": PASSAGE.replace("newtons", "new\u200btons")}
    _assert_perfect(answer_supported(case, _good()))


# --- explanation_grounded -----------------------------------------------------------------------


def test_explanation_grounded_fails_without_a_quote() -> None:
    score = explanation_grounded(CASE, _with(0, explanation="Weight is a force, so newtons."))
    assert score.value == pytest.approx(2 / 3)
    assert "quotes no passage span" in score.reasons[0]


def test_explanation_grounded_fails_on_an_invented_quote() -> None:
    payload = _with(0, explanation='The text says "weight is always measured in newtons".')
    score = explanation_grounded(CASE, payload)
    assert score.value == pytest.approx(2 / 3)
    assert "is not in the passage" in score.reasons[0]


def test_explanation_grounded_needs_five_quoted_words() -> None:
    payload = _with(0, explanation='It is "measured in newtons" in the passage.')
    assert explanation_grounded(CASE, payload).value == pytest.approx(2 / 3)


def test_explanation_grounded_accepts_a_quote_without_markdown_emphasis() -> None:
    case = {**CASE, "passage": "# Forces\n\n- Friction is a **contact force** that opposes motion."}
    payload = {"questions": [GOOD["questions"][2]]}
    _assert_perfect(explanation_grounded(case, payload))


def test_explanation_grounded_ignores_case_and_ellipses() -> None:
    payload = _with(0, explanation='See "\u2026MEASURED in newtons with a newton meter".')
    _assert_perfect(explanation_grounded(CASE, payload))


# --- distractors_valid --------------------------------------------------------------------------


def test_distractors_valid_rejects_the_answer_in_another_form() -> None:
    payload = _with(0, choices=["newtons", "Newton.", "joules", "watts"])
    score = distractors_valid(CASE, payload)
    assert score.value == pytest.approx(2 / 3)
    assert "the answer written differently" in score.reasons[0]


def test_distractors_valid_rejects_a_distractor_that_contains_the_answer() -> None:
    payload = _with(2, choices=["Friction", "Friction force", "Tension", "Upthrust"])
    score = distractors_valid(CASE, payload)
    assert score.value == pytest.approx(2 / 3)
    assert "overlaps the answer" in score.reasons[0]


def test_distractors_valid_allows_numbers_that_only_share_digits() -> None:
    payload = _with(1, choices=["9.8 N/kg", "8 N/kg", "98 N/kg", "9.81 N/kg"])
    _assert_perfect(distractors_valid(CASE, payload))


def test_distractors_valid_rejects_a_distractor_from_the_supporting_sentence() -> None:
    # "Moon" is in "Mass is measured in kilograms and stays the same on the Moon."
    payload = {
        "questions": [
            _question(
                "What is measured in kilograms?",
                "Mass",
                ["Moon", "Weight", "Energy"],
                '"Mass is measured in kilograms and stays the same"',
            )
        ]
    }
    score = distractors_valid(CASE, payload)
    assert score.value == 0.0
    assert "could also be correct" in score.reasons[0]


def test_distractors_valid_checks_the_sentence_closest_to_the_question() -> None:
    # "number" is in both sentences; the question matches the second, which has neither
    # "greater" nor "factor" in it.
    case = {
        **CASE,
        "passage": "A prime number greater than 1 has exactly two factors. "
        "The number 2 is the only even prime number.",
    }
    payload = {
        "questions": [
            _question(
                'Complete: "The ____ 2 is the only even prime ____."',
                "number",
                ["greater", "factor", "value"],
                '"The number 2 is the only even prime number."',
            )
        ]
    }
    _assert_perfect(distractors_valid(case, payload))


def test_distractors_valid_rejects_two_distractors_that_are_the_same_option() -> None:
    payload = _with(0, choices=["newtons", "joule", "Joules", "watts"])
    assert distractors_valid(CASE, payload).value == pytest.approx(2 / 3)


# --- no_duplicates ------------------------------------------------------------------------------


def test_no_duplicates_rejects_a_repeated_question() -> None:
    payload = _good()
    repeat = copy.deepcopy(payload["questions"][0])
    repeat["question"] = "  in WHAT unit is weight   measured "
    payload["questions"].append(repeat)
    score = no_duplicates(CASE, payload)
    assert score.value == 0.0
    assert any("repeats Q1" in reason for reason in score.reasons)


def test_no_duplicates_rejects_the_same_fact_asked_twice() -> None:
    payload = _good()
    payload["questions"].append(
        _question(
            "What does a newton meter show weight in?",
            "Newtons",
            ["grams", "metres", "seconds"],
            '"It is measured in newtons with a newton meter."',
        )
    )
    score = no_duplicates(CASE, payload)
    assert score.value == 0.0
    assert any("same fact as Q1" in reason for reason in score.reasons)


def test_no_duplicates_allows_one_answer_from_different_sentences() -> None:
    payload = {
        "questions": [
            GOOD["questions"][0],
            _question(
                "What is the force of gravity acting on a mass called?",
                "Weight",
                ["Friction", "Tension", "Upthrust"],
                '"Weight is the force of gravity acting on a mass."',
            ),
            _question(
                "What stays the same on the Moon?",
                "Mass",
                ["Weight", "Friction", "Tension"],
                '"Mass is measured in kilograms and stays the same on the Moon."',
            ),
        ]
    }
    _assert_perfect(no_duplicates(CASE, payload))


# --- count_ok -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("limit", "expected"), [(3, 1.0), (8, 1.0), (2, 0.0), (1, 0.0)])
def test_count_ok_checks_the_requested_size(limit: int, expected: float) -> None:
    score = count_ok({**CASE, "question_count": limit}, _good())
    assert score.value == expected
    assert bool(score.reasons) is (expected == 0.0)


def test_count_ok_rejects_an_empty_quiz() -> None:
    assert count_ok(CASE, {"questions": []}).value == 0.0


# --- general ------------------------------------------------------------------------------------


def test_scorers_are_pure() -> None:
    payload = _good()
    before = copy.deepcopy(payload)
    first = {name: scorer(CASE, payload) for name, scorer in QUIZ_SCORERS.items()}
    second = {name: scorer(CASE, payload) for name, scorer in QUIZ_SCORERS.items()}
    assert first == second
    assert payload == before


def test_every_scorer_explains_what_failing_means() -> None:
    for name, scorer in QUIZ_SCORERS.items():
        assert "Failing means" in " ".join((scorer.__doc__ or "").split()), name

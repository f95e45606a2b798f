"""The flashcards contract: shape, non-empty text, three-word backs, unique fronts, the count."""

from __future__ import annotations

from typing import Any

import pytest

from tools.payloads.flashcards import back_word_count, front_key, validate_flashcards


def card(front: str = "What is inertia?", back: str = "Inertia resists changes in motion.") -> Any:
    return {"front": front, "back": back}


def test_a_valid_deck_has_no_errors() -> None:
    deck = {"cards": [card(), card("Define momentum.", "Momentum is mass times velocity.")]}
    assert validate_flashcards(deck, card_count=2) == []


def test_extra_keys_on_a_card_are_not_errors() -> None:
    assert validate_flashcards({"cards": [{**card(), "hint": "x"}]}, card_count=1) == []


@pytest.mark.parametrize("payload", [None, [], "cards", 3, {"cards": None}, {"cards": []}, {}])
def test_a_payload_without_a_card_list_is_one_error(payload: Any) -> None:
    errors = validate_flashcards(payload, card_count=5)
    assert len(errors) == 1 and "cards" in errors[0]


def test_more_cards_than_requested_is_an_error() -> None:
    deck = {"cards": [card(f"Question {i}?") for i in range(4)]}
    assert validate_flashcards(deck, card_count=3) == ["There are 4 cards; at most 3 are allowed."]


def test_a_card_that_is_not_an_object_is_named() -> None:
    assert validate_flashcards({"cards": [card(), "front/back"]}, card_count=2) == [
        "Card 2 must be an object with `front` and `back`."
    ]


@pytest.mark.parametrize("front", [None, "", "   ", 7, ["What?"]])
def test_front_must_be_non_empty_text(front: Any) -> None:
    (error,) = validate_flashcards(
        {"cards": [{"front": front, "back": "A long answer."}]}, card_count=1
    )
    assert error.startswith("Card 1") and "`front` must be non-empty text" in error


@pytest.mark.parametrize("back", [None, "", "\n\t", 3.5, {"text": "answer"}])
def test_back_must_be_non_empty_text(back: Any) -> None:
    (error,) = validate_flashcards({"cards": [card(back=back)]}, card_count=1)
    assert '"What is inertia?"' in error and "`back` must be non-empty text" in error


@pytest.mark.parametrize("back", ["Inertia", "Resists motion.", "Two - -", "9.8 m/s²"])
def test_back_needs_at_least_three_words(back: str) -> None:
    (error,) = validate_flashcards({"cards": [card(back=back)]}, card_count=1)
    assert error == 'Card 1 ("What is inertia?"): `back` must have at least 3 words.'


def test_fronts_are_compared_without_case_spacing_or_punctuation() -> None:
    deck = {
        "cards": [
            card("What is inertia?"),
            card("Define momentum.", "Momentum is mass times velocity."),
            card("what  is INERTIA", "The tendency to resist changes in motion."),
        ]
    }
    assert validate_flashcards(deck, card_count=5) == [
        'Card 3 ("what is INERTIA") has the same front as card 1.'
    ]


def test_every_problem_is_reported_and_long_fronts_are_clipped() -> None:
    long_front = "Explain " + "very " * 30 + "carefully."
    deck = {"cards": [card(long_front, "Too short"), card("", "fine answer here"), card()]}
    errors = validate_flashcards(deck, card_count=2)
    assert errors[0] == "There are 3 cards; at most 2 are allowed."
    assert errors[1].startswith('Card 1 ("Explain very') and "\u2026" in errors[1]
    assert errors[1].endswith("`back` must have at least 3 words.")
    assert errors[2] == "Card 2: `front` must be non-empty text."
    assert len(errors) == 3


def test_front_key_keeps_only_lower_case_letters_and_digits() -> None:
    assert front_key("  What is the SI unit of Force? ") == "whatisthesiunitofforce"
    assert front_key("Define: half-life (t½)") == "definehalflifet½"
    assert front_key("Él — ¿qué es?") == "élquées"
    assert front_key("???") == ""


def test_back_words_must_hold_a_letter_or_digit() -> None:
    assert back_word_count("F = m × a") == 3
    assert back_word_count("— — force") == 1
    assert back_word_count("  9.8 m/s² downwards ") == 3

"""Sentence splitting."""

from __future__ import annotations

from tools.text.clean import clean_material
from tools.text.sentences import material_sentences, split_sentences


def test_split_sentences_respects_abbreviations_decimals_and_initials() -> None:
    text = (
        "Dr. Smith measured 9.81 m/s² in the lab, e.g. with a pendulum. "
        "J. J. Thomson discovered the electron. The current was 2 A. Then it fell!"
    )
    assert split_sentences(text) == [
        "Dr. Smith measured 9.81 m/s² in the lab, e.g. with a pendulum.",
        "J. J. Thomson discovered the electron.",
        "The current was 2 A.",
        "Then it fell!",
    ]


def test_material_sentences_are_slices_of_the_cleaned_material() -> None:
    raw = "Source 1 | Heat\n- **Heat** flows from hot to cold. It stops at equilibrium.\n"
    cleaned = clean_material(raw)
    sentences = material_sentences(raw)
    assert sentences == ["Heat flows from hot to cold.", "It stops at equilibrium."]
    assert all(s in cleaned for s in sentences)

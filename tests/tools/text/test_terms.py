"""Key terms of sentences and materials."""

from __future__ import annotations

import pytest

from tools.text.sentences import material_sentences
from tools.text.terms import find_terms, key_terms, looks_like_noun, lower_first


def test_lower_first_and_looks_like_noun() -> None:
    assert lower_first("Photosynthesis uses light.") == "photosynthesis uses light."
    assert lower_first("DNA is a molecule.") == "DNA is a molecule."
    assert looks_like_noun("chlorophyll")
    assert not looks_like_noun("quickly")
    assert not looks_like_noun("chemical")
    assert not looks_like_noun("newtons")


@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        ("Acceleration is the rate of change of velocity.", [("Acceleration", "term")]),
        (
            "Newton's second law states that force equals mass times acceleration.",
            [("Newton's second law", "name")],
        ),
        (
            "Force is measured in newtons.",
            [("Force", "term"), ("newtons", "unit")],
        ),
        ("The SI unit of power is the watt.", [("watt", "unit")]),
        ("A polygon with eight sides is called an octagon.", [("octagon", "term")]),
        ("Water has the formula H2O and salt is NaCl.", [("H2O", "formula"), ("NaCl", "formula")]),
        (
            "It was discovered by Marie Curie in Paris.",
            [("Marie Curie", "name"), ("Paris", "name")],
        ),
        ("The Krebs cycle releases carbon dioxide.", [("Krebs cycle", "name")]),
    ],
)
def test_find_terms(sentence: str, expected: list[tuple[str, str]]) -> None:
    spans = find_terms(sentence)
    assert [(s.text, s.kind) for s in spans] == expected
    assert all(sentence[s.start : s.end] == s.text for s in spans)


def test_find_terms_ignores_pronoun_subjects_and_sentence_initial_capitals() -> None:
    assert find_terms("It is a very common mistake in class.") == []
    assert find_terms("Heavy objects fall at the same rate.") == []


def test_key_terms_ranks_introduced_terms_and_recurring_nouns() -> None:
    sentences = [
        "Osmosis is the movement of water across a membrane.",
        "The membrane controls what enters the cell.",
        "Water moves by osmosis when concentrations differ.",
        "The cell releases the energy it needs.",
        "Cells use energy quickly; the energy comes from glucose.",
    ]
    terms = key_terms(sentences)
    texts = [t.text for t in terms]
    assert texts[0] == "osmosis"
    assert "membrane" in texts
    assert "releases" not in texts  # a verb: followed by "the"
    assert "quickly" not in texts
    assert len(texts) == len({t.casefold() for t in texts})


def test_key_terms_is_order_stable() -> None:
    sentences = material_sentences(
        "Energy is stored in glucose. Glucose is made by plants. Plants need energy and light."
    )
    assert key_terms(sentences) == key_terms(list(sentences))

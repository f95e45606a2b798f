"""Tests for the deterministic offline flashcards engine."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tools.offline.flashcards import MAX_CARDS, offline_flashcards
from tools.payloads.flashcards import front_key, validate_flashcards
from tools.text.sentences import material_sentences

PHYSICS = """Source 1 | Forces | material 1
# Forces and motion

**Force** is a push or a pull that acts on an object.
The SI unit of force is the newton.
Newton's first law states that an object keeps moving at a steady velocity unless a resultant
force acts on it.
Acceleration is measured in metres per second squared.
The speed of sound in air is about 343 m/s at room temperature.

Source 2 | Energy | material 2
Kinetic energy, also called movement energy, is the energy an object has because it moves.
According to the law of conservation of energy, energy cannot be created or destroyed.
A falling ball transfers gravitational potential energy to kinetic energy.
"""

BIOLOGY = """## Cells
- **Mitochondria**: the organelles where aerobic respiration releases energy.
- Photosynthesis converts light energy into chemical energy stored in glucose.
- Human body cells contain 46 chromosomes arranged in 23 pairs.
- Osmosis means the movement of water across a partially permeable membrane.
- A substance that speeds up a reaction in a cell without being used up is called an enzyme.
- Carbon has a molar mass of 12 g/mol, which chemists use in calculations.
"""


def cards(material: str, count: int = 12, **kw: str) -> list[dict[str, str]]:
    deck = offline_flashcards(material, card_count=count, **kw)
    assert validate_flashcards(deck, card_count=count) == []
    result: list[dict[str, str]] = deck["cards"]
    return result


def by_front(deck: list[dict[str, str]]) -> dict[str, str]:
    return {c["front"]: c["back"] for c in deck}


def test_definitions_facts_units_and_laws_become_questions() -> None:
    fronts = by_front(cards(PHYSICS))
    assert fronts["What is force?"] == "Force is a push or a pull that acts on an object."
    assert fronts["What is the SI unit of force?"] == "The SI unit of force is the newton."
    assert "Newton's first law states" in fronts["What does Newton's first law state?"]
    assert "In what unit is acceleration measured?" in fronts
    assert "343 m/s" in fronts["What is the speed of sound in air?"]
    assert "also called movement energy" in fronts["What is kinetic energy?"]
    assert fronts["What does the law of conservation of energy state?"].startswith("According")


def test_named_terms_processes_and_counts_in_markdown_lists() -> None:
    fronts = by_front(cards(BIOLOGY))
    assert fronts["Define mitochondria."].startswith("Mitochondria: the organelles")
    assert "What does photosynthesis convert?" in fronts
    assert "How many chromosomes do human body cells contain?" in fronts
    assert "What does osmosis mean?" in fronts
    assert fronts["What is an enzyme?"].endswith("is called an enzyme.")
    assert "What is the molar mass of carbon?" in fronts


def test_every_back_is_a_verbatim_sentence_of_the_cleaned_material() -> None:
    for material in (PHYSICS, BIOLOGY):
        sentences = set(material_sentences(material))
        for item in cards(material):
            assert item["back"] in sentences
            assert "**" not in item["back"] and "Source" not in item["back"]


def test_fronts_are_unique_and_never_contain_the_back() -> None:
    for material in (PHYSICS, BIOLOGY):
        deck = cards(material, 30)
        keys = [front_key(c["front"]) for c in deck]
        assert len(keys) == len(set(keys))
        assert all(front_key(c["back"]) not in front_key(c["front"]) for c in deck)


def test_the_card_count_is_respected_and_capped() -> None:
    assert len(cards(PHYSICS, 1)) == 1
    assert len(cards(PHYSICS, 3)) == 3
    material = " ".join(f"Substance {i} is a compound number {i} of the series." for i in range(50))
    assert len(offline_flashcards(material, card_count=100)["cards"]) == MAX_CARDS
    assert offline_flashcards(PHYSICS, card_count=0) == {"cards": []}


@pytest.mark.parametrize(
    "material",
    [
        "",
        "   \n\u200b",
        "# Heading only\n## Another",
        "???",
        "Yes. No. Maybe.",
        "|a|b|\n|1|2|",
        "12 34 56 78.",
        "```\nx = 1 is the value\n```",
    ],
)
def test_unusable_material_gives_no_cards(material: str) -> None:
    assert offline_flashcards(material, card_count=5) == {"cards": []}


def test_a_sentence_that_fits_no_template_becomes_a_fill_in_card() -> None:
    material = (
        "Sound travels through dry air at roughly 343 m/s at twenty degrees. "
        "Sound travels faster through water than through air."
    )
    (first, *_) = cards(material, 2)
    assert first["front"] == (
        "Fill in the blank: Sound travels through dry air at roughly ____ at twenty degrees."
    )


def test_instructions_choose_the_topic_and_the_kind_of_card() -> None:
    (only,) = cards(PHYSICS, 1, instructions="Please focus on sound.")
    assert only["front"] == "What is the speed of sound in air?"
    (unit,) = cards(PHYSICS, 1, instructions="Units only")
    assert "unit" in unit["front"]
    without = cards(PHYSICS, 5, instructions="Avoid anything about energy.")
    assert not any("energy" in c["back"].lower() for c in without)


def test_the_blueprint_breaks_ties_towards_its_topics() -> None:
    material = "Friction is a force that opposes motion. Tension is a force in a stretched rope."
    (plain,) = cards(material, 1)
    (hinted,) = cards(material, 1, blueprint="Topics: ropes, tension and strings")
    assert plain["front"] == "What is friction?" and hinted["front"] == "What is tension?"


def test_cards_are_spread_across_the_material_and_kept_in_order() -> None:
    material = "\n".join(
        f"Element {name} is a metal found in group {i % 3 + 1} of the table."
        for i, name in enumerate("ABCDEFGHIJKLMNOPQRST")
    )
    deck = cards(material, 4)
    order = [material.index(c["back"]) for c in deck]
    assert order == sorted(order) and order[-1] - order[0] > len(material) // 2


def test_names_keep_their_capitals_and_common_nouns_are_lowered() -> None:
    material = (
        "Ohm's law states that current is proportional to voltage. "
        "Mercury is the planet closest to the Sun, and Mercury has no moons. "
        "Photosynthesis is the process plants use to make glucose."
    )
    fronts = by_front(cards(material))
    assert {"What does Ohm's law state?", "What is Mercury?", "What is photosynthesis?"} <= set(
        fronts
    )


def test_one_term_gets_one_definition_card() -> None:
    material = "Density is the mass per unit volume. Density is the ratio of mass to volume."
    fronts = [c["front"] for c in cards(material, 5)]
    assert fronts[0] == "What is density?"
    assert "Define density." not in fronts


def test_sentences_that_need_their_context_are_not_questions() -> None:
    material = "It is the unit of energy. They are found in the nucleus. This is called a joule."
    assert offline_flashcards(material, card_count=5) == {"cards": []}


def test_the_engine_is_deterministic() -> None:
    first = offline_flashcards(PHYSICS + BIOLOGY, card_count=8, instructions="energy")
    assert all(
        offline_flashcards(PHYSICS + BIOLOGY, card_count=8, instructions="energy") == first
        for _ in range(3)
    )


def test_a_large_material_gives_a_full_valid_deck() -> None:
    # Its speed is measured by `make bench` (bench/offline.py), not asserted here.
    path = Path(__file__).resolve().parents[3] / "evals" / "datasets" / "flashcards.jsonl"
    passages = [json.loads(line)["passage"] for line in path.read_text().splitlines() if line]
    parts: list[str] = []
    while sum(map(len, parts)) < 100_000:
        i = len(parts)
        text = passages[i % len(passages)].replace(". ", f" in trial {i}. ")
        parts.append(f"Source {i} | Part {i} | notes {i}\n{text}")
    material = "\n\n".join(parts)[:100_000]
    deck: dict[str, Any] = offline_flashcards(material, card_count=30, instructions="definitions")
    assert validate_flashcards(deck, card_count=30) == []
    assert len(deck["cards"]) == 30

"""Tests for the offline text-analysis helpers."""

from __future__ import annotations

import pytest

from tools.offline.extract import (
    clean_material,
    content_words,
    find_quantities,
    find_terms,
    is_source_header,
    key_terms,
    looks_like_noun,
    lower_first,
    material_sentences,
    split_sentences,
    stem,
    strip_markdown,
    words,
)


@pytest.mark.parametrize(
    "line",
    [
        "Source 2 | Newton's laws | material 1",
        "source 12 | Cells",
        "## Source 3 | Photosynthesis | material 2",
        "[Source 4]",
        "Source 5",
        "Source 6: Newton's laws",
        "**Material 7** - Waves",
    ],
)
def test_source_headers_are_recognised(line: str) -> None:
    assert is_source_header(line)


@pytest.mark.parametrize(
    "line",
    [
        "Sources of energy include coal and wind.",
        "The source of the river is a spring.",
        "Material 1: Copper is a good conductor of heat.",
    ],
)
def test_prose_is_not_a_source_header(line: str) -> None:
    assert not is_source_header(line)


def test_strip_markdown_removes_block_and_inline_markup() -> None:
    assert strip_markdown("## **Force** and `mass`") == "Force and mass"
    assert strip_markdown("- *Velocity* is a [vector](http://x.test/v).") == "Velocity is a vector."
    assert strip_markdown("3. Heat flows from hot to cold") == "Heat flows from hot to cold"
    assert strip_markdown("> quoted __text__") == "quoted text"
    assert strip_markdown("2 * 3 = 6 and snake_case_name") == "2 * 3 = 6 and snake_case_name"


def test_clean_material_drops_headers_markup_code_and_invisibles() -> None:
    raw = (
        "Source 1 | Forces | material 1\n"
        "# Forces\n"
        "\n"
        "**Force** is a push\u200b or a pull.\ufeff\n"
        "```\nprint('code')\n```\n"
        "| a | b |\n"
        "---\n"
        "- Mass is measured in kilograms\n"
        "- Weight is a force\n"
    )
    cleaned = clean_material(raw)
    assert cleaned.split("\n") == [
        "Forces",
        "Force is a push or a pull.",
        "Mass is measured in kilograms",
        "Weight is a force",
    ]


def test_clean_material_joins_hard_wrapped_lines_only() -> None:
    raw = (
        "Newton's second law states that the resultant force on an object\n"
        "equals its mass times its acceleration.\n"
        "Key facts\n"
        "Energy is conserved."
    )
    assert clean_material(raw).split("\n") == [
        "Newton's second law states that the resultant force on an object equals its mass "
        "times its acceleration.",
        "Key facts",
        "Energy is conserved.",
    ]


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


def test_words_stem_and_content_words() -> None:
    assert words("Newton's law, well-known; 3 forces") == [
        "Newton's",
        "law",
        "well-known",
        "forces",
    ]
    assert [stem(w) for w in ("forces", "batteries", "glasses", "Newton's", "gas", "boxes")] == [
        "force",
        "battery",
        "glass",
        "newton",
        "gas",
        "box",
    ]
    assert content_words("Focus on the units of forces and photosynthesis") == [
        "focus",
        "unit",
        "force",
        "photosynthesis",
    ]


def test_lower_first_and_looks_like_noun() -> None:
    assert lower_first("Photosynthesis uses light.") == "photosynthesis uses light."
    assert lower_first("DNA is a molecule.") == "DNA is a molecule."
    assert looks_like_noun("chlorophyll")
    assert not looks_like_noun("quickly")
    assert not looks_like_noun("chemical")
    assert not looks_like_noun("newtons")


def test_find_quantities_reads_values_units_and_notation() -> None:
    sentence = (
        "Light travels at 3.00 × 10^8 m/s, gravity is 9.8 m/s², humans have 46 chromosomes "
        "and air is 21% oxygen at -5 °C."
    )
    found = {q.text: q for q in find_quantities(sentence)}
    assert list(found) == ["3.00 × 10^8 m/s", "9.8 m/s²", "46 chromosomes", "21%", "-5 °C"]
    light = found["3.00 × 10^8 m/s"]
    assert light.value == pytest.approx(3.0e8)
    assert (light.unit, light.unit_kind, light.decimals) == ("m/s", "symbol", 2)
    assert found["46 chromosomes"].unit_kind == "count"
    assert found["-5 °C"].value == -5
    assert all(sentence[q.start : q.end] == q.text for q in found.values())


def test_find_quantities_skips_ranges_formulas_and_ordinals() -> None:
    sentence = "Between 10-20 m, a ratio of 3:4, H2O and CO2, and Newton's 2nd law."
    assert [q.text for q in find_quantities(sentence)] == []


def test_find_quantities_reads_words_superscripts_and_grouping() -> None:
    found = find_quantities("It weighs 1,200 newtons and holds 6.022 × 10²³ particles per mole.")
    assert [q.text for q in found] == ["1,200 newtons", "6.022 × 10²³ particles"]
    assert found[0].unit_kind == "word"
    assert found[1].exponent == 23


def test_quantity_format_copies_the_original_style() -> None:
    grouped, sci = find_quantities("It weighs 1,200 newtons and holds 6.022 × 10²³ particles.")
    assert grouped.format(2400) == "2,400 newtons"
    assert sci.format(sci.mantissa, 24) == "6.022 × 10²⁴ particles"
    (caret,) = find_quantities("Light is 3.00 × 10^8 m/s fast.")
    assert caret.format(1.5, 9) == "1.50 × 10^9 m/s"
    (plain,) = find_quantities("Water boils at 100°C at sea level.")
    assert plain.format(50) == "50°C"


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

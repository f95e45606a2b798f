"""Numbers with units."""

from __future__ import annotations

import pytest

from tools.text.quantities import find_quantities


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

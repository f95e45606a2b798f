"""Quantities: numbers with their units as written in a sentence, and other values in that style."""

from __future__ import annotations

import re
from dataclasses import dataclass

from tools.text.words import STOPWORDS, stem, wordlist

UNIT_NAMES = wordlist(
    """metre meter kilometre kilometer centimetre centimeter millimetre millimeter nanometre
    nanometer micrometre gram kilogram milligram tonne second millisecond minute hour day year
    newton joule kilojoule watt kilowatt volt ampere amp ohm hertz kelvin coulomb pascal
    kilopascal mole litre liter millilitre milliliter calorie kilocalorie tesla farad electronvolt
    degree percent light-year atmosphere decibel"""
)
_UNIT_WORD = "(?:" + "|".join(sorted(UNIT_NAMES, key=len, reverse=True)) + ")(?:e?s)?"
UNIT_PHRASE = (
    rf"{_UNIT_WORD}(?:\s+(?:Celsius|Fahrenheit))?"
    rf"(?:\s+per\s+{_UNIT_WORD})?(?:\s+(?:squared|cubed))?"
)
"""Regex source matching a unit written in words, e.g. `metres per second squared`."""

_SYMBOLS = sorted(
    wordlist(
        """m/s² m/s^2 m/s2 m/s km/h km/s kg/m³ kg/m^3 g/cm³ g/cm^3 g/mL g/mol mol/L J/kg N/m J/s
    °C °F ° kg mg µg μg km cm mm nm µm μm m² m³ cm² cm³ m s ms min h hr N kN J kJ MJ eV W kW
    MW Pa kPa MPa atm V mV kV A mA Ω kΩ Hz kHz MHz GHz K mol M L mL cal kcal dB % g T C ly AU
    rpm bar"""
    ),
    key=len,
    reverse=True,
)
_NUMBER = re.compile(
    r"(?<![\w.,^/])(?P<sign>[-−])?(?P<int>\d{1,3}(?:,\d{3})+|\d+)(?:\.(?P<frac>\d+))?"
    r"(?:(?P<xsep>\s?[×x*·]\s?10)(?:\^(?P<caret>[-−]?\d+)|(?P<sup>⁻?[⁰¹²³⁴⁵⁶⁷⁸⁹]+))"
    r"|(?P<esep>[eE])(?P<e>[-+]?\d+))?"
)
_WORD_UNIT = re.compile(rf"\s(?:{UNIT_PHRASE})\b", re.IGNORECASE)
_SYMBOL_UNIT = re.compile(
    r"\s?(?:" + "|".join(re.escape(s) for s in _SYMBOLS) + r")(?![A-Za-z0-9_²³])"
)
_COUNT_NOUN = re.compile(r"\s([a-z][a-z-]{2,})\b")
_SUPERSCRIPT = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")
_FROM_SUPERSCRIPT = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻", "0123456789-")
_RANGE_MARKS = "-–—/:"


@dataclass(frozen=True)
class Quantity:
    """A number (optionally in scientific notation) with its unit, as written in a sentence."""

    text: str
    start: int
    end: int
    mantissa: float
    decimals: int
    exponent: int | None
    unit: str
    unit_kind: str  # "symbol", "word", "count" or "" for a bare number
    grouped: bool
    exponent_prefix: str = ""
    superscript: bool = False
    unit_gap: str = " "

    @property
    def value(self) -> float:
        """The numeric value, exponent applied."""
        return self.mantissa * 10.0 ** (self.exponent or 0)

    @property
    def unit_key(self) -> str:
        """A comparison key for the unit (case kept for symbols, plurals folded for words)."""
        if self.unit_kind == "symbol":
            return self.unit
        return " ".join(stem(w) for w in self.unit.split())

    def format(self, mantissa: float, exponent: int | None = None) -> str:
        """Write another value the way this quantity is written (decimals, grouping, unit)."""
        number = round(mantissa, self.decimals)
        body = (
            f"{abs(number):,.{self.decimals}f}"
            if self.grouped
            else f"{abs(number):.{self.decimals}f}"
        )
        sign = "-" if number < 0 else ""
        power = ""
        if self.exponent is not None:
            digits = str(self.exponent if exponent is None else exponent)
            power = self.exponent_prefix + (
                digits.translate(_SUPERSCRIPT) if self.superscript else digits
            )
        unit = f"{self.unit_gap}{self.unit}" if self.unit else ""
        return f"{sign}{body}{power}{unit}"


def _unit_at(sentence: str, pos: int) -> tuple[str, str, str] | None:
    for kind, pattern in (("word", _WORD_UNIT), ("symbol", _SYMBOL_UNIT)):
        m = pattern.match(sentence, pos)
        if m:
            text = m.group()
            return kind, text.strip(), text[: len(text) - len(text.lstrip())]
    m = _COUNT_NOUN.match(sentence, pos)
    if m and m.group(1) not in STOPWORDS and not m.group(1).endswith("ly"):
        return "count", m.group(1), " "
    return None


def find_quantities(sentence: str) -> list[Quantity]:
    """Numbers with their units (`9.8 m/s²`, `3.00 × 10^8 m/s`, `46 chromosomes`, `25%`).

    Ranges, ratios and dates (`10-20`, `3:4`, `1/2`) are skipped: no single value is stated.
    """
    found: list[Quantity] = []
    for m in _NUMBER.finditer(sentence):
        start, end = m.span()
        if (start and sentence[start - 1] in _RANGE_MARKS) or (
            m.group("sign") and start and sentence[start - 1].isalnum()
        ):
            continue
        if (
            end < len(sentence)
            and sentence[end] in _RANGE_MARKS
            and sentence[end + 1 : end + 2].isdigit()
        ):
            continue
        unit = _unit_at(sentence, end)
        if (
            unit is None
            and end < len(sentence)
            and (sentence[end].isalnum() or sentence[end] in "^_")
        ):
            continue
        kind, unit_text, gap = unit or ("", "", " ")
        stop = end + len(gap) + len(unit_text) if unit else end
        frac = m.group("frac") or ""
        mantissa = float(m.group("int").replace(",", "") + ("." + frac if frac else ""))
        if m.group("sign"):
            mantissa = -mantissa
        exponent: int | None = None
        prefix, superscript = "", False
        if m.group("xsep"):
            raw = m.group("caret") or (m.group("sup") or "").translate(_FROM_SUPERSCRIPT)
            exponent = int(raw.replace("−", "-"))
            superscript = m.group("sup") is not None
            prefix = m.group("xsep") + ("" if superscript else "^")
        elif m.group("esep"):
            exponent, prefix = int(m.group("e")), m.group("esep")
        found.append(
            Quantity(
                text=sentence[start:stop],
                start=start,
                end=stop,
                mantissa=mantissa,
                decimals=len(frac),
                exponent=exponent,
                unit=unit_text,
                unit_kind=kind,
                grouped="," in m.group("int"),
                exponent_prefix=prefix,
                superscript=superscript,
                unit_gap=gap,
            )
        )
    return found

"""Deterministic text analysis for offline features: cleaning, sentences, terms and quantities.

Every sentence returned by `material_sentences` is a verbatim slice of `clean_material(text)`, so
callers can quote it and a scorer can find the quote again.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

from tools.text import fold, normalise_text


def _wordlist(text: str) -> tuple[str, ...]:
    return tuple(text.split())


STOPWORDS = frozenset(
    _wordlist(
        """a about above after again against all also although always among an and another any are
    around as at be because been before being below between both but by can cannot could did do
    does doing done down during each either else even every few for from further had has have
    having he her here hers him his how however i if in into is it its itself just least less
    like made make makes many may me might more most much must my near neither no nor not now of
    off often on once one only or other others our out over own per rather same she should since
    so some such than that the their them then there therefore these they this those though
    through thus to too under until up upon us usually very via was we were what when where
    whether which while who whom whose why will with within without would yet you your called
    known example examples used uses using use means mean refers different important several
    various way ways thing things whole part"""
    )
)
_PRONOUNS = frozenset(
    _wordlist(
        "it this that these those there they he she we you which what each every one some many "
        "most all both such its their our another other here"
    )
)

_SOURCE_HEADER = re.compile(
    r"^(?:#+\s*)?[\[(*_-]*\s*(?:source|material|document)\s*#?\s*\d+\s*[\])*_-]*\s*"
    r"(?P<rest>[|:–—-].*)?$",
    re.IGNORECASE,
)
_FENCE = re.compile(r"^(?:```|~~~)")
_RULE = re.compile(r"^(?:[-*_=]\s*){3,}$")
_HEADING = re.compile(r"^#{1,6}\s+")
_BULLET = re.compile(r"^(?:[-*+•·]|\d{1,3}[.)])\s+")
_QUOTE_MARK = re.compile(r"^(?:>\s*)+")
_INLINE = (
    (re.compile(r"!\[([^\]]*)\]\([^)]*\)"), r"\1"),
    (re.compile(r"\[([^\]]+)\]\([^)]*\)"), r"\1"),
    (re.compile(r"(\*\*|__)(?=\S)(.{1,300}?)(?<=\S)\1"), r"\2"),
    (re.compile(r"(?<![\w*])\*(?=[^\s*])([^*]+?)(?<=\S)\*(?![\w*])"), r"\1"),
    (re.compile(r"(?<!\w)_(?=[^\s_])([^_]+?)(?<=\S)_(?!\w)"), r"\1"),
    (re.compile(r"`([^`]+)`"), r"\1"),
    (re.compile(r"\s{2,}"), " "),
)
_ABBREVIATIONS = frozenset(
    _wordlist(
        "e.g i.e etc vs approx ca cf al fig figs eq eqs no dr mr mrs ms prof st mt jr sr resp"
    )
)
_SENTENCE_END = re.compile(r"[.!?]+[\"'”’)\]]*\s+(?=[\"'“‘(\[]?[A-Z0-9])")
_WORD = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*")


def is_source_header(line: str) -> bool:
    """True for a concatenation header such as `Source 2 | Newton's laws | material 1`.

    `Source 2: Title` also counts when the title is short and not a sentence.
    """
    m = _SOURCE_HEADER.match(line.strip())
    rest = (m.group("rest") or "") if m else ""
    if not m or not rest or rest.startswith("|"):
        return bool(m)
    return len(rest.split()) <= 9 and not rest.endswith((".", "!", "?"))


def strip_markdown(line: str) -> str:
    """Remove heading, bullet, quote and inline emphasis/link/code markup from one line."""
    text = _QUOTE_MARK.sub("", line.strip())
    text = _BULLET.sub("", _HEADING.sub("", text))
    for pattern, replacement in _INLINE:
        text = pattern.sub(replacement, text)
    return text.strip()


def _continues(previous: str, line: str) -> bool:
    # Hard-wrapped prose: the previous line stops mid-sentence and this one carries on.
    if previous.endswith((".", "!", "?", ":", ";")):
        return False
    return line[0].islower() or previous.endswith(",") or len(previous) >= 50


def clean_material(text: str) -> str:
    """Return plain paragraphs, one per line, without invisible characters, headers or markup.

    Headings, bullets and blank-line-separated paragraphs become separate lines; hard-wrapped
    prose lines are joined. Fenced code, tables and horizontal rules are dropped.
    """
    blocks: list[str] = []
    current: list[str] = []
    in_fence = False

    def flush() -> None:
        if current:
            blocks.append(" ".join(current))
            current.clear()

    for line in normalise_text(text).split("\n"):
        if _FENCE.match(line):
            in_fence = not in_fence
            flush()
            continue
        if in_fence or not line or line.startswith("|") or _RULE.match(line):
            flush()
            continue
        if is_source_header(line):
            flush()
            continue
        body = strip_markdown(line)
        if not body:
            flush()
        elif _HEADING.match(line) or _BULLET.match(_QUOTE_MARK.sub("", line)):
            flush()
            current.append(body)
            if _HEADING.match(line):
                flush()
        elif current and _continues(current[-1], body):
            current.append(body)
        else:
            flush()
            current.append(body)
    flush()
    return "\n".join(blocks)


def split_sentences(paragraph: str) -> list[str]:
    """Split one paragraph into sentences, keeping each one a verbatim slice of the input.

    Abbreviations (e.g., Dr., Fig.) and single-letter initials do not end a sentence.
    """
    sentences: list[str] = []
    start = 0
    for match in _SENTENCE_END.finditer(paragraph):
        before = paragraph[start : match.start()].rsplit(None, 2)
        last = before[-1] if before else ""
        initial = len(last) == 1 and last.isupper()
        # A capital after a number is a unit ("2 A."), not an initial ("J. J. Thomson").
        if initial and len(before) > 1 and before[-2][-1:].isdigit():
            initial = False
        if last.lower().rstrip(".") in _ABBREVIATIONS or initial:
            continue
        piece = paragraph[start : match.end()].strip()
        if piece:
            sentences.append(piece)
        start = match.end()
    tail = paragraph[start:].strip()
    if tail:
        sentences.append(tail)
    return sentences


_LIGHT_MARKER = re.compile(r"^(?:#{1,6}\s+|[-*+]\s+|\d{1,3}[.)]\s+|>\s?)")
_LIGHT_INLINE = re.compile(r"\*\*|__|`")


def light_clean(text: str) -> str:
    """`normalise_text` minus one heading/list/quote marker per line and `**`, `__`, backticks.

    This is how a grader is expected to read the material when it looks for a quoted sentence;
    a sentence of `clean_material` found in it (after `fold`) can be quoted safely.
    """
    lines = normalise_text(text).split("\n")
    return "\n".join(_LIGHT_INLINE.sub("", _LIGHT_MARKER.sub("", line)) for line in lines)


def material_sentences(text: str) -> list[str]:
    """Clean `text` and split every paragraph into sentences (slices of `clean_material`)."""
    return [s for paragraph in clean_material(text).split("\n") for s in split_sentences(paragraph)]


def words(text: str) -> list[str]:
    """Alphabetic words (apostrophes and hyphens kept inside a word), in order."""
    return _WORD.findall(text)


@lru_cache(maxsize=8192)
def stem(word: str) -> str:
    """Case-fold a word and strip a possessive or a regular plural ending."""
    w = word.casefold().replace("’", "'")
    w = w.removesuffix("'s").removesuffix("'")
    if len(w) > 4 and w.endswith("ies"):
        return w[:-3] + "y"
    if w.endswith(("sses", "xes", "ches", "shes")):
        return w[:-2]
    if len(w) > 3 and w.endswith("s") and not w.endswith(("ss", "us", "is")):
        return w[:-1]
    return w


def content_words(text: str) -> list[str]:
    """Stemmed words of three or more letters that are not stopwords, in order."""
    found = (stem(w) for w in words(text) if w.casefold() not in STOPWORDS)
    return [w for w in found if len(w) >= 3 and w not in STOPWORDS]


# ---------------------------------------------------------------------------- key terms

UNIT_NAMES = _wordlist(
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

_NP = r"[^\W\d_][\w'’-]*(?:\s+[^\W\d_][\w'’-]*){0,4}?"
_DEFINITION = re.compile(
    rf"^(?:(?:the|an?)\s+)?(?P<t>{_NP})\s+(?:(?:is|are)\s+(?:(?:also|usually|often|commonly|"
    r"typically|generally)\s+)?(?:the|an?|defined|called|known|measured|equal|made|composed|"
    r"responsible|expressed|given|produced|stored|found|used|transferred|conserved|converted|"
    r"released)\b|refers?\s+to\b|means\b|describes?\b|states?\b)",
    re.IGNORECASE,
)
_CAUSAL = re.compile(
    rf"^(?:(?:the|an?)\s+)?(?P<t>{_NP})\s+(?:causes?|produces?|converts?|releases?|absorbs?|"
    r"contains?|stores?|transports?|carr(?:y|ies)|controls?|forms?|generates?|provides?|"
    r"breaks?\s+down|speeds?\s+up)\b",
    re.IGNORECASE,
)
_CALLED = re.compile(
    r"\b(?:is|are|was|were)\s+(?:also\s+|often\s+|sometimes\s+)?(?:called|known\s+as|termed|named)"
    r"\s+(?:the\s+|an?\s+)?(?P<t>[^\W\d_][\w'’-]*(?:\s+[^\W\d_][\w'’-]*){0,3})"
)
_MEASURED = re.compile(
    r"\b(?:is|are)\s+(?:usually\s+|typically\s+|commonly\s+|normally\s+)?measured\s+in\s+"
    rf"(?P<t>{UNIT_PHRASE})\b",
    re.IGNORECASE,
)
_SI_UNIT = re.compile(
    rf"\bSI\s+unit\s+(?:of|for)\s+[a-z][a-z\s-]{{1,40}}?\s+is\s+(?:the\s+)?(?P<t>{UNIT_PHRASE})\b",
    re.IGNORECASE,
)
_NAME = re.compile(
    r"(?<![\w'’])[A-Z][a-z]+\b(?:['’]s?)?(?:\s+(?:[A-Z][a-z]+\b(?:['’]s?)?|first|second|third|"
    r"zeroth|laws?|principle|constant|equations?|cycle|theorem|effect|rule|scale|series|model)"
    r"|\s+of\s+(?:motion|[A-Z][a-z]+))*"
)
_FORMULA = re.compile(r"(?<![\w'’])(?:[A-Z][a-z]?[\d₀-₉]*){2,}(?![\w'’])")
_NOT_NAMES = frozenset({"celsius", "fahrenheit", "si", "ok"})
_NOT_PLAIN_TERMS = frozenset(
    stem(w)
    for w in UNIT_NAMES
    + _wordlist(
        "third fourth fifth states shows suggests explains describes equals depends contains "
        "produces releases carries converts transports absorbs requires provides causes controls "
        "generates measures travels"
    )
)
# Adverb, participle and adjective endings: such words make poor blanks and distractors.
_NOT_NOUN_ENDINGS = ("ly", "ed", "ing", "al", "ic", "ous", "ive", "ful", "able", "ible")
_PLAIN_WORD = re.compile(r"(?<![\w'’-])([a-z]{6,})(?![\w'’-])(?:\s+(the|an?)\b)?")


@dataclass(frozen=True)
class Span:
    """A key term found in a sentence: `sentence[start:end] == text`."""

    text: str
    start: int
    end: int
    kind: str  # "term", "name", "formula" or "unit"


class KeyTerm(NamedTuple):
    """A key term of a whole material; `salience` counts detections, +2 if explicitly introduced."""

    text: str
    kind: str
    salience: int


def _phrase_kind(phrase: str, *, initial: bool = True) -> str:
    """Classify a phrase; `initial` says its first capital may only mark a sentence start."""
    if _FORMULA.fullmatch(phrase):
        return "formula"
    tokens = phrase.split()
    capitals = tokens if not initial else tokens[1:]
    if "'" in phrase or "’" in phrase or any(t[:1].isupper() for t in capitals):
        return "name"
    return "term"


def _subject_ok(phrase: str) -> bool:
    tokens = [t.casefold() for t in phrase.split()]
    if not tokens or tokens[0] in _PRONOUNS or tokens[-1] == "of" or "unit" in tokens:
        return False
    return all(t == "of" or t not in STOPWORDS for t in tokens)


def _trim(phrase: str) -> str:
    kept: list[str] = []
    for token in phrase.split():
        if token.casefold() in STOPWORDS:
            break
        kept.append(token)
    return " ".join(kept)


def _is_formula(text: str) -> bool:
    if text.casefold() in STOPWORDS or text.casefold() in _NOT_NAMES:
        return False
    has_digit = any(ch.isdigit() for ch in text)
    capitals = sum(ch.isupper() for ch in text)
    return has_digit or (capitals >= 2 and not (text.isupper() and len(text) > 5))


def find_terms(sentence: str) -> list[Span]:
    """Key-term spans of one sentence: defined or named terms, laws, formulas and units.

    Overlapping detections keep the most specific one (units, definitions, then names).
    """
    found: list[Span] = []

    def add(start: int, text: str, kind: str) -> None:
        end = start + len(text)
        if text and not any(s.start < end and start < s.end for s in found):
            found.append(Span(text, start, end, kind))

    for pattern in (_SI_UNIT, _MEASURED):
        for m in pattern.finditer(sentence):
            add(m.start("t"), m.group("t"), "unit")
    for pattern in (_DEFINITION, _CAUSAL):
        head = pattern.match(sentence)
        if head and _subject_ok(head.group("t")):
            start = head.start("t")
            add(start, head.group("t"), _phrase_kind(head.group("t"), initial=start == 0))
    for m in _CALLED.finditer(sentence):
        phrase = _trim(m.group("t"))
        add(m.start("t"), phrase, _phrase_kind(phrase, initial=False))
    for m in _FORMULA.finditer(sentence):
        if _is_formula(m.group()):
            add(m.start(), m.group(), "formula")
    for m in _NAME.finditer(sentence):
        text, start = m.group(), m.start()
        first, _, rest = text.partition(" ")
        if first.casefold() in STOPWORDS:
            text, start = rest, start + len(first) + 1
        text = re.sub(r"['’]s?$", "", text)
        if not text or text.casefold() in _NOT_NAMES or text.casefold() in STOPWORDS:
            continue
        if start == 0 and _phrase_kind(text) != "name" and " " not in text:
            continue  # a capital at the start of a sentence says nothing
        add(start, text, "name")
    return sorted(found, key=lambda s: s.start)


def lower_first(sentence: str) -> str:
    """Lower-case a capitalised first word (`Photosynthesis uses` -> `photosynthesis uses`)."""
    if sentence[:1].isupper() and sentence[1:2].islower():
        return sentence[0].lower() + sentence[1:]
    return sentence


def looks_like_noun(word: str) -> bool:
    """Heuristic: a lowercase word that is not a stopword, unit, adverb, participle or adjective."""
    return (
        word not in STOPWORDS
        and stem(word) not in _NOT_PLAIN_TERMS
        and not word.endswith(_NOT_NOUN_ENDINGS)
    )


def _canonical(span: Span) -> str:
    text = span.text
    if span.kind == "term" and text[:1].isupper() and text[1:2].islower():
        return text[0].lower() + text[1:]
    return text


def key_terms(sentences: Iterable[str], *, min_repeats: int = 2) -> list[KeyTerm]:
    """Key terms of a material, most salient first.

    Explicitly introduced terms (definitions, names, formulas, units) come with their count;
    plain words of six or more letters that recur in `min_repeats` sentences are added as terms.
    """
    counts: Counter[str] = Counter()
    forms: dict[str, tuple[str, str]] = {}
    order: dict[str, int] = {}
    plain: Counter[str] = Counter()
    plain_forms: dict[str, str] = {}
    verbs: set[str] = set()
    for sentence in sentences:
        for span in find_terms(sentence):
            key = fold(_canonical(span))
            counts[key] += 1
            forms.setdefault(key, (_canonical(span), span.kind))
            order.setdefault(key, len(order))
        here: dict[str, str] = {}
        for m in _PLAIN_WORD.finditer(lower_first(sentence)):
            key = stem(m.group(1))
            if m.group(2):
                verbs.add(key)  # "releases the": a verb, not a term
            if looks_like_noun(m.group(1)):
                here.setdefault(key, m.group(1))
        for key, word in here.items():
            plain[key] += 1
            plain_forms.setdefault(key, word)
    terms = [KeyTerm(forms[k][0], forms[k][1], counts[k] + 2) for k in counts]
    for key, count in plain.items():
        if count >= min_repeats and key not in verbs and plain_forms[key] not in counts:
            order.setdefault(plain_forms[key], len(order))
            terms.append(KeyTerm(plain_forms[key], "term", count))
    return sorted(terms, key=lambda t: (-t.salience, order[fold(t.text)]))


# ---------------------------------------------------------------------------- quantities

_SYMBOLS = sorted(
    _wordlist(
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

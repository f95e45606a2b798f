"""Key terms: defined or named terms, laws, formulas and units of sentences and whole materials."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import NamedTuple

from tools.text.hygiene import fold
from tools.text.quantities import UNIT_NAMES, UNIT_PHRASE
from tools.text.words import STOPWORDS, stem, wordlist

_PRONOUNS = frozenset(
    wordlist(
        "it this that these those there they he she we you which what each every one some many "
        "most all both such its their our another other here"
    )
)

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
    + wordlist(
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

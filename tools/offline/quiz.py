"""Deterministic offline quiz: fill-in questions built from factual sentences of the material.

Each question blanks one key span (a term, name, formula, unit or quantity) of a sentence that
states it, so the answer is always in the material; distractors are terms or values of the same
kind that do not occur in that sentence. No randomness: ties and orders come from hashes.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from tools.payloads.quiz import validate_quiz
from tools.text import fold
from tools.text.clean import light_clean
from tools.text.quantities import UNIT_NAMES, UNIT_PHRASE, Quantity, find_quantities
from tools.text.sentences import material_sentences
from tools.text.terms import KeyTerm, find_terms, key_terms, looks_like_noun, lower_first
from tools.text.words import STOPWORDS, content_words, stem, words


def _items(text: str) -> list[str]:
    """Split a `|`-separated word bank."""
    return [item.strip() for item in text.split("|") if item.strip()]


MAX_QUESTIONS = 20
BLANK = "____"
_MIN_WORDS, _LONG_WORDS, _MAX_WORDS = 6, 40, 80

# Fallback distractors, "|"-separated, used only when the material lacks enough of a kind.
_TERMS = {
    "physics": "velocity|acceleration|momentum|inertia|friction|density|pressure|wavelength|"
    "frequency|displacement|gravity|resistance|voltage|kinetic energy|potential energy|"
    "electric current|terminal velocity",
    "chemistry": "catalyst|isotope|molecule|electron|proton|neutron|solvent|solute|enthalpy|"
    "compound|mixture|oxidation|reduction|covalent bond|ionic bond|activation energy",
    "biology": "photosynthesis|respiration|mitochondria|chloroplast|enzyme|osmosis|diffusion|"
    "ribosome|protein|chromosome|mutation|homeostasis|glucose|cell membrane|natural selection",
    "maths": "gradient|integer|hypotenuse|coefficient|derivative|integral|perimeter|radius|"
    "diameter|denominator|numerator|vector|matrix|prime number|common factor",
}
_NAMES = {
    "physics": "Newton's first law|Newton's third law|Ohm's law|Hooke's law|Coulomb's law|"
    "Kepler's third law|Pascal's principle|Archimedes' principle|Albert Einstein|"
    "Galileo Galilei|Michael Faraday|James Clerk Maxwell",
    "chemistry": "Boyle's law|Charles's law|Avogadro's law|Le Chatelier's principle|John Dalton|"
    "Dmitri Mendeleev|Marie Curie|Antoine Lavoisier",
    "biology": "Mendel's law of segregation|Hardy-Weinberg principle|Charles Darwin|"
    "Gregor Mendel|Louis Pasteur|Krebs cycle|Calvin cycle",
    "maths": "Pythagoras' theorem|Fermat's last theorem|Euclid|Leonhard Euler|Carl Gauss|"
    "Isaac Newton",
}
_SUBJECT_HINTS = {
    "physics": "force|energy|mass|motion|speed|light|wave|power|current|circuit",
    "chemistry": "atom|reaction|acid|base|bond|element|ion|chemical|solution",
    "biology": "cell|organism|gene|plant|animal|tissue|organ|species",
    "maths": "equation|angle|triangle|number|function|graph|fraction|circle",
}
_UNITS = (
    "newton|joule|watt|pascal|volt|ampere|ohm|hertz|kelvin|coulomb|metre|kilogram|second|mole|"
    "tesla|metre per second|metre per second squared|joule per kilogram|newton per metre"
)
_FORMULAS = "H2O|CO2|O2|NaCl|CH4|NH3|HCl|NaOH|H2SO4|C6H12O6|CaCO3|N2"
_ACRONYMS = "DNA|RNA|ATP|ADP|NADH|LED|UV|AC|DC|CPU"
_INVARIANT_UNITS = frozenset({"hertz", "kelvin", "celsius", "fahrenheit", "percent"})
_UNIT_SET = frozenset(UNIT_NAMES)
_LEADS = {
    "quantity": "Which value completes this statement from the material?",
    "unit": "Which unit completes this statement from the material?",
    "name": "Which name completes this statement from the material?",
    "formula": "Which formula or abbreviation completes this statement from the material?",
    "term": "Which term completes this statement from the material?",
}
_FALLBACK_WEIGHT = 0.5
_POOL_SIZE, _KNOWN_SIZE = 400, 200  # bound the work on very large materials
_WEIGHTS = {"unit": 3.2, "term": 3.0, "name": 2.6, "formula": 2.6, "known": 2.0}
_SI_QUESTION = re.compile(
    rf"^(?:the\s+)?SI\s+unit\s+(?:of|for)\s+(?P<q>[a-z][a-z\s-]{{1,40}}?)\s+is\s+(?:the\s+)?"
    rf"(?P<t>{UNIT_PHRASE})\b",
    re.IGNORECASE,
)
_MEASURED_QUESTION = re.compile(
    rf"^(?:the\s+)?(?P<q>[^\W\d_][\w'’ -]{{0,40}}?)\s+(?P<v>is|are)\s+(?:usually\s+|typically\s+|"
    rf"commonly\s+|normally\s+)?measured\s+in\s+(?P<t>{UNIT_PHRASE})\b",
    re.IGNORECASE,
)
# Words that steer a request rather than name a topic.
_STEERING = frozenset(
    _items(
        "focus|quiz|question|student|include|emphasis|emphasise|emphasize|cover|mainly|mostly|"
        "especially|please|level|easy|hard|difficult|simple|topic|material|lesson|class|test|"
        "exam|mcq|choice|multiple"
    )
)
_CONTEXT_STARTS = frozenset(_items("it|this|they|these|those|he|she|its|their|such"))
_FOCUS_KINDS = {
    "unit": {"unit", "quantity"},
    "measurement": {"unit", "quantity"},
    "number": {"quantity"},
    "value": {"quantity"},
    "calculation": {"quantity"},
    "definition": {"term"},
    "vocabulary": {"term"},
    "terminology": {"term"},
    "law": {"name"},
    "formula": {"formula", "name"},
    "equation": {"formula", "name"},
    "scientist": {"name"},
}


@dataclass(frozen=True)
class _Option:
    kind: str
    answer: str
    start: int
    end: int
    weight: float
    question: str | None = None
    quantity: Quantity | None = None


@dataclass
class _Candidate:
    index: int
    sentence: str
    options: list[_Option]
    score: float = 0.0


@dataclass
class _Pools:
    sentences: list[str]
    terms: dict[str, list[str]] = field(default_factory=dict)
    quantities: dict[str, list[Quantity]] = field(default_factory=dict)
    places: dict[str, list[int]] = field(default_factory=dict)  # folded term -> sentence indexes

    def distance(self, term: str, index: int) -> int:
        """How many sentences away from `index` the nearest mention of `term` is (at most 12)."""
        return min((abs(i - index) for i in self.places.get(fold(term), ())), default=12)


def _hash(*parts: str) -> int:
    return int.from_bytes(hashlib.sha256("\x1f".join(parts).encode()).digest()[:8], "big")


def _norm(text: str) -> str:
    tokens = re.findall(r"\d+(?:[.,]\d+)*|[^\W\d_]+", fold(text))
    return " ".join(stem(t) for t in tokens if t not in {"the", "a", "an"})


def _loose(text: str) -> str:
    """`_norm` that also drops any final "s", so "alkali" meets "alkalis" (stem keeps "-is")."""
    return " ".join(token.removesuffix("s") for token in _norm(text).split())


def _shape(answer: str, other: str) -> float:
    """How unlike `answer` a candidate looks: word count, length, possessive and head noun."""
    a, b = answer.split(), other.split()
    cost = 2.0 * abs(len(a) - len(b)) + abs(len(answer) - len(other)) / 6
    if ("'" in answer or "’" in answer) != ("'" in other or "’" in other):
        cost += 1.5
    if any(ch.isdigit() for ch in answer) != any(ch.isdigit() for ch in other):
        cost += 1.0
    if len(a) > 1 and fold(a[-1]) == fold(b[-1]):
        cost -= 1.0
    if (stem(a[-1]) == fold(a[-1])) != (stem(b[-1]) == fold(b[-1])):
        cost += 1.0  # singular against plural
    return cost


def _match_case(text: str, answer: str, kind: str) -> str:
    if kind != "term":
        return text
    if answer[:1].isupper() and text[:1].islower():
        return text[0].upper() + text[1:]
    if answer[:1].islower() and text[:1].isupper() and text[1:2].islower():
        return text[0].lower() + text[1:]
    return text


def _unit_form(phrase: str, plural: bool) -> str:
    tokens = phrase.split()
    compound = len(tokens) > 1 and ("per" in tokens or fold(tokens[1]) in _INVARIANT_UNITS)
    head = 0 if len(tokens) == 1 or compound else len(tokens) - 1
    word = tokens[head]
    if word.endswith("s") and fold(word[:-1]) in _UNIT_SET:
        word = word[:-1]
    if plural and fold(word) not in _INVARIANT_UNITS:
        word += "s"
    tokens[head] = word
    return " ".join(tokens)


def _ranked(answer: str, costed: list[tuple[str, float]]) -> list[str]:
    scored = [(_shape(answer, t) + cost, _hash(answer, t), t) for t, cost in costed]
    return [t for _, _, t in sorted(scored)]


def _term_candidates(kind: str, answer: str, index: int, pools: _Pools) -> list[str]:
    """Same-kind candidates, best first: nearby material terms, then the subject's bank."""
    material = pools.terms.get(kind, [])
    if kind == "unit":
        plural = _unit_form(answer, True) == answer and _unit_form(answer, False) != answer
        costed = [(u, 0.0) for u in material] + [(u, 1.5) for u in _items(_UNITS)]
        return [_unit_form(u, plural) for u in _ranked(answer, costed)]
    # Terms from the same part of the material suit a mixed material better than distant ones.
    costed = [(t, 0.25 * pools.distance(t, index)) for t in material]
    if kind == "formula":
        acronym = answer.isalpha() and answer.isupper()
        costed += [(t, 1.5) for t in _items(_ACRONYMS if acronym else _FORMULAS)]
    else:
        bank = _NAMES if kind == "name" else _TERMS
        nearby = " ".join(pools.sentences[max(0, index - 4) : index + 5])
        for rank, subject in enumerate(_subjects(set(content_words(nearby)))):
            costed += [(t, 1.5 if rank == 0 else 4.0) for t in _items(bank[subject])]
    return [_match_case(t, answer, kind) for t in _ranked(answer, costed)]


def _far(value: float, answer: float) -> bool:
    if answer == 0:
        return value != 0
    ratio = value / answer
    return abs(ratio - 1) > 0.15 and 0.1 <= abs(ratio) <= 10


def _perturbed(q: Quantity) -> list[str]:
    v = q.mantissa
    if q.exponent is not None:
        return [q.format(v, q.exponent + d) for d in (1, -1, 2)] + [
            q.format(v * 2),
            q.format(v / 2),
        ]
    if q.decimals == 0 and 1000 <= v <= 2100 and not q.unit and not q.grouped:
        steps = [v + d for d in (-10, 25, -50, 50, 100) if v + d <= 2030]  # a year
    elif v == 0:
        steps = [10, 100, 1, 4]
    elif q.decimals == 0 and abs(v) <= 12:
        steps = [v + 1, v - 1, v + 2, v * 2, v + 3, v - 2]
    else:
        steps = [v * f for f in (2, 0.5, 10, 0.1, 3, 1.5)]
    kept = []
    for x in steps:
        rounded = round(x, q.decimals)
        if (
            rounded == round(v, q.decimals)
            or (v > 0 and rounded <= 0)
            or (q.unit == "%" and x > 100)
        ):
            continue
        kept.append(q.format(x))
    return kept


def _distractors(option: _Option, index: int, pools: _Pools) -> list[str]:
    sentence = pools.sentences[index]
    if option.quantity is not None:
        q = option.quantity
        others = [
            o.text
            for o in pools.quantities.get(q.unit_key, [])
            if o.unit_kind == q.unit_kind and _far(o.value, q.value)
        ]
        candidates = sorted(dict.fromkeys(others), key=lambda t: _hash(q.text, t)) + _perturbed(q)
    else:
        candidates = _term_candidates(option.kind, option.answer, index, pools)
    padded, folded, answer = f" {_loose(sentence)} ", fold(sentence), _loose(option.answer)
    chosen: list[str] = []
    seen: set[str] = set()
    for candidate in candidates:
        key = _loose(candidate)
        # Reject anything that could also be right: in the sentence, or overlapping the answer.
        if not key or key in seen or key in answer or answer in key or f" {key} " in padded:
            continue
        if re.search(rf"(?<!\w){re.escape(fold(candidate))}(?!\w)", folded):
            continue
        chosen.append(candidate)
        seen.add(key)
        if len(chosen) == 3:
            break
    return chosen


def _template(sentence: str, kind: str, start: int) -> str | None:
    if kind != "unit":
        return None
    m = _SI_QUESTION.match(sentence)
    if m and m.start("t") == start:
        return f"What is the SI unit of {m.group('q')}, according to the material?"
    m = _MEASURED_QUESTION.match(sentence)
    subject = m.group("q").split() if m else []
    if m and m.start("t") == start and len(subject) <= 5 and _plain_phrase(subject):
        subject = m.group("q")
        if subject[1:2].islower():
            subject = subject[0].lower() + subject[1:]
        return f"In which unit {fold(m.group('v'))} {subject} measured, according to the material?"
    return None


def _plain_phrase(tokens: list[str]) -> bool:
    return bool(tokens) and all(t == "of" or fold(t) not in STOPWORDS for t in tokens)


def _options(
    sentence: str, mentions: list[re.Match[str]], known: dict[str, KeyTerm]
) -> list[_Option]:
    options: list[_Option] = []

    def free(start: int, end: int) -> bool:
        return all(end <= o.start or start >= o.end for o in options)

    for q in find_quantities(sentence):
        weight = 3.0 if q.unit else 1.5
        options.append(_Option("quantity", q.text, q.start, q.end, weight, quantity=q))
    for span in find_terms(sentence):
        if free(span.start, span.end):
            question = _template(sentence, span.kind, span.start)
            weight = _WEIGHTS[span.kind] + (0.4 if question else 0.0)
            options.append(_Option(span.kind, span.text, span.start, span.end, weight, question))
    for m in mentions:
        term = known[fold(m.group())]
        # Names and formulas are case-sensitive: "Earth" is a planet, "earth" is soil.
        if free(m.start(), m.end()) and (term.kind == "term" or m.group() == term.text):
            options.append(_Option(term.kind, m.group(), m.start(), m.end(), _WEIGHTS["known"]))
    # Plain nouns are a last resort, so every factual sentence has something to ask about.
    plain = [
        m
        for m in re.finditer(r"(?<![\w'’-])[a-z]{6,}(?![\w'’-])", lower_first(sentence))
        if looks_like_noun(m.group()) and free(m.start(), m.end())
    ]
    for m in sorted(plain, key=lambda x: -len(x.group()))[:2]:
        word = sentence[m.start() : m.end()]
        options.append(_Option("term", word, m.start(), m.end(), _FALLBACK_WEIGHT))
    return sorted(options, key=lambda o: (-o.weight, o.start))


def _cloze(sentence: str, option: _Option) -> str | None:
    text = sentence[: option.start] + BLANK + sentence[option.end :]
    # Blank every mention so the rest of the sentence does not give the answer away.
    before = r"(?<![\w.,])" if option.quantity else r"(?<![\w'’])"
    again = re.compile(rf"{before}{re.escape(option.answer)}(?!\w)", re.IGNORECASE)
    text = again.sub(BLANK, text)
    if len(words(text.replace(BLANK, " "))) < 4:
        return None
    # "an ____" would hint at the answer's first letter.
    text = re.sub(rf"\b([Aa])n? {BLANK}", rf"\1(n) {BLANK}", text)
    return f'{_LEADS[option.kind]} "{text}"'


def _question(
    c: _Candidate, pools: _Pools, answers: set[str], asked: set[str]
) -> dict[str, Any] | None:
    for option in c.options:
        key = _norm(option.answer)
        question = option.question or _cloze(c.sentence, option)
        if not key or key in answers or question is None or fold(question) in asked:
            continue
        distractors = _distractors(option, c.index, pools)
        if len(distractors) < 3:
            continue
        choices = distractors[:3]
        choices.insert(_hash(question) % 4, option.answer)
        item: dict[str, Any] = {
            "question": question,
            "choices": choices,
            "answer": option.answer,
            "explanation": _explanation(c.sentence),
        }
        if validate_quiz({"questions": [item]}, question_count=1):
            continue
        answers.add(key)
        asked.add(fold(question))
        return item
    return None


def _explanation(sentence: str) -> str:
    # A straight double quote inside would end the quotation early; curly quotes still delimit it.
    if '"' in sentence and "“" not in sentence and "”" not in sentence:
        return f"The material states: “{sentence}”"
    return f'The material states: "{sentence}"'


def _score(c: _Candidate, focus: set[str], focus_kinds: set[str], hints: set[str]) -> float:
    tokens = words(c.sentence)
    rich = sum(o.weight > _FALLBACK_WEIGHT for o in c.options)
    score = c.options[0].weight + 0.3 * min(rich, 3)
    if len(tokens) > _LONG_WORDS or len(tokens) < 7:
        score -= 1.0
    if fold(tokens[0]) in _CONTEXT_STARTS or c.sentence[:1].islower():
        score -= 1.5  # "It is ..." or a chunk cut mid-sentence needs the text before it
    stems = set(content_words(c.sentence))
    kinds = {o.kind for o in c.options} | {
        "unit" for o in c.options if o.quantity and o.quantity.unit
    }
    overlap = len(focus & stems) + (1 if focus_kinds & kinds else 0)
    if overlap:
        score += 6.0 + min(overlap, 3)
    return score + 0.5 * min(len(hints & stems), 2)


def _steering_free(text: str) -> set[str]:
    return {w for w in content_words(text) if w not in _STEERING}


def offline_quiz(
    material: str, *, question_count: int, instructions: str = "", blueprint: str = ""
) -> dict[str, Any]:
    """Build up to `question_count` (at most 20) multiple-choice questions from `material` alone.

    Every answer is a span of a sentence of the cleaned material and every explanation quotes that
    sentence verbatim. `instructions` strongly and `blueprint` weakly favour sentences sharing
    their words. Returns `{"questions": []}` when the material states nothing usable.
    """
    limit = min(question_count, MAX_QUESTIONS)
    unique: dict[str, str] = {}
    for sentence in material_sentences(material):
        unique.setdefault(fold(sentence), sentence)
    sentences = list(unique.values())
    if limit < 1 or not sentences:
        return {"questions": []}
    terms = key_terms(sentences)
    pools = _Pools(sentences)
    for term in terms:
        if len(pools.terms.setdefault(term.kind, [])) < _POOL_SIZE:
            pools.terms[term.kind].append(term.text)
    known_terms = {
        fold(t.text): t for t in terms[:_KNOWN_SIZE] if t.kind != "unit" and len(t.text) > 2
    }
    known = None
    if known_terms:
        alternatives = "|".join(re.escape(t) for t in sorted(known_terms, key=len, reverse=True))
        known = re.compile(rf"(?<![\w'’])(?:{alternatives})(?!\w)", re.IGNORECASE)
    candidates: list[_Candidate] = []
    for index, sentence in enumerate(sentences):
        mentions = list(known.finditer(sentence)) if known else []
        for m in mentions:
            pools.places.setdefault(fold(m.group()), []).append(index)
        for q in find_quantities(sentence):
            pools.quantities.setdefault(q.unit_key, []).append(q)
            if q.unit_kind == "word":
                pools.terms.setdefault("unit", []).append(q.unit)
        if (
            _MIN_WORDS <= len(words(sentence)) <= _MAX_WORDS
            and not sentence.endswith("?")
            and BLANK not in sentence
        ):
            options = _options(sentence, mentions, known_terms)
            if options:
                candidates.append(_Candidate(index, sentence, options))
    focus = _steering_free(instructions)
    focus_kinds = {kind for word in focus for kind in _FOCUS_KINDS.get(word, ())}
    hints = _steering_free(blueprint)
    for c in candidates:
        c.score = _score(c, focus, focus_kinds, hints)

    def bucket(c: _Candidate) -> int:
        return c.index * limit // len(sentences)

    hits: Counter[int] = Counter()
    answers: set[str] = set()
    asked: set[str] = set()
    chosen: list[tuple[int, dict[str, Any]]] = []
    reference: str | None = None
    checked: set[int] = set()
    while candidates and len(chosen) < limit:
        # Each question already taken from a stretch of the material makes that stretch less
        # attractive, which spreads questions without overriding the teacher's focus.
        best = max(candidates, key=lambda c: (c.score - 1.5 * hits[bucket(c)], -c.index))
        if best.index not in checked:
            # Prefer quotes a grader finds verbatim (no italics or links removed, no inner '"').
            checked.add(best.index)
            reference = reference if reference is not None else fold(light_clean(material))
            if '"' in best.sentence or fold(best.sentence) not in reference:
                best.score -= 4.0
                continue
        candidates.remove(best)
        item = _question(best, pools, answers, asked)
        if item is not None:
            chosen.append((best.index, item))
            hits[bucket(best)] += 1
    return {"questions": [item for _, item in sorted(chosen, key=lambda pair: pair[0])]}


def _subjects(material_stems: set[str]) -> list[str]:
    def overlap(subject: str) -> int:
        vocabulary = _items(_SUBJECT_HINTS[subject]) + _items(_TERMS[subject])
        return len({stem(w) for item in vocabulary for w in item.split()} & material_stems)

    return sorted(_TERMS, key=lambda s: (-overlap(s), s))

"""Deterministic offline flashcards: questions about the definitions and facts of the material.

Each card's back is one sentence of the cleaned material, verbatim, so the source supports it;
the front asks for what that sentence states: a defined term ("What is a catalyst?"), a quantity
("What is the speed of sound in air?"), a unit, a law or a named process. No randomness: ties go
to the earlier sentence.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

from tools.offline.extract import (
    STOPWORDS,
    Quantity,
    content_words,
    find_quantities,
    material_sentences,
    stem,
    words,
)
from tools.payloads.flashcards import MIN_BACK_WORDS, back_word_count, front_key

MAX_CARDS = 30
BLANK = "____"
_MAX_WORDS = 60
_ARTICLES = frozenset({"the", "a", "an"})
_SUBJECT = r"(?P<s>[^,;:\"“”]{2,100}?)"
_ADVERBS = r"(?P<adv>(?:(?:also|usually|often|commonly|typically|generally|normally|sometimes)\s+)*)"
_HEDGE = re.compile(
    r"(?:(?:about|approximately|roughly|around|nearly|almost|exactly|only|just|close\s+to|"
    r"over|under|more\s+than|less\s+than|usually|typically|normally|always)\s+)*",
    re.IGNORECASE,
)
_INTRO = re.compile(
    r"^(?:In|At|On|For|During|Under|Near|Inside|Within|Across|Through|By)\s+[^,]{2,50},\s+"
)
_APPOSITIVE = re.compile(
    r"^(?P<s>[^,;:]{2,60}?),\s+(?:also\s+|often\s+|sometimes\s+)?(?:called|known\s+as|termed)"
    r"\s+[^,]{1,50},\s+(?:(?P<v>is|are)\b)?"
)
_CALLED = re.compile(
    r"\b(?P<v>is|are)\s+(?P<adv>(?:also\s+|often\s+|sometimes\s+|usually\s+|commonly\s+)*)"
    r"(?:called|known\s+as|termed|named)\s+(?P<t>(?:(?:the|an?)\s+)?[^\W\d_][\w'’-]*"
    r"(?:\s+[^\W\d_][\w'’-]*){0,3})"
)
_COPULA = re.compile(rf"^{_SUBJECT}\s+(?P<v>is|are)\s+{_ADVERBS}(?P<rest>\S.*)$")
_VERBAL = re.compile(
    rf"^{_SUBJECT}\s+(?P<verb>refers?\s+to|means|describes?|states?\s+that|says?\s+that)\b"
)
_ACCORDING = re.compile(r"^According\s+to\s+(?P<s>[^,]{3,60}),\s+\S")
_LAWLIKE = re.compile(r"\b(?:laws?|principle|theorem|rule|equation|theory|model)\b", re.I)
_PROCESS = re.compile(
    rf"^{_SUBJECT}\s+(?P<verb>(?:converts?|produces?|releases?|absorbs?|contains?|stores?|"
    r"transports?|carr(?:y|ies)|controls?|forms?|generates?|provides?|causes?|allows?|enables?|"
    r"breaks?\s+down|speeds?\s+up|slows?\s+down|increases?|decreases?|reduces?|protects?|"
    r"removes?|requires?|needs?|opposes?|pumps?|digests?|depends?\s+on|consists?\s+of|"
    r"acts?\s+on|has|have|occurs?\s+in|takes?\s+place\s+in|happens?\s+in))\s+(?P<rest>\S.*)$"
)
_HAS_OF = re.compile(r"^(?:an?\s+|the\s+)?(?P<y>[a-z][a-z -]{2,40}?)\s+of\s+")
_GLOSSARY = re.compile(r"^(?P<t>[^\W\d_][\w'’ -]{0,40}?)\s*(?::|\s[–—-])\s+(?P<rest>\S.*)$")
_NOT_GLOSSARY = frozenset(
    "note example examples remember tip hint warning answer question summary definition "
    "key idea fact task activity exercise solution step method aim result results".split()
)
_BOLD = re.compile(r"(\*\*|__)(?=\S)(.{1,80}?)(?<=\S)\1")
_WEIGHTS = {"definition": 3.0, "law": 3.0, "fact": 2.8, "unit": 2.8, "process": 2.3, "cloze": 1.2}
_FOCUS_KINDS = {
    "definition": "define definition vocabulary terminology term meaning keyword glossary concept",
    "fact": "number value quantity data figure calculation constant numeric measurement",
    "unit": "unit measurement",
    "law": "law principle theorem rule equation",
    "process": "process reaction mechanism function role cycle",
}
_KIND_WORDS = {stem(w): kind for kind, ws in _FOCUS_KINDS.items() for w in ws.split()}
_STEERING = frozenset(
    stem(w)
    for w in "focus flashcard card student include emphasis emphasise emphasize cover mainly "
    "mostly especially please level easy hard difficult simple topic material lesson class test "
    "exam key revision revise only".split()
)


@dataclass
class _Option:
    kind: str
    fronts: list[str]
    topic: str = ""  # the key of what the card asks about
    defines: bool = False  # one definition card per term


@dataclass
class _Candidate:
    index: int
    sentence: str
    options: list[_Option]
    score: float = 0.0


def _subject_ok(subject: str, max_words: int) -> bool:
    tokens = [t.casefold() for t in subject.split()]
    if tokens and tokens[0] in _ARTICLES:
        tokens = tokens[1:]
    if not tokens or len(tokens) > max_words or tokens[0] in STOPWORDS:
        return False
    return tokens[-1] not in STOPWORDS and tokens[-1] not in _ARTICLES and bool(
        content_words(subject)
    )


class _Writer:
    """Builds the fronts for one material (it knows which capitalised words are names)."""

    def __init__(self, sentences: list[str], bold: set[str]) -> None:
        self.bold = bold
        self.names: set[str] = set()
        for sentence in sentences:
            for token in sentence.split()[1:]:
                if token[:1].isupper():
                    self.names.add(self._bare(token))

    @staticmethod
    def _bare(token: str) -> str:
        return re.sub(r"['’]s?$", "", token.strip("()[]\"'“”‘’,.;:!?")).casefold()

    def show(self, phrase: str) -> str:
        """The phrase as it reads mid-sentence: a leading article or common noun lower-cased."""
        first, _, rest = phrase.strip().partition(" ")
        if first.casefold() in _ARTICLES:
            return f"{first.casefold()} {self.show(rest)}" if rest else first.casefold()
        keep = (
            self._bare(first) in self.names
            or "'" in first
            or "’" in first
            or not first[1:2].islower()
        )
        word = first if keep else first[0].lower() + first[1:]
        return f"{word} {rest}".strip()

    def is_bold(self, term: str) -> bool:
        return _key(term) in self.bold


def _key(term: str) -> str:
    tokens = term.split()
    if tokens and tokens[0].casefold() in _ARTICLES:
        tokens = tokens[1:]
    return front_key(" ".join(tokens))


def _base(verb: str) -> str:
    first, _, rest = verb.partition(" ")
    if first in {"has", "have"}:
        first = "have"
    elif first.endswith("ies"):
        first = first[:-3] + "y"
    elif first.endswith(("ches", "shes", "sses", "xes", "zes")):
        first = first[:-2]
    elif first.endswith("s") and not first.endswith("ss"):
        first = first[:-1]
    return f"{first} {rest}".strip()


def _quantity_at(sentence: str, pos: int) -> Quantity | None:
    hedge = _HEDGE.match(sentence, pos)
    pos = hedge.end() if hedge else pos
    return next((q for q in find_quantities(sentence) if q.start == pos), None)


def _definition(w: _Writer, term: str, verb: str) -> _Option:
    shown = w.show(term)
    return _Option("definition", [f"What {verb} {shown}?", f"Define {shown}."], _key(term))


def _copula(w: _Writer, body: str, offset: int, sentence: str) -> list[_Option]:
    m = _COPULA.match(body)
    if not m or not _subject_ok(m.group("s"), 10):
        return []
    s, v, rest = w.show(m.group("s")), m.group("v"), m.group("rest")
    lowered = rest.casefold()
    for prefix, front, kind in (
        ("measured in", f"In what unit {v} {s} measured?", "unit"),
        ("defined as", f"How {v} {s} defined?", "definition"),
        ("equal to", f"What {v} {s} equal to?", "fact"),
        ("made of", f"What {v} {s} made of?", "fact"),
        ("made up of", f"What {v} {s} made of?", "fact"),
        ("composed of", f"What {v} {s} composed of?", "fact"),
        ("responsible for", f"What {v} {s} responsible for?", "fact"),
        ("found in", f"Where {v} {s} found?", "fact"),
    ):
        if lowered.startswith(prefix + " "):
            term = _key(m.group("s")) if kind == "definition" else ""
            return [_Option(kind, [front], term)]
    if _quantity_at(sentence, offset + m.start("rest")) is not None:
        return [_Option("fact", [f"What {v} {s}?"])]
    article = re.match(r"(?:the|an?|one)\s", lowered) is not None
    short = _subject_ok(m.group("s"), 5)
    if (article and (short or m.group("s").split()[0].casefold() == "the")) or (
        v == "are" and short and len(words(rest)) >= 3
    ):
        return [_definition(w, m.group("s"), v)]
    return []


def _process(w: _Writer, body: str, offset: int, sentence: str) -> list[_Option]:
    m = _PROCESS.match(body)
    if not m or not _subject_ok(m.group("s"), 6):
        return []
    s, verb = w.show(m.group("s")), m.group("verb").casefold()
    aux = "does" if verb.split()[0].endswith("s") else "do"
    q = _quantity_at(sentence, offset + m.start("rest"))
    base = _base(verb)
    if q is not None and q.unit_kind == "count" and base in {"contain", "have"}:
        return [_Option("fact", [f"How many {q.unit} {aux} {s} {base}?"])]
    if base == "have":
        of = _HAS_OF.match(m.group("rest"))
        at = offset + m.start("rest") + of.end() if of else -1
        if of is None or _quantity_at(sentence, at) is None:
            return []
        is_ = "is" if aux == "does" else "are"
        return [_Option("fact", [f"What {is_} the {of.group('y')} of {s}?"])]
    if base.endswith(" in"):
        return [_Option("process", [f"Where {aux} {s} {base[:-3]}?"])]
    return [_Option("process", [f"What {aux} {s} {base}?"])]


def _options(w: _Writer, sentence: str) -> list[_Option]:
    intro = _INTRO.match(sentence)
    offset = intro.end() if intro else 0
    body = sentence[offset:]
    options: list[_Option] = []
    if m := _APPOSITIVE.match(sentence):
        if _subject_ok(m.group("s"), 5):
            options.append(_definition(w, m.group("s"), m.group("v") or "is"))
    if (m := _CALLED.search(sentence)) and "also" not in m.group("adv"):
        term = m.group("t").split()
        cut = next((i for i, t in enumerate(term) if i and t.casefold() in STOPWORDS), len(term))
        if _subject_ok(" ".join(term[:cut]), 4):
            options.append(_definition(w, " ".join(term[:cut]), m.group("v")))
    if m := _ACCORDING.match(sentence):
        if _LAWLIKE.search(m.group("s")):
            options.append(_Option("law", [f"What does {w.show(m.group('s'))} state?"]))
    if m := _VERBAL.match(body):
        if _subject_ok(m.group("s"), 6):
            s, verb = w.show(m.group("s")), m.group("verb").casefold()
            aux = "does" if verb.split()[0].endswith("s") else "do"
            if verb.startswith(("state", "say")):
                options.append(_Option("law", [f"What {aux} {s} state?"]))
            else:
                kind, base = "definition", _base(verb.replace("means", "mean"))
                options.append(_Option(kind, [f"What {aux} {s} {base}?"], _key(m.group("s"))))
    if m := _GLOSSARY.match(sentence):
        term = m.group("t").strip()
        glossary = len(term.split()) <= 3 and term.casefold() not in _NOT_GLOSSARY
        if (w.is_bold(term) or glossary) and len(words(m.group("rest"))) >= 2:
            options.append(_definition(w, term, "is"))
    options += _copula(w, body, offset, sentence) + _process(w, body, offset, sentence)
    cloze = [q for q in find_quantities(sentence) if q.unit]
    if cloze:
        pattern = rf"(?<![\w.,]){re.escape(cloze[0].text)}(?!\w)"
        blanked = re.sub(pattern, BLANK, sentence)
        if len(words(blanked)) >= 4:
            options.append(_Option("cloze", [f"Fill in the blank: {blanked}"]))
    return options


def _score(c: _Candidate, w: _Writer, focus: set[str], kinds: set[str], hints: set[str]) -> float:
    best = c.options[0]
    score = max(_WEIGHTS[o.kind] for o in c.options)
    if any(o.term and w.is_bold(o.term) for o in c.options) or any(
        w.is_bold(t) for t in re.findall(r"\w[\w'’ -]*", c.sentence.split(":")[0])[:1]
    ):
        score += 1.0
    if len(words(c.sentence)) > 40:
        score -= 1.0
    if best.kind == "cloze" and words(c.sentence)[0].casefold() in STOPWORDS:
        score -= 1.5  # "It is ..." needs the sentence before it
    stems = set(content_words(c.sentence))
    overlap = len(focus & stems) + (1 if kinds & {o.kind for o in c.options} else 0)
    if overlap:
        score += 6.0 + min(overlap, 3)
    return score + 0.5 * min(len(hints & stems), 2)


def offline_flashcards(
    material: str, *, card_count: int, instructions: str = "", blueprint: str = ""
) -> dict[str, Any]:
    """Build up to `card_count` (at most 30) flashcards from `material` alone.

    Every back is a sentence of `clean_material(material)`, verbatim; fronts are unique by
    `front_key`. `instructions` strongly and `blueprint` weakly favour sentences sharing their
    words ("definitions", "units" and similar favour that kind of card). Returns
    `{"cards": []}` when the material states nothing usable.
    """
    limit = min(card_count, MAX_CARDS)
    unique: dict[str, str] = {}
    for sentence in material_sentences(material):
        unique.setdefault(" ".join(sentence.casefold().split()), sentence)
    sentences = list(unique.values())
    if limit < 1 or not sentences:
        return {"cards": []}
    bold = {" ".join(m.group(2).casefold().split()) for m in _BOLD.finditer(material)}
    writer = _Writer(sentences, bold)
    candidates: list[_Candidate] = []
    for index, sentence in enumerate(sentences):
        if sentence.endswith(("?", ":")) or BLANK in sentence:
            continue
        if not MIN_BACK_WORDS <= back_word_count(sentence) <= _MAX_WORDS:
            continue
        options = _options(writer, sentence)
        if options:
            options.sort(key=lambda o: -_WEIGHTS[o.kind])
            candidates.append(_Candidate(index, sentence, options))
    asked = set(content_words(instructions))
    kinds = {_KIND_WORDS[w] for w in asked if w in _KIND_WORDS}
    focus = {w for w in asked if w not in _KIND_WORDS and w not in _STEERING}
    hints = set(content_words(blueprint)) - _STEERING
    for c in candidates:
        c.score = _score(c, writer, focus, kinds, hints)

    def bucket(c: _Candidate) -> int:
        return c.index * limit // len(sentences)

    hits: Counter[int] = Counter()
    fronts: set[str] = set()
    terms: set[str] = set()
    chosen: list[tuple[int, dict[str, str]]] = []
    while candidates and len(chosen) < limit:
        # Each card taken from a stretch of the material makes that stretch less attractive,
        # which spreads the deck without overriding the teacher's focus.
        best = max(candidates, key=lambda c: (c.score - 1.5 * hits[bucket(c)], -c.index))
        candidates.remove(best)
        for option in best.options:
            if option.term and option.term in terms:
                continue
            front = next((f for f in option.fronts if front_key(f) not in fronts), None)
            if front is None:
                continue
            fronts.add(front_key(front))
            if option.term:
                terms.add(option.term)
            chosen.append((best.index, {"front": front, "back": best.sentence}))
            hits[bucket(best)] += 1
            break
    return {"cards": [card for _, card in sorted(chosen, key=lambda pair: pair[0])]}

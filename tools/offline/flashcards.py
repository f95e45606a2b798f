"""Deterministic offline flashcards: questions about the definitions and facts of the material.

Each card's back is one sentence of the cleaned material, verbatim, so the source supports it;
the front asks for what that sentence states: a defined term ("What is a catalyst?"), a quantity
("What is the speed of sound in air?"), a unit, a law or a named process, or, when the sentence
fits none of those, a fill-in-the-blank of its value or key term. No randomness.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

from tools.payloads.flashcards import MIN_BACK_WORDS, back_word_count, front_key
from tools.text import fold
from tools.text.quantities import Quantity, find_quantities
from tools.text.sentences import material_sentences
from tools.text.terms import key_terms
from tools.text.words import STOPWORDS, content_words, stem, words


def _wordset(text: str) -> frozenset[str]:
    return frozenset(text.split())


MAX_CARDS = 30
BLANK = "____"
_MAX_WORDS, _KNOWN_TERMS = 60, 200
_ARTICLES = frozenset({"the", "a", "an"})
_SUBJECT = r"(?P<s>[^,;:\"“”]{2,100}?)"
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
_COPULA = re.compile(
    rf"{_SUBJECT}\s+(?P<v>is|are)\s+(?:(?:also|usually|often|commonly|typically|generally|"
    r"normally|sometimes)\s+)*(?P<rest>\S.*)$"
)
_VERBAL = re.compile(
    rf"{_SUBJECT}\s+(?P<verb>refers?\s+to|means|describes?|states?\s+that|says?\s+that)\b"
)
_ACCORDING = re.compile(r"^According\s+to\s+(?P<s>[^,]{3,60}),\s+\S")
_LAWLIKE = re.compile(r"\b(?:laws?|principle|theorem|rule|equation|theory|model)\b", re.I)
_VERB_LIST = (
    r"(?:converts?|produces?|releases?|absorbs?|contains?|stores?|"
    r"transports?|carr(?:y|ies)|controls?|forms?|generates?|provides?|causes?|allows?|enables?|"
    r"breaks?\s+down|speeds?\s+up|slows?\s+down|increases?|decreases?|reduces?|protects?|"
    r"removes?|requires?|needs?|opposes?|pumps?|digests?|depends?\s+on|consists?\s+of|"
    r"acts?\s+on|has|have|occurs?\s+in|takes?\s+place\s+in|happens?\s+in|transfers?|lists?|"
    r"takes?\s+in|gives?\s+out|reacts?\s+with|combines?\s+with|turns?\s+into|changes?\s+into|"
    r"splits?\s+into|pulls?|attracts?|repels?|emits?|reflects?|detects?|measures?)"
)
_PROCESS = re.compile(rf"{_SUBJECT}\s+(?P<verb>{_VERB_LIST})\s+(?P<rest>\S.*)$")
_VERB = re.compile(rf"\b{_VERB_LIST}\b")
_WHERE = frozenset({"occur in", "take place in", "happen in"})
_HAS_OF = re.compile(r"^(?:an?|the)\s+(?P<y>[a-z][a-z-]+(?:\s+[a-z][a-z-]+){0,2}?)\s+of\s+")
_GLOSSARY = re.compile(r"^(?P<t>[^\W\d_][\w'’ -]{0,40}?)\s*(?::|\s[–—-])\s+(?P<rest>\S.*)$")
_NOT_GLOSSARY = _wordset(
    "note example examples remember tip hint warning answer question summary definition "
    "key idea fact task activity exercise solution step method aim result results"
)
_PREPOSITIONS = _wordset("with into from through")
_LINKS = _wordset("of and in on for the a an")  # the only small words inside a short subject
_ADJECTIVE_ENDINGS = ("ly", "ed", "ing", "al", "ic", "ous", "ive", "ful", "able", "ible", "ent")
_PARTICIPLES = _wordset(
    "made known given taken seen shown done held kept broken found built grown thrown drawn "
    "born chosen frozen spoken written split set put cut"
)
_CONTEXT_STARTS = _wordset("it this that they these those he she its their such there")
_BOLD = re.compile(r"(\*\*|__)(?=\S)(.{1,80}?)(?<=\S)\1")
_TOKEN = re.compile(r"\d+(?:[.,]\d+)+|[^\W_]+")
_WEIGHTS = dict(definition=3.0, law=3.0, fact=2.8, unit=2.8, process=2.3, cloze=1.2, term=1.0)
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
    for w in _wordset(
        "focus flashcard card student include emphasis emphasise emphasize cover mainly mostly "
        "especially please level easy hard difficult simple topic material lesson class test "
        "exam key revision revise only avoid exclude skip ignore particular ask question"
    )
)
_NEGATION = re.compile(r"\b(?:avoid|without|exclude|except|skip|ignore|not|no|never)\b([^.;!?]*)")


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


def _key(term: str) -> str:
    tokens = term.split()
    if tokens and tokens[0].casefold() in _ARTICLES:
        tokens = tokens[1:]
    return front_key(" ".join(tokens))


def _subject_ok(subject: str, max_words: int, *, strict: bool = False) -> bool:
    """A noun phrase to ask about; `strict` also refuses small words inside ("X use active")."""
    tokens = [t.casefold() for t in subject.split()]
    if tokens and tokens[0] in _ARTICLES:
        tokens = tokens[1:]
    if not tokens or len(tokens) > max_words or tokens[0] in STOPWORDS:
        return False
    if strict and any(t in STOPWORDS and t not in _LINKS for t in tokens):
        return False
    return tokens[-1] not in STOPWORDS | _ARTICLES and bool(content_words(subject))


def _tokens(text: str) -> set[str]:
    """Content tokens (numbers included, plural "s" folded) for the give-away check."""
    found = (t for t in _TOKEN.findall(text.casefold()) if len(t) >= 3 or t[0].isdigit())
    return {
        t[:-1] if len(t) > 3 and t.endswith("s") and not t.endswith("ss") else t
        for t in found
        if t not in STOPWORDS
    }


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


class _Reader:
    """What one material tells the card writer: its names, bold terms and key terms."""

    def __init__(self, sentences: list[str], bold: set[str]) -> None:
        self.bold = bold
        terms = [t for t in key_terms(sentences)[:_KNOWN_TERMS] if t.kind != "unit"]
        self.terms = {fold(t.text): t for t in terms if len(t.text) > 2}
        alternatives = "|".join(re.escape(t) for t in sorted(self.terms, key=len, reverse=True))
        pattern = rf"(?<![\w'’])(?:{alternatives})(?!\w)"
        self.known = re.compile(pattern, re.I) if self.terms else None
        self.names = {
            self._bare(token)
            for sentence in sentences
            for token in sentence.split()[1:]
            if token[:1].isupper()
        }

    @staticmethod
    def _bare(token: str) -> str:
        return re.sub(r"['’]s?$", "", token.strip("()[]\"'“”‘’,.;:!?")).casefold()

    def show(self, phrase: str) -> str:
        """The phrase as it reads mid-sentence: a leading article or common noun lower-cased."""
        first, _, rest = phrase.strip().partition(" ")
        if first.casefold() in _ARTICLES:
            return f"{first.casefold()} {self.show(rest)}" if rest else first.casefold()
        name = self._bare(first) in self.names or "'" in first or "’" in first
        word = first if name or not first[1:2].islower() else first[0].lower() + first[1:]
        return f"{word} {rest}".strip()

    def definition(self, term: str, verb: str) -> _Option:
        shown = self.show(term)
        return _Option(
            "definition", [f"What {verb} {shown}?", f"Define {shown}."], _key(term), True
        )


def _copula(r: _Reader, sentence: str, offset: int) -> list[_Option]:
    m = _COPULA.match(sentence, offset)
    if not m or not _subject_ok(m.group("s"), 10) or _VERB.search(m.group("s")):
        return []
    s, v, rest, topic = r.show(m.group("s")), m.group("v"), m.group("rest"), _key(m.group("s"))
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
            return [_Option(kind, [front], topic, kind == "definition")]
    if _quantity_at(sentence, m.start("rest")) is not None:
        return [_Option("fact", [f"What {v} {s}?"], topic)]
    short = _subject_ok(m.group("s"), 5)
    if re.match(r"(?:the|an?|one)\s", lowered) and (short or s.startswith("the ")):
        option = r.definition(m.group("s"), v)
        option.kind = "unit" if re.search(r"\bunits?\b", s) else option.kind
        return [option]
    # "Enzymes are (biological) catalysts ...", not "Particles are packed ..." or "... sensitive to"
    head = [w.casefold() for w in words(rest)[:2]] + ["", ""]
    noun = head[0] not in STOPWORDS | _PARTICIPLES and not head[0].endswith(("ed", "ly"))
    noun = noun and (not head[0].endswith(_ADJECTIVE_ENDINGS) or head[1] not in STOPWORDS)
    if v == "are" and short and not offset and noun and len(words(rest)) >= 3:
        return [r.definition(m.group("s"), v)]
    return []


def _process(r: _Reader, sentence: str, offset: int) -> list[_Option]:
    m = _PROCESS.match(sentence, offset)
    if not m or not _subject_ok(m.group("s"), 6, strict=True):
        return []
    s, verb, topic = r.show(m.group("s")), m.group("verb").casefold(), _key(m.group("s"))
    aux, base, rest = ("does" if verb.split()[0].endswith("s") else "do"), _base(verb), m["rest"]
    q = _quantity_at(sentence, m.start("rest"))
    if q is not None and q.unit_kind == "count" and base in {"contain", "have"}:
        return [_Option("fact", [f"How many {q.unit} {aux} {s} {base}?"], topic)]
    if base == "have":
        of = _HAS_OF.match(rest)
        if of is None or " and " in of["y"]:
            return []
        if _quantity_at(sentence, m.start("rest") + of.end()) is None:
            return []
        verb = "is" if aux == "does" else "are"
        return [_Option("fact", [f"What {verb} the {of['y']} of {s}?"], topic)]
    if base in _WHERE:
        return [_Option("process", [f"Where {aux} {s} {base[:-3]}?"], topic)]
    first = rest.split()[0].casefold()
    if " " not in base and first in _PREPOSITIONS:
        return [_Option("process", [f"What {aux} {s} {base} {first}?"], topic)]
    if (first in STOPWORDS and first not in _ARTICLES) or first.endswith("ly"):
        return []  # "increases as ...", "reacts quickly": no object to ask for
    return [_Option("process", [f"What {aux} {s} {base}?"], topic)]


def _named(r: _Reader, sentence: str, offset: int) -> list[_Option]:
    """Definitions by naming ("X, also called Y, ...", "... is called X", "X: ...") and laws."""
    options: list[_Option] = []
    if (m := _APPOSITIVE.match(sentence)) and _subject_ok(m["s"], 5):
        options.append(r.definition(m["s"], m["v"] or "is"))
    if (m := _CALLED.search(sentence)) and "also" not in m["adv"]:
        term = m["t"].split()
        cut = next((i for i, t in enumerate(term) if i and t.casefold() in STOPWORDS), None)
        term = term[:cut]
        if _subject_ok(" ".join(term), 4) and not term[0].endswith("ly"):
            verb = "is" if term[0].casefold() in {"a", "an"} else m["v"]
            options.append(r.definition(" ".join(term), verb))
    if (m := _ACCORDING.match(sentence)) and _LAWLIKE.search(m["s"]):
        options.append(_Option("law", [f"What does {r.show(m['s'])} state?"], _key(m["s"])))
    if (m := _VERBAL.match(sentence, offset)) and _subject_ok(m["s"], 6, strict=True):
        s, verb, topic = r.show(m["s"]), m["verb"].casefold(), _key(m["s"])
        aux = "does" if verb.split()[0].endswith("s") else "do"
        if verb.startswith(("state", "say")):
            options.append(_Option("law", [f"What {aux} {s} state?"], topic))
        else:
            front = f"What {aux} {s} {_base(verb.replace('means', 'mean'))}?"
            options.append(_Option("definition", [front], topic, True))
    if m := _GLOSSARY.match(sentence):
        term = m["t"].strip()
        glossary = len(term.split()) <= 3 and term.casefold() not in _NOT_GLOSSARY
        plain = not any(ch.isdigit() for ch in term)
        if plain and (_key(term) in r.bold or glossary) and len(words(m["rest"])) >= 2:
            option = r.definition(term, "is")  # no verb to agree with: "Define X." reads best
            options.append(_Option(option.kind, option.fronts[::-1], option.topic, True))
    return options


def _cloze(r: _Reader, sentence: str) -> list[_Option]:
    """Fill-in-the-blank fronts: the sentence's last value, else its most salient key term."""
    if (words(sentence) or ["it"])[0].casefold() in _CONTEXT_STARTS:
        return []  # "It is ..." needs the sentence before it
    blanks: list[tuple[str, re.Pattern[str], str]] = []
    quantities = [q for q in find_quantities(sentence) if q.unit]
    if quantities:  # the last value is usually the result ("... has a speed of 5 m/s")
        value = re.escape(quantities[-1].text)
        blanks.append(("cloze", re.compile(rf"(?<![\w.,]){value}(?!\w)"), ""))
    # Names and formulas are case-sensitive: "Earth" is a planet, "earth" is soil.
    found = [(m[0], r.terms.get(fold(m[0]))) for m in r.known.finditer(sentence)] if r.known else []
    mentions = [(text, t) for text, t in found if t and (t.kind == "term" or text == t.text)]
    for text, t in sorted(mentions, key=lambda pair: -pair[1].salience)[:1]:
        flags = re.IGNORECASE if t.kind == "term" else 0
        term = rf"(?<![\w'’-]){re.escape(text.removesuffix('s'))}(?:e?s)?(?![\w-])"
        blanks.append(("term", re.compile(term, flags), _key(text)))
    options = []
    for kind, pattern, topic in blanks:
        front = pattern.sub(BLANK, sentence)
        if len(words(front)) >= 4:
            options.append(_Option(kind, [f"Fill in the blank: {front}"], topic))
    return options


def _options(r: _Reader, sentence: str) -> list[_Option]:
    intro = _INTRO.match(sentence)
    offset = intro.end() if intro else 0
    options = _named(r, sentence, offset) + _copula(r, sentence, offset)
    options += _process(r, sentence, offset) + _cloze(r, sentence)
    return sorted(options, key=lambda o: -_WEIGHTS[o.kind])


def _steering(instructions: str) -> tuple[set[str], set[str], set[str]]:
    """The topic words, card kinds and avoided words of the teacher's instructions."""
    avoided = {w for m in _NEGATION.finditer(instructions.casefold()) for w in content_words(m[1])}
    asked = set(content_words(_NEGATION.sub(" ", instructions.casefold())))
    kinds = {_KIND_WORDS[w] for w in asked if w in _KIND_WORDS}
    return {w for w in asked if w not in _KIND_WORDS and w not in _STEERING}, kinds, avoided


def offline_flashcards(
    material: str, *, card_count: int, instructions: str = "", blueprint: str = ""
) -> dict[str, Any]:
    """Build up to `card_count` (at most 30) flashcards from `material` alone.

    Every back is a sentence of `clean_material(material)`, verbatim; fronts are unique by
    `front_key` and never give the back away. `instructions` strongly and `blueprint` weakly
    favour sentences sharing their words ("definitions", "units" and the like favour that kind
    of card; "avoid X" disfavours X). Returns `{"cards": []}` when nothing is usable.
    """
    limit = min(card_count, MAX_CARDS)
    unique: dict[str, str] = {}
    for sentence in material_sentences(material):
        unique.setdefault(fold(sentence), sentence)
    sentences = list(unique.values())
    if limit < 1 or not sentences:
        return {"cards": []}
    reader = _Reader(sentences, {_key(m[2]) for m in _BOLD.finditer(material)})
    focus, kinds, avoided = _steering(instructions)
    hints = set(content_words(blueprint)) - _STEERING
    candidates: list[_Candidate] = []
    for index, sentence in enumerate(sentences):
        if sentence.endswith(("?", ":")) or BLANK in sentence:
            continue
        if not MIN_BACK_WORDS <= back_word_count(sentence) <= _MAX_WORDS:
            continue
        options = _options(reader, sentence)
        if not options:
            continue
        stems = set(content_words(sentence))
        score = _WEIGHTS[options[0].kind] - (1.0 if len(words(sentence)) > 40 else 0.0)
        score += 1.0 if any(o.topic in reader.bold for o in options if o.topic) else 0.0
        overlap = len(focus & stems) + (1 if kinds & {o.kind for o in options} else 0)
        score += (6.0 + min(overlap, 3) if overlap else 0.0) - (4.0 if avoided & stems else 0.0)
        score += 0.5 * min(len(hints & stems), 2)
        candidates.append(_Candidate(index, sentence, options, score))

    def bucket(c: _Candidate) -> int:
        return c.index * limit // len(sentences)

    hits: Counter[int] = Counter()
    fronts: set[str] = set()
    defined: set[str] = set()
    chosen: list[tuple[int, dict[str, str]]] = []
    while candidates and len(chosen) < limit:
        # Each card taken from a stretch of the material makes that stretch less attractive,
        # which spreads the deck without overriding the teacher's focus.
        best = max(candidates, key=lambda c: (c.score - 1.5 * hits[bucket(c)], -c.index))
        candidates.remove(best)
        for option in best.options:
            front = next((f for f in option.fronts if front_key(f) not in fronts), None)
            if front is None or (option.defines and option.topic in defined):
                continue
            back = best.sentence
            if front_key(back) in front_key(front) or _tokens(back) <= _tokens(front):
                continue  # the front would give the back away
            fronts.add(front_key(front))
            if option.defines:
                defined.add(option.topic)
            chosen.append((best.index, {"front": front, "back": best.sentence}))
            hits[bucket(best)] += 1
            break
    return {"cards": [card for _, card in sorted(chosen, key=lambda pair: pair[0])]}

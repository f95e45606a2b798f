"""Objectives, assessment ideas and misconception flags for one offline blueprint topic.

Each objective restates one sentence of the topic at a Bloom level chosen from the sentence's
kind: a definition is remembered (a second one understood), a formula or a stated quantity is
applied, a comparison or a cause is analysed, anything else is understood.
"""

from __future__ import annotations

import re
from typing import Any, Final, NamedTuple

from tools.offline.blueprint_topics import Section
from tools.text import fold
from tools.text.quantities import find_quantities
from tools.text.terms import find_terms
from tools.text.words import STOPWORDS, content_words

MAX_OBJECTIVES: Final = 3
MAX_FLAGS: Final = 2

_DEFINITION = re.compile(
    r"\b(?:is|are)\s+(?:(?:also|usually|often)\s+)?(?:defined\s+as|called|known\s+as|"
    r"the\s+(?:name|term)\s+for)\b|\brefers?\s+to\b|\bmeans\b|"
    r"^[\w'’ -]{2,60}?\s+(?:is|are)\s+(?:a|an|the)\s",
    re.IGNORECASE,
)
_COMPARISON = re.compile(
    r"\b(?:whereas|unlike|in\s+contrast|compared\s+(?:with|to)|differs?\s+from|"
    r"(?:more|less|fewer)\s+\w+\s+than|\w+er\s+than|while)\b",
    re.IGNORECASE,
)
_CAUSE = re.compile(
    r"\b(?:because|causes?|caused\s+by|leads?\s+to|results?\s+in|due\s+to|therefore|"
    r"as\s+a\s+result|so\s+that|depends?\s+on|increases?|decreases?|explains?\s+why)\b",
    re.IGNORECASE,
)
_EQUATION = re.compile(
    r"(?<![\w=])([A-Za-zΔλρσμωθ][\w₀-₉²³]*(?:\([\w ,]{1,12}\))?)"  # F, KE, P(A and B)
    r"\s*=\s*([^=,;:]+?)(?=[,;:]|\.\s|\.?$)"  # the right-hand side, up to a clause break
)
_OPERATORS: Final = frozenset({"+", "−", "-", "×", "*", "/", "÷", "·", "^"})
_SYMBOL = re.compile(r"^Δ?[A-Za-zλρσμωθπ][₀-₉²³]?$")
"""A one-letter quantity (`m`, `v²`, `m₁`, `Δt`) that may multiply its neighbour unwritten."""
_COEFFICIENT = re.compile(r"^(?:\d+(?:\.\d+)?|[½⅓⅔¼¾])$")
_MAX_OPERAND_WORDS: Final = 4
_EXPLICIT_MISCONCEPTION = re.compile(
    r"\b(?:misconceptions?|common\s+(?:mistakes?|errors?)|mistaken(?:ly)?|wrongly)\b", re.IGNORECASE
)
_NEGATION = re.compile(r"\b(?:not|never)\b|n['’]t\b", re.IGNORECASE)
_LEVEL_ORDER: Final = {"remember": 0, "understand": 1, "apply": 2, "analyze": 3}
_MAX_QUOTE: Final = 200
_MAX_CLAUSE_WORDS: Final = 25
_PRONOUN_STARTS: Final = frozenset(
    {"it", "its", "this", "that", "these", "those", "they", "them", "he", "she", "we", "you"}
    | {"which", "such", "there", "here"}
)


def clip(text: str, limit: int = _MAX_QUOTE) -> str:
    """`text` on one line, cut to `limit` characters with an ellipsis."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _measured(sentence: str) -> str | None:
    """The first quantity with a real unit (`9.8 m/s²`, `4 kilograms`), not a count of things."""
    return next(
        (q.text for q in find_quantities(sentence) if q.unit_kind in ("symbol", "word")), None
    )


def _symbol(token: str) -> bool:
    return bool(_SYMBOL.match(token))


def _implicit_product(kept: list[str], tokens: list[str], index: int) -> bool:
    """True when `tokens[index]` is a symbol multiplying the symbol or number before it
    (`m a`, `m c²`, `I R`, `½ m v²`).

    A lone `a`, `A` or `I` might be prose (`… d / t a cyclist …`): it is a symbol only at the
    end of the formula or before an operator or a function word (`F = m a is …`).
    """
    token = tokens[index]
    if not (kept and (_symbol(kept[-1]) or _COEFFICIENT.match(kept[-1])) and _symbol(token)):
        return False
    if token not in ("a", "A", "I"):
        return True
    following = tokens[index + 1] if index + 1 < len(tokens) else None
    return (
        following is None
        or following in _OPERATORS
        or following.casefold().strip(",;:.") in STOPWORDS
    )


def equation_in(sentence: str) -> str | None:
    """The first equation written in the sentence (`F = m × a`), without the prose after it.

    The right-hand side is operands of at most four words joined by operators; a second word
    only continues a word operand (`image size ÷ real size`) or multiplies a symbol (`F = m a`),
    so `y = 2x + 5 crosses …` stops at `5`. A bare number (`x = 5`) is a value, not an equation.
    """
    for match in _EQUATION.finditer(sentence):
        kept: list[str] = []
        words_in_operand = 0
        tokens = match.group(2).split()
        for index, token in enumerate(tokens):
            if token in _OPERATORS:
                if words_in_operand == 0:
                    break
                kept.append(token)
                words_in_operand = 0
                continue
            if words_in_operand and _implicit_product(kept, tokens, index):
                kept.append(token)
                continue
            if words_in_operand:
                word_operand = kept[-1].isalpha() and token.isalpha()
                if not word_operand or words_in_operand >= _MAX_OPERAND_WORDS:
                    break
                if token.casefold() in STOPWORDS and token.casefold() != "of":
                    break
            kept.append(token)
            words_in_operand += 1
        while kept and (kept[-1] in _OPERATORS or kept[-1].casefold() == "of"):
            kept.pop()
        rhs = " ".join(kept)
        if rhs and (any(t in _OPERATORS for t in kept) or any(c.isalpha() for c in rhs)):
            return f"{match.group(1)} = {rhs}"
    return None


def sentence_kind(sentence: str) -> str:
    """`formula`, `definition`, `comparison`, `cause` or `general`."""
    if equation_in(sentence) or _measured(sentence):
        return "formula"
    if _DEFINITION.search(sentence):
        return "definition"
    if _COMPARISON.search(sentence):
        return "comparison"
    if _CAUSE.search(sentence):
        return "cause"
    return "general"


_NAMING = re.compile(
    r"\b(?:is|are)\s+(?:also\s+|often\s+)?(?:called|known\s+as|termed|named)\s+", re.IGNORECASE
)


def _cased(term: str, context: str) -> str:
    """`term` cased as it reads mid-sentence (`Venus`, `Newton's law`, but `diffusion`)."""
    if term[:1].islower() and not re.search(rf"(?<!\w){re.escape(term)}(?!\w)", context):
        term = term[:1].upper() + term[1:]
    return name_in_sentence(term, context)


def _adjacent(a: str, b: str, sentence: str) -> bool:
    folded = fold(sentence)
    return f"{fold(a)} {fold(b)}" in folded or f"{fold(b)} {fold(a)}" in folded


def _terms_in(sentence: str, vocabulary: list[str], context: str) -> list[str]:
    """Key terms of the sentence: its detected spans (a named term first), then topic terms."""
    spans = [span for span in find_terms(sentence) if span.kind != "unit"]
    naming = _NAMING.search(sentence)
    if naming:
        spans.sort(key=lambda span: span.start < naming.end())
    found = [span.text for span in spans]
    folded = fold(sentence)
    for term in vocabulary:
        if re.search(rf"(?<!\w){re.escape(fold(term))}(?!\w)", folded):
            found.append(term)
    unique: dict[str, str] = {}
    for term in found:
        unique.setdefault(fold(term), _cased(term, context))
    return list(unique.values())


def _starts_with_pronoun(sentence: str) -> bool:
    first = sentence.split(maxsplit=1)[0].casefold() if sentence.split() else ""
    return first.strip(",;:") in _PRONOUN_STARTS


def name_in_sentence(title: str, context: str) -> str:
    """`title` as it reads mid-sentence, its first word lower-cased unless it is a name.

    A name is a word with an apostrophe (`Newton's`), or one the material capitalises mid-sentence
    and never writes in lower case.
    """
    first = title.split(maxsplit=1)[0] if title.split() else ""
    if first == "A":
        return "a" + title[1:]
    if not first[1:2].islower() or "'" in first or "’" in first:
        return title
    lowered = first[:1].lower() + first[1:]
    if (
        lowered in STOPWORDS
        or re.search(rf"(?<!\w){re.escape(lowered)}(?!\w)", context)
        or not re.search(rf"[\w,;:(] {re.escape(first)}(?!\w)", context)
    ):
        return lowered + title[len(first) :]
    return title


class Focus(NamedTuple):
    """What an objective is written about: the topic's title (also as it reads mid-sentence)."""

    title: str
    name: str
    context: str
    """The topic's text, to decide how a sentence's first word reads mid-sentence."""

    def clause(self, sentence: str) -> str | None:
        """The sentence as a clause ("Explain the idea that …"), when it reads well as one."""
        body = sentence.strip().rstrip(" .!")
        if not body or body.endswith("?") or len(body.split()) > _MAX_CLAUSE_WORDS:
            return None
        return name_in_sentence(body, self.context)


def _objective(
    sentence: str, kind: str, terms: list[str], focus: Focus, label: str
) -> dict[str, Any]:
    term = terms[0] if terms else focus.name
    quote = f"“{clip(sentence)}”"
    clause = focus.clause(sentence)
    if kind == "definition":
        level, statement = "remember", f"Define {term} and recognise it in examples."
        mastery = f"Gives a definition consistent with the material: {quote}"
    elif kind == "formula":
        level = "apply"
        equation = equation_in(sentence)
        quantity = _measured(sentence)
        if equation:
            statement = f"Use {equation} to solve problems on {focus.name}."
        elif quantity:
            statement = f"Use values such as {quantity} in calculations on {focus.name}."
        else:
            statement = f"Apply the relationships stated for {term} in calculations."
        mastery = f"Solves a problem with the relationship the material states: {quote}"
    elif kind in ("comparison", "cause"):
        level = "analyze"
        if kind == "comparison" and len(terms) > 1 and not _adjacent(terms[0], terms[1], sentence):
            statement = f"Compare {terms[0]} and {terms[1]}, explaining how they differ."
        elif clause:
            statement = f"Analyse how {clause}."
        else:
            statement = f"Analyse the causes and effects described in {focus.name}."
        mastery = f"Explains the relationship in their own words: {quote}"
    else:
        level = "understand"
        if clause:
            statement = f"Explain the idea that {clause}."
        else:
            statement = f"Summarise the key ideas of {focus.name}."
        mastery = f"Summarises the idea accurately: {quote}"
    return {
        "statement": statement,
        "level": level,
        "masteryCriteria": mastery,
        "misconceptionAddressed": None,
        "evidence": [{"sourceLabel": label, "rationale": f"{label} states: {quote}"}],
    }


def objectives_for(section: Section, vocabulary: list[str], focus: Focus) -> list[dict[str, Any]]:
    """One to three objectives: a definition, a formula and an analysis first, then the rest.

    Sentences that open with a pronoun need the sentence before them, so they are skipped;
    so are stated misconceptions, which become flags instead.
    """
    kinds = [
        (sentence, sentence_kind(sentence), label)
        for sentence, label in zip(section.sentences, section.sentence_labels, strict=True)
        if not _EXPLICIT_MISCONCEPTION.search(sentence) and not _starts_with_pronoun(sentence)
    ]
    preferred = [("definition",), ("formula",), ("comparison", "cause"), ("definition", "general")]
    chosen: list[dict[str, Any]] = []
    used: set[str] = set()
    for wanted in [*preferred, ("general", "comparison", "cause", "formula", "definition")]:
        for sentence, kind, label in kinds:
            if len(chosen) >= MAX_OBJECTIVES or kind not in wanted or sentence in used:
                continue
            if kind == "definition" and any(o["level"] == "remember" for o in chosen):
                kind = "general"
            terms = _terms_in(sentence, vocabulary, focus.context)
            objective = _objective(sentence, kind, terms, focus, label)
            if fold(objective["statement"]) in {fold(o["statement"]) for o in chosen}:
                continue
            used.add(sentence)
            chosen.append(objective)
            break
    if not chosen:
        lead = section.sentences[0] if section.sentences else section.title
        chosen.append(_objective(lead, "general", [], focus, section.labels[0]))
    return sorted(chosen, key=lambda o: _LEVEL_ORDER[o["level"]])


def address_misconception(objectives: list[dict[str, Any]], flag: str) -> None:
    """Attach a misconception to the objective sharing most words with it (the last on a tie)."""
    flag_words = set(content_words(flag))
    overlap = [len(flag_words & set(content_words(o["statement"]))) for o in objectives]
    best = max(range(len(objectives)), key=lambda i: (overlap[i], i))
    objectives[best]["misconceptionAddressed"] = flag


def misconception_flags(section: Section) -> list[str]:
    """Sentences that name a misconception or a mistake, then sentences that deny something.

    A definition that happens to contain "not" ("… is not enclosed in a nucleus") is no flag.
    """
    explicit = [s for s in section.sentences if _EXPLICIT_MISCONCEPTION.search(s)]
    negated = [
        s
        for s in section.sentences
        if _NEGATION.search(s) and s not in explicit and sentence_kind(s) != "definition"
    ]
    return [clip(s) for s in (explicit + negated)[:MAX_FLAGS]]


def assessment_ideas(focus: Focus, objectives: list[dict[str, Any]], flags: list[str]) -> list[str]:
    """Two to four ways to check the topic's objectives, one per objective, then an exit ticket."""
    ideas = []
    for objective in objectives:
        statement = objective["statement"]
        if objective["level"] in ("remember", "understand"):
            ideas.append(f"Short answer: {statement[0].lower()}{statement[1:]}")
        elif objective["level"] == "apply":
            ideas.append(
                "Worked problem with new values: show the relationship, substitution and units."
            )
        else:
            ideas.append(f"Explain-your-reasoning question: {statement}")
    if flags:
        ideas.append(f"True-or-false probe on a likely misconception: {flags[0]}")
    ideas.append(f"Exit ticket: summarise {focus.name} in two or three sentences.")
    return list(dict.fromkeys(ideas))[:4]

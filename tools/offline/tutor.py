"""Deterministic offline tutor: answers a student by quoting their class materials.

No network and no weights. A message is first sorted into a `RequestKind` (harmful request,
prompt injection, off-topic, or fine); refusals are short and point back to the class topics.
A fine question is answered with the 2-4 source sentences that share most (rare) content words
with it, each quoted verbatim and followed by its source label.

The answer has a fixed shape, which `evals.scorers.chat.no_uncited_claims` relies on:

    From your class materials:                                <- lead-in paragraph, no marker

    <sentence> [Source 1]. <sentence> [Source 2].             <- quoted sentences only

    Would you like me to explain any part of this again?      <- closing question, no marker

Each marker goes before the sentence's closing punctuation, so removing ` [Source N]` gives the
sentence back exactly as `tools.text.sentences.material_sentences` cut it from the source.
Source sentences that read as instructions to an AI (`is_instruction_like`) are never quoted:
material is data and cannot change the tutor's behaviour.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

from tools.offline.safety import (
    GENERIC_WORDS,
    class_topics,
    harm_category,
    is_follow_up,
    is_greeting,
    is_injection,
    is_instruction_like,
    is_study_request,
    memory_words,
    not_covered_answer,
    query_words,
    refusal_answer,
    small_talk_answer,
    study_answer,
    topic_phrase,
)
from tools.text import fold, strip_invisible
from tools.text.sentences import material_sentences
from tools.text.words import content_words, words

__all__ = [
    "CLOSING",
    "LEAD_IN",
    "RequestKind",
    "Source",
    "classify_request",
    "is_instruction_like",
    "offline_tutor_reply",
]

RequestKind = Literal["ok", "unsafe", "injection", "off_topic"]

LEAD_IN = "From your class materials:"
CLOSING = "Would you like me to explain any part of this again?"
MAX_RATIONALE = 200
_MAX_SENTENCES, _MIN_WORDS, _HEADING_WORDS, _LONG_WORDS = 4, 5, 10, 45
_MIN_COVERAGE = 0.25  # weighted share of the question a sentence must cover to be relevant
_MARKER = re.compile(r"\[\s*source\s*\d+\s*\]", re.IGNORECASE)
_END_PUNCT = re.compile(r"[.!?…]+[\"'”’)\]]*$")


@dataclass(frozen=True, slots=True)
class Source:
    """One retrieved chunk as the tutor sees it."""

    label: str  # "Source 3"
    title: str  # material title
    text: str  # the chunk text (may contain Markdown)


_DEFINE_Q = re.compile(
    r"^\s*(?:so\s+|and\s+|but\s+)?(?:what(?:'s|’s|\s+is|\s+are|\s+was)|define|"
    r"(?:the\s+)?(?:definition|meaning)\s+of|what\s+does|what\s+do\s+you\s+mean\s+by)\s+"
    r"(?:(?:the|an?)\s+)?(?:term\s+|word\s+)?(?P<x>[^?.!]+?)(?:\s+mean)?\s*[?.!]*\s*$",
    re.IGNORECASE,
)
_DEFINE_S = re.compile(
    r"^(?:(?:the|an?)\s+)?(?P<s>[^,;:]{1,60}?)\s+(?:(?:is|are)\s+(?:also\s+)?(?:an?|the|any|one|"
    r"defined|called|known|measured|made|composed|how|when|where|what)|refers?\s+to|means|"
    r"describes?)\b",
    re.IGNORECASE,
)
_CALLED_S = re.compile(
    r"\b(?:is|are)\s+(?:also\s+)?(?:called|known\s+as|termed|named)\s+(?:the\s+|an?\s+)?"
    r"(?P<s>[\w'’ -]{1,40})",
    re.IGNORECASE,
)
_HOW_WORK = re.compile(
    r"^(\s*how\s+(?:does|do|did|would|will)\s+.+?)\s+work(?:s)?\s*([?.!]*)\s*$", re.I
)
# "work out the gradient": the verb says nothing about the topic.
_PHRASAL = re.compile(r"\b(?:work|figure|find|sort)(?:s|ed|ing)?\s+out\b", re.I)
# A few words that say the same thing in a question and in the material.
_RELATED = {"unit": ("measured", "measure"), "formula": ("equation",), "equation": ("formula",)}
_PRONOUN_START = frozenset(("it", "this", "that", "these", "those", "they", "he", "she", "its"))


@dataclass(frozen=True, slots=True)
class _Sentence:
    source: int
    position: int
    text: str
    words: frozenset[str]


@lru_cache(maxsize=512)
def _sentences_of(text: str) -> tuple[tuple[str, frozenset[str]], ...]:
    """Quotable sentences of one source text with their stemmed content words."""
    found = []
    for sentence in material_sentences(text):
        count = len(words(sentence))
        if (
            count < _MIN_WORDS
            or sentence.endswith(("?", ":"))
            or (count < _HEADING_WORDS and not _END_PUNCT.search(sentence))
            or _MARKER.search(sentence)
        ):
            continue
        found.append((sentence, frozenset(content_words(sentence))))
    return tuple(found)


def _clean_sources(sources: Sequence[Source]) -> list[Source]:
    """Sources without invisible characters; a blank label becomes `Source N` (1-based)."""
    return [
        Source(
            " ".join(strip_invisible(s.label).split()) or f"Source {n}",
            strip_invisible(s.title),
            strip_invisible(s.text),
        )
        for n, s in enumerate(sources, start=1)
    ]


def _vocabulary(sources: Sequence[Source], blueprint: str) -> set[str]:
    vocab = set(content_words(blueprint))
    for source in sources:
        vocab.update(content_words(source.title))
        for _, found in _sentences_of(source.text):
            vocab.update(found)
    return vocab


def classify_request(
    message: str, *, sources: Sequence[Source], blueprint: str = "", memory: str = ""
) -> RequestKind:
    """Sort a student's message: harmful, an injection attempt, off-topic, or fine.

    Off-topic means the message has meaningful content words and none of them occurs in the
    sources, their titles or the blueprint, and it is neither small talk nor a study-skills
    question. A follow-up ("why?") counts as on-topic when `memory` is about the class.
    """
    text = strip_invisible(message)
    if harm_category(text):
        return "unsafe"
    if is_injection(text):
        return "injection"
    if is_greeting(text) or is_study_request(text):
        return "ok"
    sources = _clean_sources(sources)
    vocab = _vocabulary(sources, strip_invisible(blueprint))
    asked = [w for w in query_words(text) if w not in GENERIC_WORDS]
    if not vocab or not asked or vocab.intersection(asked):
        return "ok"
    if memory and is_follow_up(text, asked) and vocab.intersection(memory_words(memory)):
        return "ok"
    return "off_topic"


# ----------------------------------------------------------------------------------- replies


def _reply(safety: str, answer: str, confidence: str, citations: Any = ()) -> dict[str, Any]:
    return {
        "safety": safety,
        "answer": answer,
        "citations": list(citations),
        "confidence": confidence,
    }


def _definition_subject(question: str) -> frozenset[str]:
    m = _DEFINE_Q.match(question)
    return frozenset(query_words(m.group("x"))) if m else frozenset()


def _defines(sentence: str, subject: frozenset[str]) -> bool:
    for pattern, anchored in ((_DEFINE_S, True), (_CALLED_S, False)):
        m = pattern.match(sentence) if anchored else pattern.search(sentence)
        if m:
            found = set(content_words(m.group("s")))
            if subject <= found and len(found) <= len(subject) + 1:
                return True
    return False


def _rank(
    query: dict[str, float], subject: frozenset[str], sentences: Sequence[_Sentence], count: int
) -> list[tuple[float, float, _Sentence]]:
    """(score, weighted coverage, sentence) for sentences sharing a query word, best first."""
    total = len(sentences)
    df = {w: sum(1 for s in sentences if w in s.words) for w in query}
    idf = {w: math.log((total + 1) / (df[w] + 0.5)) for w in query}
    # A word the sources never use but that a related query word stands in for ("unit" when
    # the text says "measured in") must not make every sentence look irrelevant.
    covered = {w for w in query if not df[w] and any(df.get(r) for r in _RELATED.get(w, ()))}
    norm = sum(query[w] * idf[w] for w in query if w not in covered) or 1.0
    ranked = []
    for s in sentences:
        shared = [w for w in query if w in s.words]  # query order: sums never depend on hashing
        if not shared or is_instruction_like(s.text):
            continue
        coverage = sum(query[w] * idf[w] for w in shared) / norm
        score = coverage + 0.04 * (1 - s.source / max(count, 1))
        if subject and _defines(s.text, subject):
            score += 0.35
        if _starts_with_pronoun(s.text):
            score -= 0.05
        if len(words(s.text)) > _LONG_WORDS:
            score -= 0.05
        ranked.append((score, coverage, s))
    ranked.sort(key=lambda r: (-r[0], r[2].source, r[2].position))
    return ranked


def _mark(sentence: str, label: str) -> str:
    """Put ` [label]` before the sentence's closing punctuation (or at its end)."""
    m = _END_PUNCT.search(sentence)
    cut = m.start() if m else len(sentence)
    return f"{sentence[:cut].rstrip()} [{label}]{sentence[cut:]}"


def _clip(text: str, limit: int = MAX_RATIONALE) -> str:
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0]
    return cut.rstrip(" ,;:") + "…"


def _starts_with_pronoun(sentence: str) -> bool:
    first = sentence.split(None, 1)[0].casefold() if sentence.strip() else ""
    return first in _PRONOUN_START


def _select(
    ranked: list[tuple[float, float, _Sentence]], by_source: Sequence[Sequence[_Sentence]]
) -> list[_Sentence]:
    """The best sentences (2-4 when there are enough) with the sentences they lean on.

    A sentence starting with a pronoun ("It is measured in pascals.") continues the one before
    it: it is taken right after a chosen sentence, and a chosen one brings its predecessor.
    """
    chosen: list[_Sentence] = []
    seen: set[str] = set()

    def take(s: _Sentence) -> None:
        if len(chosen) < _MAX_SENTENCES and fold(s.text) not in seen:
            seen.add(fold(s.text))
            chosen.append(s)

    best = ranked[0][0]
    for score, _, s in ranked:
        if len(chosen) >= _MAX_SENTENCES or (
            chosen and score < (0.3 if len(chosen) == 1 else 0.5) * best
        ):
            break
        if fold(s.text) in seen:
            continue
        group = by_source[s.source]
        before = group[s.position - 1] if s.position and _starts_with_pronoun(s.text) else None
        after = group[s.position + 1] if s.position + 1 < len(group) else None
        take(s)
        for neighbour in (before, after):
            if (
                neighbour is not None
                and (neighbour is before or _starts_with_pronoun(neighbour.text))
                and not is_instruction_like(neighbour.text)
            ):
                take(neighbour)
    return chosen


def offline_tutor_reply(
    message: str,
    sources: Sequence[Source],
    *,
    blueprint: str = "",
    memory: str = "",
    class_title: str = "",
) -> dict[str, Any]:
    """The chat reply contract: `{safety, answer, citations, confidence}`, computed locally.

    Refusals (harm, injection, off-topic) name class topics and cite nothing. Small talk and
    study-skills questions get a short friendly answer. Otherwise the answer quotes the most
    relevant source sentences verbatim; when nothing relevant is found it says so.
    """
    text = strip_invisible(message).strip()
    blueprint, memory = strip_invisible(blueprint), strip_invisible(memory)
    sources = _clean_sources(sources)
    topics = topic_phrase(
        class_topics([s.title for s in sources], blueprint, strip_invisible(class_title))
    )
    kind = classify_request(text, sources=sources, blueprint=blueprint, memory=memory)
    if kind != "ok":
        return _reply("refusal", refusal_answer(kind, harm_category(text), topics), "high")
    if is_greeting(text):
        return _reply("ok", small_talk_answer(text, topics), "high")
    asked = query_words(_PHRASAL.sub(" ", _HOW_WORK.sub(r"\1\2", text)))
    query = dict.fromkeys(asked, 1.0)
    for word in asked:
        for related in _RELATED.get(word, ()):
            query.setdefault(related, 0.5)
    if memory and is_follow_up(text, asked):
        for word in memory_words(memory):
            query.setdefault(word, 0.5)
    by_source = [
        [
            _Sentence(i, j, sentence, found)
            for j, (sentence, found) in enumerate(_sentences_of(s.text))
        ]
        for i, s in enumerate(sources)
    ]
    sentences = [s for group in by_source for s in group]
    ranked = _rank(query, _definition_subject(text), sentences, len(sources)) if query else []
    if is_study_request(text) and (len(asked) < 2 or not ranked or ranked[0][1] < 0.6):
        return _reply("ok", study_answer(topics), "medium")
    if not ranked or ranked[0][1] < _MIN_COVERAGE:
        return _reply("ok", not_covered_answer(topics, vague=not query), "low")
    chosen = _select(ranked, by_source)
    order = {s.source: rank for rank, s in reversed(list(enumerate(chosen)))}
    chosen.sort(key=lambda s: (order[s.source], s.position))
    citations: dict[str, dict[str, str]] = {}
    for s in chosen:
        label = sources[s.source].label
        citations.setdefault(label, {"sourceLabel": label, "rationale": _clip(s.text)})
    body = " ".join(_mark(s.text, sources[s.source].label) for s in chosen)
    basis = set(asked) or set(query)
    coverage = len(ranked[0][2].words & basis) / len(basis)
    confidence = "high" if coverage >= 0.6 else "medium" if coverage >= 0.3 else "low"
    return _reply("ok", f"{LEAD_IN}\n\n{body}\n\n{CLOSING}", confidence, citations.values())

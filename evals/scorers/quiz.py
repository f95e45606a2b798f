"""Deterministic scorers for generated quizzes.

Every scorer reads one dataset case (the source `passage` and the requested `question_count`) and
the quiz payload `{questions: [{question, choices, answer, explanation}]}`. None of them calls a
model or the network, so the same quiz always gets the same scores.

How the passage is read, once per distinct passage:

- `normalise_text` first (NFC, invisible characters dropped, runs of spaces collapsed), then the
  Markdown scaffolding a reader never sees is removed: heading and list markers at the start of a
  line, and `**`, `__` and backtick emphasis. A quiz built from rendered notes can then quote
  them without the asterisks.
- Sentences are the lines of that text split after `.`, `!` or `?` followed by white space, so
  decimals such as 9.8 stay whole.
- Comparisons are case- and space-insensitive (`tools.text.fold`). Phrases match on word
  boundaries, so an answer of "8" is not found inside "18".
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from evals.scorers import Score, Scorer
from tools.payloads.quiz import validate_quiz
from tools.text import fold, normalise_text

MIN_QUOTE_WORDS: Final = 5
"""The shortest quoted span that counts as grounding an explanation."""

# Function words that say nothing about the subject, so an answer is not judged on them.
_STOPWORD_LIST: Final = """
    about above after again against also and any are because been before being below between
    both but can could did does doing done down during each either else every few for from
    further had has have having her hers him his how however into its itself just least less
    like many more most much must neither nor not now off once only onto other our ours out over
    own per same shall she should since some such than that the their theirs them then there
    these they this those though through thus too under until upon very via was were what when
    where whether which while who whom whose why will with within without would yet you your
"""
_STOPWORDS: Final = frozenset(_STOPWORD_LIST.split())
# A word, or a number with its decimal points or thousands separators ("9.8", "1,000").
# Underscores are not letters: a blank such as "____" in a question is no word.
_WORD: Final = re.compile(r"\d+(?:[.,]\d+)+|[^\W_]+")
_SENTENCE_BREAK: Final = re.compile(r"(?<=[.!?])\s+")
_LINE_MARKER: Final = re.compile(r"^(?:#{1,6}\s+|[-*+]\s+|\d{1,3}[.)]\s+|>\s?)")
_INLINE_MARKUP: Final = re.compile(r"\*\*|__|`")
_QUOTED: Final = re.compile(r'"([^"]+)"|\u201c([^\u201d]+)\u201d')
# Trimmed from both ends of an answer or a distractor before it is looked up. Brackets, `%` and
# signs are kept: they carry meaning in answers such as "80 %" or "-1".
_EDGE_PUNCTUATION: Final = " .,;:!?\"'\u2018\u2019\u201c\u201d\u2026"
_ELLIPSIS: Final = " .\u2026"


# --- reading the passage ------------------------------------------------------------------------


def _plain(text: str) -> str:
    """Normalised text without Markdown heading/list markers or emphasis, lines kept."""
    lines = (_INLINE_MARKUP.sub("", _LINE_MARKER.sub("", line)) for line in text.splitlines())
    return "\n".join(lines)


def _stem(word: str) -> str:
    """Drop a trailing plural "s" ("newtons" -> "newton"), leaving "mass" and "gas" alone."""
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def _phrase(text: str) -> str:
    """Folded text with edge punctuation trimmed: the form an answer is looked up in."""
    return fold(_INLINE_MARKUP.sub("", normalise_text(text))).strip(_EDGE_PUNCTUATION)


def _key(text: str) -> str:
    """Comparison key ignoring case, punctuation and plural "s": "Newtons." -> "newton"."""
    return " ".join(_stem(word) for word in _WORD.findall(fold(normalise_text(text))))


def _tokens(text: str) -> frozenset[str]:
    return frozenset(_stem(word) for word in _WORD.findall(fold(normalise_text(text))))


def _content_words(text: str) -> frozenset[str]:
    """Words of three or more letters that are not stopwords, plural "s" removed."""
    words = _WORD.findall(fold(normalise_text(text)))
    return frozenset(_stem(w) for w in words if len(w) >= 3 and w not in _STOPWORDS)


def _contains(haystack: str, needle: str) -> bool:
    """Whether `needle` occurs in `haystack` without starting or ending inside a word.

    A decimal point or thousands separator between digits counts as part of the word, so "8" is
    not found in "9.8" or "18", and "000" is not found in "1,000".
    """
    if not needle:
        return False
    pattern = rf"(?<!\w)(?<!\d[.,]){re.escape(needle)}(?!\w)(?![.,]\d)"
    return re.search(pattern, haystack) is not None


def _contains_key(haystack_key: str, needle_key: str) -> bool:
    """Whether the words of `needle_key` occur as a run inside `haystack_key`."""
    return bool(needle_key) and f" {needle_key} " in f" {haystack_key} "


@dataclass(frozen=True)
class _Passage:
    folded: str
    sentences: tuple[str, ...]
    sentence_tokens: tuple[frozenset[str], ...]
    sentence_keys: tuple[str, ...]


@functools.lru_cache(maxsize=256)
def _read_passage(text: str) -> _Passage:
    plain = _plain(normalise_text(text))
    sentences = tuple(
        fold(part)
        for line in plain.splitlines()
        for part in _SENTENCE_BREAK.split(line)
        if part.strip()
    )
    return _Passage(
        folded=fold(plain),
        sentences=sentences,
        sentence_tokens=tuple(_tokens(s) for s in sentences),
        sentence_keys=tuple(_key(s) for s in sentences),
    )


def _passage(case: Mapping[str, Any]) -> _Passage:
    passage = case.get("passage")
    return _read_passage(passage if isinstance(passage, str) else "")


def _supporting_sentence(passage: _Passage, answer: str, question: str) -> int | None:
    """Index of the sentence that backs `answer`, or None when no sentence does.

    A sentence backs the answer when it contains the answer as a phrase or holds every content
    word of it. Of several such sentences, the one sharing most content words with the question
    wins; a tie goes to the one sharing most words of any kind, then to the earlier sentence.
    """
    phrase = _phrase(answer)
    answer_words = _content_words(answer)
    question_words = _content_words(question)
    question_tokens = _tokens(question)
    best: int | None = None
    best_overlap = (-1, -1)
    for index, (sentence, tokens) in enumerate(
        zip(passage.sentences, passage.sentence_tokens, strict=True)
    ):
        if not (_contains(sentence, phrase) or (answer_words and answer_words <= tokens)):
            continue
        overlap = (len(question_words & tokens), len(question_tokens & tokens))
        if overlap > best_overlap:
            best, best_overlap = index, overlap
    return best


# --- reading the payload ------------------------------------------------------------------------


def _questions(payload: Any) -> list[Any]:
    if isinstance(payload, Mapping):
        questions = payload.get("questions")
        if isinstance(questions, list):
            return questions
    return []


def _field(item: Any, name: str) -> str | None:
    """A non-blank string field of a question, or None."""
    if isinstance(item, Mapping):
        value = item.get(name)
        if isinstance(value, str) and value.strip():
            return value
    return None


def _clip(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


_NO_QUESTIONS: Final = "The quiz has no questions to score."


def _fraction(passed: int, total: int, reasons: list[str]) -> Score:
    if total == 0:
        return Score(0.0, [_NO_QUESTIONS])
    return Score(passed / total, reasons)


def _question_count(case: Mapping[str, Any]) -> int:
    return int(case["question_count"])


# --- scorers ------------------------------------------------------------------------------------


def contract_valid(case: Mapping[str, Any], payload: Any) -> Score:
    """1.0 when the payload passes the quiz contract (`validate_quiz`) with at least one question.

    Failing means the app could not render or grade the quiz at all: a wrong shape, a question
    without exactly four distinct choices, an answer that is not one of the choices, a repeated
    question, a missing explanation or more questions than were asked for. Anything else on this
    scorecard matters only once this passes.
    """
    errors = validate_quiz(payload, question_count=_question_count(case))
    if not errors and not _questions(payload):
        errors = [_NO_QUESTIONS]
    return Score(0.0 if errors else 1.0, errors)


def answer_supported(case: Mapping[str, Any], payload: Any) -> Score:
    """Fraction of questions whose marked answer is stated by the passage.

    An answer is supported when, case- and space-insensitively and with edge punctuation
    trimmed, it occurs in the passage as a phrase, or when every content word of it (three or
    more letters, not a stopword) appears in one passage sentence. Failing means the quiz marks
    as correct something the class material does not say: a hallucinated or outside-knowledge
    answer that a student could not check against their notes.
    """
    passage = _passage(case)
    questions = _questions(payload)
    reasons: list[str] = []
    passed = 0
    for number, item in enumerate(questions, start=1):
        answer = _field(item, "answer")
        if answer is None:
            reasons.append(f"Q{number}: there is no answer to look up.")
            continue
        question = _field(item, "question") or ""
        if _contains(passage.folded, _phrase(answer)) or (
            _supporting_sentence(passage, answer, question) is not None
        ):
            passed += 1
        else:
            reasons.append(f"Q{number}: the answer {_clip(answer)!r} is not in the passage.")
    return _fraction(passed, len(questions), reasons)


def explanation_grounded(case: Mapping[str, Any], payload: Any) -> Score:
    """Fraction of questions whose explanation quotes the passage word for word.

    The explanation must contain a span in double quotes ("..." or curly quotes) of at least
    five words that occurs in the passage, compared after `normalise_text`, with Markdown
    emphasis removed, leading or trailing ellipses dropped, and case and spacing folded. Failing
    means the explanation cannot be traced back to the material: the student gets a
    justification they cannot find in their notes, and a reviewer cannot check it quickly.
    """
    passage = _passage(case)
    questions = _questions(payload)
    reasons: list[str] = []
    passed = 0
    for number, item in enumerate(questions, start=1):
        explanation = _field(item, "explanation")
        if explanation is None:
            reasons.append(f"Q{number}: there is no explanation.")
            continue
        spans = [
            fold(_plain(first or second)).strip(_ELLIPSIS)
            for first, second in _QUOTED.findall(normalise_text(explanation))
        ]
        long_spans = [span for span in spans if len(span.split()) >= MIN_QUOTE_WORDS]
        if any(span in passage.folded for span in long_spans):
            passed += 1
        elif long_spans:
            reasons.append(
                f"Q{number}: the quoted text {_clip(long_spans[0])!r} is not in the passage."
            )
        else:
            reasons.append(
                f"Q{number}: the explanation quotes no passage span of at least "
                f"{MIN_QUOTE_WORDS} words."
            )
    return _fraction(passed, len(questions), reasons)


def _distractor_problem(
    passage: _Passage, question: str, answer: str, distractors: list[str]
) -> str | None:
    answer_key = _key(answer)
    support = _supporting_sentence(passage, answer, question)
    seen: dict[str, str] = {}
    for distractor in distractors:
        key = _key(distractor)
        shown = _clip(distractor, 40)
        if not key:
            return f"the distractor {shown!r} has no words."
        if key == answer_key:
            return f"the distractor {shown!r} is the answer written differently."
        if _contains_key(answer_key, key) or _contains_key(key, answer_key):
            return f"the distractor {shown!r} overlaps the answer {_clip(answer, 40)!r}."
        if key in seen:
            return f"the distractors {seen[key]!r} and {shown!r} are the same option."
        seen[key] = shown
        if support is not None and (
            _contains(passage.sentences[support], _phrase(distractor))
            or _contains_key(passage.sentence_keys[support], key)
        ):
            return (
                f"the distractor {shown!r} appears in the sentence that supports the answer, "
                "so it could also be correct."
            )
    return None


def distractors_valid(case: Mapping[str, Any], payload: Any) -> Score:
    """Fraction of questions whose three wrong choices are plausible but clearly wrong.

    Each distractor must differ from the answer once case, punctuation and a plural "s" are
    ignored; must not contain the answer or sit inside it ("newton" against "newton metre");
    must differ in the same way from the other distractors; and must not appear in the passage
    sentence that supports the answer (the sentence holding the answer that shares most words
    with the question). Failing means a question is ambiguous or gives itself away: two options
    are really the same, or a "wrong" option is stated next to the answer and may also be true.
    """
    passage = _passage(case)
    questions = _questions(payload)
    reasons: list[str] = []
    passed = 0
    for number, item in enumerate(questions, start=1):
        answer = _field(item, "answer")
        choices = item.get("choices") if isinstance(item, Mapping) else None
        if (
            answer is None
            or not isinstance(choices, list)
            or not all(isinstance(choice, str) for choice in choices)
            or answer not in choices
        ):
            reasons.append(f"Q{number}: the answer is not one of the choices.")
            continue
        distractors = [choice for choice in choices if choice != answer]
        if len(distractors) != 3:
            reasons.append(f"Q{number}: expected 3 distractors, found {len(distractors)}.")
            continue
        problem = _distractor_problem(passage, _field(item, "question") or "", answer, distractors)
        if problem is None:
            passed += 1
        else:
            reasons.append(f"Q{number}: {problem}")
    return _fraction(passed, len(questions), reasons)


def no_duplicates(case: Mapping[str, Any], payload: Any) -> Score:
    """1.0 when no two questions are the same question or test the same fact, else 0.

    Two questions are the same when their text folds to the same string (case, spacing and
    trailing punctuation ignored). They test the same fact when they share an answer (compared
    like distractors) taken from the same supporting sentence. Failing means the quiz wastes
    slots: a student answers one fact twice and the material gets less coverage than promised.
    """
    passage = _passage(case)
    questions = _questions(payload)
    if not questions:
        return Score(0.0, [_NO_QUESTIONS])
    reasons: list[str] = []
    texts: dict[str, int] = {}
    facts: dict[tuple[str, int], int] = {}
    for number, item in enumerate(questions, start=1):
        question = _field(item, "question")
        answer = _field(item, "answer")
        if question is not None:
            text_key = fold(normalise_text(question)).strip(_EDGE_PUNCTUATION)
            if text_key in texts:
                reasons.append(f"Q{number} repeats Q{texts[text_key]}.")
            else:
                texts[text_key] = number
        if answer is None:
            continue
        support = _supporting_sentence(passage, answer, question or "")
        if support is None:
            continue
        fact = (_key(answer), support)
        if fact in facts:
            reasons.append(
                f"Q{number} tests the same fact as Q{facts[fact]} "
                f"(answer {_clip(answer, 40)!r} from the same sentence)."
            )
        else:
            facts[fact] = number
    return Score(0.0 if reasons else 1.0, reasons)


def count_ok(case: Mapping[str, Any], payload: Any) -> Score:
    """1.0 when the quiz has between 1 and `question_count` questions, else 0.

    Failing means the quiz ignored the size the teacher asked for: either it is empty, or it is
    longer than requested and the extra questions would have to be cut.
    """
    limit = _question_count(case)
    count = len(_questions(payload))
    if 1 <= count <= limit:
        return Score(1.0, [])
    return Score(0.0, [f"The quiz has {count} questions; between 1 and {limit} were expected."])


QUIZ_SCORERS: Final[Mapping[str, Scorer]] = {
    "contract_valid": contract_valid,
    "answer_supported": answer_supported,
    "explanation_grounded": explanation_grounded,
    "distractors_valid": distractors_valid,
    "no_duplicates": no_duplicates,
    "count_ok": count_ok,
}
"""The quiz suite's scorers, in the order the scorecard lists them."""

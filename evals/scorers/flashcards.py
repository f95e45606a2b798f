"""Deterministic scorers for generated flashcards.

Every scorer reads one dataset case (the source `passage` and the requested `card_count`) and the
payload `{cards: [{front, back}]}`. None of them calls a model or the network.

How the passage is read, once per distinct passage:

- `normalise_text` first, then heading, list and quote markers at the start of a line and `**`,
  `__` and backtick emphasis are removed, as a reader of the rendered notes would see them.
- Paragraphs are runs of lines between blank lines, headings and list items (hard-wrapped lines
  are joined). A paragraph splits into sentences after `.`, `!` or `?` followed by white space
  and a capital letter, digit or opening quote, except after an abbreviation (e.g., Fig., Dr.)
  or a single initial.
- Words are compared case-insensitively with a plural "s" dropped. A back's *content words* are
  its words of three or more letters that are not function words, and every number in it.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from typing import Any, Final

from evals.scorers import Score, Scorer
from tools.payloads.flashcards import front_key, validate_flashcards
from tools.text import normalise_text

_FUNCTION_WORD_LIST: Final = """
    about above after again against all also and any are because been before being below between
    both but can could did does doing done down during each either else every few for
    from further had has have having her hers him his how however into its itself just least
    less like many more most much must neither nor not now off once only other our out over own
    per same she should since some such than that the their them then there these they this
    those though through thus too under until upon very via was were what when where whether
    which while who whom whose why will with within without would yet you your"""
_FUNCTION_WORDS: Final = frozenset(_FUNCTION_WORD_LIST.split())
_WORD: Final = re.compile(r"\d+(?:[.,]\d+)+|[^\W_]+")
_MARKER: Final = re.compile(r"^(?:#{1,6}\s+|[-*+•]\s+|\d{1,3}[.)]\s+|>\s?)")
_BREAKS_PARAGRAPH: Final = re.compile(r"^(?:#{1,6}\s|[-*+•]\s|\d{1,3}[.)]\s|>)")
_INLINE: Final = re.compile(r"\*\*|__|`")
_SENTENCE_END: Final = re.compile(r"[.!?]+[\"'”’)\]]*\s+(?=[\"'“‘(\[]?[A-Z0-9])")
_ABBREVIATION_LIST: Final = (
    "e.g i.e etc vs approx ca cf al fig figs eq eqs no dr mr mrs ms prof st mt jr sr"
)
_ABBREVIATIONS: Final = frozenset(_ABBREVIATION_LIST.split())
_NO_CARDS: Final = "The payload has no cards to score."


def content_words(text: str) -> frozenset[str]:
    """Numbers and words of three or more letters that are not function words, plural folded."""
    words = _WORD.findall(normalise_text(text).casefold())
    kept = (w for w in words if w[0].isdigit() or (len(w) >= 3 and w not in _FUNCTION_WORDS))
    return frozenset(
        w[:-1] if len(w) > 3 and w.endswith("s") and not w.endswith("ss") else w for w in kept
    )


def _split(paragraph: str) -> list[str]:
    sentences: list[str] = []
    start = 0
    for match in _SENTENCE_END.finditer(paragraph):
        before = paragraph[start : match.start()].rsplit(None, 1)
        last = before[-1] if before else ""
        if last.casefold().rstrip(".") in _ABBREVIATIONS or (len(last) == 1 and last.isupper()):
            continue
        sentences.append(paragraph[start : match.end()].strip())
        start = match.end()
    sentences.append(paragraph[start:].strip())
    return [s for s in sentences if s]


@functools.lru_cache(maxsize=256)
def passage_sentences(passage: str) -> tuple[frozenset[str], ...]:
    """The content words of every sentence of `passage`."""
    paragraphs: list[list[str]] = [[]]
    for raw in normalise_text(passage).splitlines():
        line = _INLINE.sub("", _MARKER.sub("", raw)).strip()
        heading = raw.startswith("#")
        if not line or heading or _BREAKS_PARAGRAPH.match(raw):
            paragraphs.append([])
        if line:
            paragraphs[-1].append(line)
        if heading:
            paragraphs.append([])
    return tuple(
        content_words(sentence)
        for lines in paragraphs
        if lines
        for sentence in _split(" ".join(lines))
    )


def _cards(payload: Any) -> list[Any]:
    cards = payload.get("cards") if isinstance(payload, Mapping) else None
    return cards if isinstance(cards, list) else []


def _text(card: Any, field: str) -> str | None:
    value = card.get(field) if isinstance(card, Mapping) else None
    return value if isinstance(value, str) and value.strip() else None


def _clip(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def _fraction(passed: int, total: int, reasons: list[str]) -> Score:
    return Score(passed / total, reasons) if total else Score(0.0, [_NO_CARDS])


# --- scorers ------------------------------------------------------------------------------------


def contract_valid(case: Mapping[str, Any], payload: Any) -> Score:
    """1.0 when the payload passes the flashcards contract (`validate_flashcards`), else 0.

    Failing means the app could not show the deck: a wrong shape, an empty front or back, a back
    of fewer than three words, two cards with the same front, or more cards than requested.
    """
    errors = validate_flashcards(payload, card_count=int(case["card_count"]))
    return Score(0.0 if errors else 1.0, errors)


def backs_supported(case: Mapping[str, Any], payload: Any) -> Score:
    """Fraction of cards whose back is supported by one sentence of the passage.

    A back is supported when every content word of it (numbers included) occurs in a single
    passage sentence. Failing means the card teaches something the class material does not say,
    or stitches words from different places into a claim the material never makes.
    """
    sentences = passage_sentences(str(case.get("passage") or ""))
    cards = _cards(payload)
    reasons: list[str] = []
    passed = 0
    for number, card in enumerate(cards, start=1):
        back = _text(card, "back")
        needed = content_words(back) if back else frozenset()
        if needed and any(needed <= sentence for sentence in sentences):
            passed += 1
        elif back is None or not needed:
            reasons.append(f"Card {number}: the back has no content words to look up.")
        else:
            best = max(sentences, key=lambda s: len(needed & s), default=frozenset())
            missing = ", ".join(sorted(needed - best)[:5])
            reasons.append(
                f"Card {number}: no passage sentence supports {_clip(back)!r} ({missing})."
            )
    return _fraction(passed, len(cards), reasons)


def fronts_unique(case: Mapping[str, Any], payload: Any) -> Score:
    """1.0 when every card has a front and no two fronts are the same, else 0.

    Fronts are compared with case, spaces and punctuation ignored (`front_key`). Failing means
    the deck asks the same question twice and wastes a card, or has a card with nothing to ask.
    """
    cards = _cards(payload)
    if not cards:
        return Score(0.0, [_NO_CARDS])
    seen: dict[str, int] = {}
    reasons: list[str] = []
    for number, card in enumerate(cards, start=1):
        front = _text(card, "front")
        if front is None:
            reasons.append(f"Card {number} has no front.")
            continue
        key = front_key(front)
        if key in seen:
            reasons.append(f"Card {number} repeats the front of card {seen[key]}.")
        else:
            seen[key] = number
    return Score(0.0 if reasons else 1.0, reasons)


def count_ok(case: Mapping[str, Any], payload: Any) -> Score:
    """1.0 when the deck has between 1 and `card_count` cards, else 0."""
    limit = int(case["card_count"])
    count = len(_cards(payload))
    if 1 <= count <= limit:
        return Score(1.0, [])
    return Score(0.0, [f"The deck has {count} cards; between 1 and {limit} were expected."])


def front_answer_not_trivial(case: Mapping[str, Any], payload: Any) -> Score:
    """Fraction of cards whose front does not already contain the whole back.

    A front gives the back away when the back's letters and digits occur in it as one run, or when
    every content word of the back appears in the front. Failing means there is nothing to
    recall: the student reads the answer off the question.
    """
    cards = _cards(payload)
    reasons: list[str] = []
    passed = 0
    for number, card in enumerate(cards, start=1):
        front, back = _text(card, "front"), _text(card, "back")
        if front is None or back is None:
            reasons.append(f"Card {number} lacks a front or a back.")
        elif front_key(back) in front_key(front) or content_words(back) <= content_words(front):
            reasons.append(f"Card {number}: the front {_clip(front)!r} already holds the back.")
        else:
            passed += 1
    return _fraction(passed, len(cards), reasons)


FLASHCARDS_SCORERS: Final[Mapping[str, Scorer]] = {
    "contract_valid": contract_valid,
    "backs_supported": backs_supported,
    "fronts_unique": fronts_unique,
    "count_ok": count_ok,
    "front_answer_not_trivial": front_answer_not_trivial,
}
"""The flashcards suite's scorers, in the order the scorecard lists them."""

"""The flashcards payload: `{cards: [{front, back}]}`.

Rules: `cards` is a non-empty list of at most `card_count` objects; `front` and `back` are
non-empty text; `back` has at least three words; no two fronts are the same once case,
spacing and punctuation are ignored (`front_key`); no text carries an instruction planted in
the material (`tools.payloads.injection`).
"""

from __future__ import annotations

from typing import Any

from tools.payloads.injection import Injected, injection_errors

MIN_BACK_WORDS = 3
_SHOWN_FRONT = 60


def front_key(front: str) -> str:
    """The comparison key of a front: lower-cased, letters and digits only."""
    return "".join(ch for ch in front.casefold() if ch.isalnum())


def back_word_count(back: str) -> int:
    """Whitespace-separated words of `back` that hold at least one letter or digit."""
    return sum(1 for token in back.split() if any(ch.isalnum() for ch in token))


def _where(index: int, front: Any) -> str:
    if isinstance(front, str) and front.strip():
        text = " ".join(front.split())
        if len(text) > _SHOWN_FRONT:
            text = text[: _SHOWN_FRONT - 1] + "\u2026"
        return f'Card {index} ("{text}")'
    return f"Card {index}"


def validate_flashcards(payload: Any, *, card_count: int, material: str = "") -> list[str]:
    """Return every contract violation in `payload`; an empty list means the deck is valid.

    `material` is what the deck was written from: no card may carry an instruction planted in
    it (without it, only text that reads as an injection by itself is refused).
    """
    if not isinstance(payload, dict):
        return ["The flashcards must be a JSON object with a `cards` list."]
    cards = payload.get("cards")
    if not isinstance(cards, list) or not cards:
        return ["`cards` must be a non-empty list."]
    errors: list[str] = []
    if len(cards) > card_count:
        errors.append(f"There are {len(cards)} cards; at most {card_count} are allowed.")
    seen: dict[str, int] = {}
    for index, item in enumerate(cards, start=1):
        if not isinstance(item, dict):
            errors.append(f"Card {index} must be an object with `front` and `back`.")
            continue
        front, back = item.get("front"), item.get("back")
        where = _where(index, front)
        if not isinstance(front, str) or not front.strip():
            errors.append(f"{where}: `front` must be non-empty text.")
        else:
            key = front_key(front)
            if key in seen:
                errors.append(f"{where} has the same front as card {seen[key]}.")
            else:
                seen[key] = index
        if not isinstance(back, str) or not back.strip():
            errors.append(f"{where}: `back` must be non-empty text.")
        elif back_word_count(back) < MIN_BACK_WORDS:
            errors.append(f"{where}: `back` must have at least {MIN_BACK_WORDS} words.")
        # Named by number only: the front itself may be the planted text.
        errors += injection_errors(item, Injected.of(material), where=f"Card {index}")
    return errors

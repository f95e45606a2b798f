"""The flashcards graph's nodes: the shared study-set nodes with the deck's prompts and rules."""

from __future__ import annotations

from typing import Any

from graphs.flashcards.state import FlashcardsState
from graphs.shared import budgets
from graphs.shared.study_set import StudySet
from prompts import flashcards as prompts
from tools.offline.flashcards import offline_flashcards
from tools.payloads.flashcards import front_key, validate_flashcards


def _tidy_text(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    lines = (" ".join(line.split()) for line in value.strip().splitlines())
    return "\n".join(line for line in lines if line)


def _tidy(candidate: dict[str, Any]) -> dict[str, Any]:
    """Keep `front` and `back` only, without stray spaces; validation judges what is left."""
    cards = candidate.get("cards")
    if not isinstance(cards, list):
        return candidate
    return {
        "cards": [
            {key: _tidy_text(item.get(key)) for key in ("front", "back") if key in item}
            if isinstance(item, dict)
            else item
            for item in cards
        ]
    }


def _front_key(item: dict[str, Any]) -> str:
    return front_key(item["front"])


FLASHCARDS = StudySet[FlashcardsState](
    what="flashcards",
    purpose="flashcards",
    items_key="cards",
    count_field="card_count",
    prompts=prompts,
    validator=validate_flashcards,
    offline=offline_flashcards,
    tidy=_tidy,
    item_key=_front_key,
    budget=budgets.FLASHCARDS,
    default_count=10,
    # The deck's prompt puts the material between <material> tags.
    material_tag="material",
)

"""What flows through the flashcards graph."""

from __future__ import annotations

from typing import NotRequired

from typing_extensions import TypedDict

from graphs.shared.state import GenerationOutput, GenerationState


class FlashcardsInput(TypedDict):
    class_title: str
    card_count: int
    instructions: str
    blueprint_context: str
    material_context: str
    class_id: NotRequired[str | None]


class FlashcardsOutput(GenerationOutput):
    """`payload` is `{"cards": [...]}`."""


class FlashcardsState(FlashcardsInput, GenerationState, total=False):
    pass

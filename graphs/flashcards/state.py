"""What flows through the flashcards graph."""

from __future__ import annotations

from typing import Any, NotRequired

from typing_extensions import TypedDict


class FlashcardsInput(TypedDict):
    class_title: str
    card_count: int
    instructions: str
    blueprint_context: str
    material_context: str
    class_id: NotRequired[str | None]


class FlashcardsOutput(TypedDict):
    payload: dict[str, Any]
    provider: str
    model: str
    usage: dict[str, int] | None
    latency_ms: int


class FlashcardsState(FlashcardsInput, total=False):
    context: str
    reply_text: str
    candidate: dict[str, Any] | None
    errors: list[str]
    attempts: int
    payload: dict[str, Any]
    provider: str
    model: str
    usage: dict[str, int] | None
    latency_ms: int

"""What flows through the canvas graph."""

from __future__ import annotations

from typing import Any, NotRequired

from typing_extensions import TypedDict


class CanvasHint(TypedDict):
    type: str
    concept: str
    title: str


class CanvasInput(TypedDict):
    canvas_hint: CanvasHint
    student_question: str
    ai_answer: str
    class_id: NotRequired[str | None]


class CanvasOutput(TypedDict):
    spec: dict[str, Any]
    provider: str
    model: str
    usage: dict[str, int] | None
    latency_ms: int


class CanvasState(CanvasInput, total=False):
    reply_text: str
    candidate: dict[str, Any] | None
    errors: list[str]
    attempts: int
    spec: dict[str, Any]
    provider: str
    model: str
    usage: dict[str, int] | None
    latency_ms: int

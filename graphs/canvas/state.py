"""What flows through the canvas graph."""

from __future__ import annotations

from typing import Any, NotRequired

from typing_extensions import TypedDict

from graphs.shared.state import GenerationState


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
    attempts: list[dict[str, str]]


class CanvasState(CanvasInput, GenerationState, total=False):
    # The accepted `payload`, published under the route's name.
    spec: dict[str, Any]

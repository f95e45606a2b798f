"""What flows through the quiz graph."""

from __future__ import annotations

from typing import NotRequired

from typing_extensions import TypedDict

from graphs.shared.state import GenerationOutput, GenerationState


class QuizInput(TypedDict):
    class_title: str
    question_count: int
    instructions: str
    blueprint_context: str
    material_context: str
    class_id: NotRequired[str | None]


class QuizOutput(GenerationOutput):
    """`payload` is `{"questions": [...]}`."""


class QuizState(QuizInput, GenerationState, total=False):
    pass

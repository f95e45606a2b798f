"""What flows through the quiz graph."""

from __future__ import annotations

from typing import NotRequired

from typing_extensions import TypedDict

from graphs.shared.state import GenerationOutput, GenerationState


class QuizInput(TypedDict):
    # The server sends every field; a run given only `class_id` (Studio, a script) uses the
    # class's title, 5 items and its stored material.
    class_title: NotRequired[str]
    question_count: NotRequired[int]
    instructions: NotRequired[str]
    blueprint_context: NotRequired[str]
    material_context: NotRequired[str]
    class_id: NotRequired[str | None]


class QuizOutput(GenerationOutput):
    """`payload` is `{"questions": [...]}`."""


class QuizState(QuizInput, GenerationState, total=False):
    pass

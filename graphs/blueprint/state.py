"""What flows through the blueprint graph."""

from __future__ import annotations

from typing import Any, NotRequired

from typing_extensions import TypedDict

from graphs.shared.state import GenerationOutput, GenerationState


class BlueprintInput(TypedDict):
    # The server sends these three; a run given only `class_id` plans from the class's chunks.
    class_title: NotRequired[str]
    material_count: NotRequired[int]
    material_text: NotRequired[str]
    subject: NotRequired[str | None]
    level: NotRequired[str | None]
    class_id: NotRequired[str | None]
    require_approval: NotRequired[bool]
    """Pause for a teacher's decision (an interrupt) and publish the blueprint if approved."""


class BlueprintOutput(GenerationOutput):
    published: bool
    blueprint_id: str | None


class ReviewRequest(TypedDict):
    """The interrupt's value: the validated draft and the class it would be published to.

    Resume with `Command(resume={"approved": bool, "payload": {...} | None})`.
    """

    draft: dict[str, Any]
    class_id: str | None


class BlueprintState(BlueprintInput, GenerationState, total=False):
    material: str
    source_labels: list[str]
    published: bool
    blueprint_id: str | None

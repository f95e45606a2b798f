"""What flows through the blueprint graph."""

from __future__ import annotations

from typing import Any, NotRequired

from typing_extensions import TypedDict


class BlueprintInput(TypedDict):
    class_title: str
    material_count: int
    material_text: str
    subject: NotRequired[str | None]
    level: NotRequired[str | None]
    class_id: NotRequired[str | None]
    require_approval: NotRequired[bool]
    """Pause for a teacher's decision (an interrupt) and publish the blueprint if approved."""


class BlueprintOutput(TypedDict):
    payload: dict[str, Any]
    provider: str
    model: str
    usage: dict[str, int] | None
    latency_ms: int
    published: bool
    blueprint_id: str | None


class ReviewRequest(TypedDict):
    """The interrupt's value: the validated draft and the class it would be published to."""

    draft: dict[str, Any]
    class_id: str | None


class ReviewDecision(TypedDict, total=False):
    """The resume value: `Command(resume={"approved": True, "payload": {...}})`."""

    approved: bool
    payload: dict[str, Any] | None


class BlueprintState(BlueprintInput, total=False):
    material: str
    source_labels: list[str]
    reply_text: str
    candidate: dict[str, Any] | None
    errors: list[str]
    attempts: int
    payload: dict[str, Any]
    provider: str
    model: str
    usage: dict[str, int] | None
    latency_ms: int
    published: bool
    blueprint_id: str | None

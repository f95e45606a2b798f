"""What flows through the teaching brief graph."""

from __future__ import annotations

from typing import Any, Literal

from typing_extensions import TypedDict

from graphs.shared.state import GenerationState

BriefStatus = Literal["ready", "no_data"]


class BriefInput(TypedDict):
    class_id: str


class BriefOutput(TypedDict):
    status: BriefStatus
    payload: dict[str, Any] | None
    has_evidence: bool
    # None when no model was asked (a class without evidence).
    provider: str | None
    model: str | None
    usage: dict[str, int] | None
    latency_ms: int
    attempts: list[dict[str, str]]


class BriefState(BriefInput, GenerationState, total=False):
    insights: dict[str, Any]
    blueprint: dict[str, Any] | None
    status: BriefStatus
    has_evidence: bool

"""What flows through the teaching brief graph."""

from __future__ import annotations

from typing import Any, Literal

from typing_extensions import TypedDict

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


class BriefState(BriefInput, total=False):
    insights: dict[str, Any]
    blueprint: dict[str, Any] | None
    reply_text: str
    candidate: dict[str, Any] | None
    errors: list[str]
    attempts: int
    status: BriefStatus
    payload: dict[str, Any] | None
    has_evidence: bool
    provider: str | None
    model: str | None
    usage: dict[str, int] | None
    latency_ms: int

"""What flows through the insights graph."""

from __future__ import annotations

from typing import Any, NotRequired

from typing_extensions import TypedDict


class InsightsInput(TypedDict):
    class_id: str
    force_refresh: NotRequired[bool]


class InsightsOutput(TypedDict):
    payload: dict[str, Any]
    provider: str
    model: str
    # Calls that did not write the narrative (`Attempt.as_wire()`); empty when the first did.
    attempts: list[dict[str, str]]


class InsightsState(InsightsInput, total=False):
    payload: dict[str, Any]
    reply_text: str
    candidate: dict[str, Any] | None
    errors: list[str]
    tries: int
    finish_reason: str | None
    attempts: list[dict[str, str]]
    provider: str
    model: str
    usage: dict[str, int] | None
    latency_ms: int

"""What flows through the direct model call."""

from __future__ import annotations

from typing_extensions import TypedDict


class LlmInput(TypedDict):
    system: str
    user: str


class LlmOutput(TypedDict):
    """The contract's `{provider, model, content, usage, latency_ms}`."""

    content: str
    provider: str
    model: str
    usage: dict[str, int] | None
    latency_ms: int
    attempts: list[dict[str, str]]


class LlmState(LlmInput, LlmOutput, total=False):
    pass

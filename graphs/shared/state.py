"""State every structured-generation graph shares: the generate → validate → repair bookkeeping."""

from __future__ import annotations

from typing import Any

from typing_extensions import TypedDict


class GenerationState(TypedDict, total=False):
    """The fields `json_attempt` and `next_step` read and write; each graph's state extends it."""

    # The material the prompt is built from (quiz, flashcards).
    context: str
    # The last reply as text (sent back in a repair turn) and the JSON object parsed from it.
    reply_text: str
    candidate: dict[str, Any] | None
    # What the last candidate broke; empty once a payload is accepted.
    errors: list[str]
    # Model calls made so far (the first plus repairs).
    tries: int
    # Why the last reply ended ("stop", "length" = cut at the token cap), when the provider said.
    finish_reason: str | None
    # Calls that did not serve the payload, as `Attempt.as_wire()`: failed providers and
    # replies that stayed invalid after the repairs. Empty when the first provider answered.
    attempts: list[dict[str, str]]
    # The accepted result. None when a run ends without one (a brief without evidence, an
    # unanswerable data question).
    payload: dict[str, Any] | None
    # Who wrote the payload; None when no model was asked.
    provider: str | None
    model: str | None
    # Summed over every attempt of the run.
    usage: dict[str, int] | None
    latency_ms: int


class GenerationOutput(TypedDict):
    """The contract's `{payload, provider, model, usage, latency_ms, attempts}`."""

    payload: dict[str, Any]
    provider: str
    model: str
    usage: dict[str, int] | None
    latency_ms: int
    attempts: list[dict[str, str]]


def first_attempt() -> dict[str, Any]:
    """The bookkeeping a run starts from, so a reused thread never inherits a previous run's."""
    return {
        "tries": 0,
        "errors": [],
        "attempts": [],
        "finish_reason": None,
        "usage": None,
        "latency_ms": 0,
    }


def accepted_payload(state: GenerationState) -> dict[str, Any]:
    """The payload validation accepted, for nodes that run only after it did."""
    payload = state.get("payload")
    if payload is None:
        raise RuntimeError("This node ran before a payload was accepted.")
    return payload

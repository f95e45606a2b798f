"""The canvas graph's nodes."""

from __future__ import annotations

import json
from typing import Any, Literal

from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage
from langgraph.runtime import Runtime
from langgraph.types import Command

from graphs.canvas.state import CanvasState
from graphs.shared.context import GenerationContext
from graphs.shared.errors import GenerationError
from graphs.shared.progress import report
from graphs.shared.structured import MAX_REPAIRS, json_attempt, repair_turn
from prompts import canvas as prompts
from tools.models.offline import OFFLINE_MODEL, OFFLINE_PROVIDER
from tools.offline.canvas import offline_canvas
from tools.payloads.canvas import CANVAS_TYPES, normalise_canvas_spec, validate_canvas_spec
from tools.text import strip_invisible

# The request limits; the route enforces them, the graph keeps to them when run on its own.
LIMITS = {"type": 20, "concept": 200, "title": 200, "student_question": 500, "ai_answer": 2000}


def _clean(text: Any, limit: int) -> str:
    return strip_invisible(text if isinstance(text, str) else "").strip()[:limit]


def _hint(state: CanvasState) -> dict[str, str]:
    raw: Any = state.get("canvas_hint") or {}
    hint = raw if isinstance(raw, dict) else {}
    return {key: _clean(hint.get(key), LIMITS[key]) for key in ("type", "concept", "title")}


def _offline_spec(state: CanvasState) -> dict[str, Any]:
    """The deterministic spec: the offline engine's reply and the floor when repairs fail."""
    return offline_canvas(
        _hint(state),
        student_question=_clean(state.get("student_question"), LIMITS["student_question"]),
        ai_answer=_clean(state.get("ai_answer"), LIMITS["ai_answer"]),
    )


def _messages(state: CanvasState, hint: dict[str, str]) -> list[BaseMessage]:
    kind = hint["type"]
    data = {
        "canvas_hint": hint,
        "student_question": _clean(state.get("student_question"), LIMITS["student_question"]),
        "ai_answer": _clean(state.get("ai_answer"), LIMITS["ai_answer"]),
    }
    messages: list[BaseMessage] = [
        SystemMessage(prompts.SYSTEM.format(canvas_type=kind, type_rules=prompts.TYPE_RULES[kind])),
        HumanMessage(
            prompts.USER.format(
                canvas_type=kind, data=json.dumps(data, ensure_ascii=False, indent=2)
            )
        ),
    ]
    return [*messages, *repair_turn(state, prompts.REPAIR, canvas_type=kind)]


async def generate(state: CanvasState, runtime: Runtime[GenerationContext]) -> dict[str, Any]:
    """Ask the model (or the offline engine) for a spec; repairs re-ask with the errors."""
    hint = _hint(state)
    if hint["type"] not in CANVAS_TYPES:
        raise GenerationError(f"The canvas type must be one of {', '.join(CANVAS_TYPES)}.")
    context = runtime.context or GenerationContext()
    attempt = state.get("attempts", 0) + 1
    report("generate", attempt=attempt, canvas=hint["type"])

    def offline(_: Any) -> str:
        return json.dumps(_offline_spec(state), ensure_ascii=False)

    return await json_attempt(state, context, _messages(state, hint), offline)


def _unwrap(candidate: dict[str, Any]) -> dict[str, Any]:
    """`{"spec": {...}}` is the spec itself, wrapped the way the route's answer is."""
    inner = candidate.get("spec")
    return inner if set(candidate) == {"spec"} and isinstance(inner, dict) else candidate


async def validate(state: CanvasState) -> Command[Literal["generate", "finalize"]]:
    """Check the contract; send errors back at most `MAX_REPAIRS` times, then fall back."""
    kind = _hint(state)["type"]
    candidate = state.get("candidate")
    spec: dict[str, Any] | None = None
    if candidate is None:
        errors = [f'The reply was not a JSON object of the form {{"type": "{kind}", ...}}.']
    else:
        spec = normalise_canvas_spec(_unwrap(candidate))
        errors = validate_canvas_spec(spec, expected_type=kind)
    report("validate", attempt=state.get("attempts", 0), errors=len(errors))
    if not errors and spec is not None:
        return Command(goto="finalize", update={"spec": spec, "errors": []})
    # The offline engine is deterministic: asking it again would return the same spec.
    if state.get("provider") != OFFLINE_PROVIDER and state.get("attempts", 0) <= MAX_REPAIRS:
        return Command(goto="generate", update={"errors": errors})
    # A canvas must always render: the offline spec is the floor.
    fallback = _offline_spec(state)
    if validate_canvas_spec(fallback, expected_type=kind):
        raise GenerationError(f"The {kind} canvas could not be drawn: {errors[0]}")
    report("fallback", reason=errors[0])
    update = {"spec": fallback, "errors": errors, "provider": OFFLINE_PROVIDER}
    return Command(goto="finalize", update={**update, "model": OFFLINE_MODEL})


async def finalize(state: CanvasState) -> dict[str, Any]:
    """Publish the validated spec with the provider that wrote it."""
    report("done", canvas=state["spec"]["type"], provider=state["provider"])
    return {
        "spec": state["spec"],
        "provider": state["provider"],
        "model": state["model"],
        "usage": state.get("usage"),
        "latency_ms": state.get("latency_ms", 0),
    }

"""The canvas graph's nodes."""

from __future__ import annotations

import json
from typing import Any, Literal

from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage
from langgraph.runtime import Runtime
from langgraph.types import Command

from graphs.canvas.state import CanvasState
from graphs.shared import budgets
from graphs.shared.context import GenerationOptions, context_of
from graphs.shared.errors import GenerationError
from graphs.shared.progress import report
from graphs.shared.structured import final_output, json_attempt, next_step, repair_turn
from prompts import canvas as prompts
from tools.offline.canvas import offline_canvas
from tools.payloads.canvas import CANVAS_TYPES, normalise_canvas_spec, validate_canvas_spec
from tools.text import strip_invisible
from tools.text.injection import fence

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


def _inputs(state: CanvasState) -> str:
    """The texts a spec is drawn from, one a line: what an instruction could be planted in."""
    hint = _hint(state)
    texts = (hint["concept"], hint["title"], state.get("student_question"), state.get("ai_answer"))
    return "\n".join(_clean(t, 2000) for t in texts)


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
                canvas_type=kind, data=fence(json.dumps(data, ensure_ascii=False, indent=2), "data")
            )
        ),
    ]
    return [*messages, *repair_turn(state, prompts.REPAIR, canvas_type=kind)]


async def generate(state: CanvasState, runtime: Runtime[GenerationOptions]) -> dict[str, Any]:
    """Ask the model (or the offline engine) for a spec; repairs re-ask with the errors."""
    hint = _hint(state)
    if hint["type"] not in CANVAS_TYPES:
        raise GenerationError(f"The canvas type must be one of {', '.join(CANVAS_TYPES)}.")
    report("generate", attempt=state.get("tries", 0) + 1, canvas=hint["type"])

    def offline(_: Any) -> str:
        return json.dumps(_offline_spec(state), ensure_ascii=False)

    options = budgets.CANVAS.options()
    return await json_attempt(state, context_of(runtime), _messages(state, hint), offline, options)


def _unwrap(candidate: dict[str, Any]) -> dict[str, Any]:
    """`{"spec": {...}}` is the spec itself, wrapped the way the route's answer is."""
    inner = candidate.get("spec")
    return inner if set(candidate) == {"spec"} and isinstance(inner, dict) else candidate


async def validate(state: CanvasState) -> Command[Literal["generate", "finalize"]]:
    """Check the contract; send errors back at most twice, then fall back to the offline spec."""
    kind = _hint(state)["type"]
    candidate = state.get("candidate")
    spec: dict[str, Any] | None = None
    if candidate is None:
        errors = [f'The reply was not a JSON object of the form {{"type": "{kind}", ...}}.']
    else:
        spec = normalise_canvas_spec(_unwrap(candidate))
        errors = validate_canvas_spec(spec, expected_type=kind, inputs=_inputs(state))

    def offline_floor() -> dict[str, Any] | None:
        # A canvas must always render: the offline spec is the floor, when it is valid itself.
        fallback = _offline_spec(state)
        inputs = _inputs(state)
        return (
            None if validate_canvas_spec(fallback, expected_type=kind, inputs=inputs) else fallback
        )

    return next_step(
        state,
        candidate=spec,
        errors=errors,
        done="finalize",
        repair="generate",
        fallback=offline_floor,
        failure=f"The {kind} canvas could not be drawn",
    )


async def finalize(state: CanvasState) -> dict[str, Any]:
    """Publish the validated spec (the route's `spec`) with the provider that wrote it."""
    output: dict[str, Any] = dict(final_output(state))
    spec = output.pop("payload")
    report("done", canvas=spec["type"], provider=output["provider"])
    return {"spec": spec, **output}

"""The teaching brief graph's nodes."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Literal

from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage
from langgraph.runtime import Runtime
from langgraph.types import Command

from graphs.shared import budgets
from graphs.shared.context import GenerationOptions, context_of
from graphs.shared.progress import report
from graphs.shared.state import first_attempt
from graphs.shared.structured import final_output, json_attempt, next_step, repair_turn
from graphs.teaching_brief.context import BriefContext
from graphs.teaching_brief.rules import salvage_brief, tidy_brief, validate_brief
from graphs.teaching_brief.state import BriefState
from prompts import teaching_brief as prompts
from tools.offline.teaching_brief import offline_brief
from tools.payloads.teaching_brief import brief_inputs, has_evidence, student_name, topics_of
from tools.text.injection import fence

_STUDENT_FIELDS = ("avg_score", "completion_rate", "chat_message_count", "risk_level")
_TOPIC_FIELDS = ("topic_id", "title", "bloom_levels", "avg_score", "attempt_count", "status")


async def load_insights(
    state: BriefState, runtime: Runtime[GenerationOptions]
) -> Command[Literal["draft", "no_data"]]:
    """Read the class's insights and blueprint; a class without evidence gets no brief."""
    context = context_of(runtime, BriefContext)
    insights = await context.insights(state["class_id"])
    evidence = has_evidence(insights)
    report("insights", students=len(insights.get("students") or []), evidence=evidence)
    update: dict[str, Any] = {"insights": insights, "has_evidence": evidence}
    if not evidence:
        return Command(goto="no_data", update=update)
    update["blueprint"] = await context.blueprint(state["class_id"])
    update.update(first_attempt())
    return Command(goto="draft", update=update)


async def no_data(state: BriefState) -> dict[str, Any]:
    """No submissions and no chat messages: nothing to brief on, and no model is asked."""
    report("done", status="no_data")
    return {
        "status": "no_data",
        "payload": None,
        "has_evidence": False,
        "provider": None,
        "model": None,
        "usage": None,
        "latency_ms": 0,
        "attempts": [],
    }


def _class_data(insights: Mapping[str, Any]) -> str:
    """The insights the model needs, compactly (no per-activity breakdowns)."""
    students = [
        {
            "student_id": s.get("student_id"),
            "display_name": student_name(s),
            **{k: s.get(k) for k in _STUDENT_FIELDS},
            "ai_mini_summary": s.get("ai_mini_summary"),
        }
        for s in insights.get("students") or []
        if isinstance(s, Mapping)
    ]
    data = {
        "class_summary": insights.get("class_summary"),
        "topics": [{k: t.get(k) for k in _TOPIC_FIELDS} for t in topics_of(insights)],
        "bloom_breakdown": insights.get("bloom_breakdown"),
        "students": students,
    }
    return json.dumps(data, ensure_ascii=False, indent=1)


def _flags(blueprint: Mapping[str, Any] | None, insights: Mapping[str, Any]) -> str:
    known = {str(t.get("topic_id")) for t in topics_of(insights)}
    flags = {
        topic["key"]: topic.get("misconceptionFlags") or []
        for topic in (blueprint or {}).get("topics") or []
        if isinstance(topic, Mapping) and topic.get("key") in known
    }
    return json.dumps(flags, ensure_ascii=False) if flags else "(none)"


def _messages(state: BriefState) -> list[BaseMessage]:
    insights = state["insights"]
    messages: list[BaseMessage] = [
        SystemMessage(prompts.SYSTEM),
        HumanMessage(
            prompts.USER.format(
                insights=fence(_class_data(insights), "data"),
                misconception_flags=fence(_flags(state.get("blueprint"), insights), "flags"),
            )
        ),
    ]
    return [*messages, *repair_turn(state, prompts.REPAIR)]


async def draft(state: BriefState, runtime: Runtime[GenerationOptions]) -> dict[str, Any]:
    """Ask the model (or the offline engine) for the brief; repairs re-ask with the errors."""
    report("draft", attempt=state.get("tries", 0) + 1)

    def offline(_: Any) -> str:
        brief = offline_brief(state["insights"], state.get("blueprint"))
        return json.dumps(brief, ensure_ascii=False)

    context = context_of(runtime, BriefContext)
    options = budgets.TEACHING_BRIEF.options()
    return await json_attempt(state, context, _messages(state), offline, options)


def _fallback(state: BriefState) -> dict[str, Any] | None:
    """The offline brief, when it keeps the brief's rules (else its valid parts)."""
    insights = state["insights"]
    brief = tidy_brief(offline_brief(insights, state.get("blueprint")))
    return brief if not validate_brief(brief, insights) else salvage_brief(brief, insights)


async def validate(state: BriefState) -> Command[Literal["draft", "finalize"]]:
    """Check caps, types and that every named student and topic exists; repair at most twice,
    then keep the valid parts, else fall back to the offline brief."""
    candidate = state.get("candidate")
    insights = state["insights"]
    inputs = brief_inputs(insights, state.get("blueprint"))
    if candidate is None:
        errors = ["The reply was not one JSON object with the brief's fields."]
    else:
        candidate = tidy_brief(candidate)
        errors = validate_brief(candidate, insights, inputs=inputs)
    return next_step(
        state,
        candidate=candidate,
        errors=errors,
        done="finalize",
        repair="draft",
        salvage=lambda: salvage_brief(candidate, insights, inputs=inputs),
        fallback=lambda: _fallback(state),
        failure=(
            "The teaching brief could not be generated from this material: the answer broke the "
            "teaching brief rules"
        ),
    )


async def finalize(state: BriefState) -> dict[str, Any]:
    """Publish the validated brief with the provider that wrote it."""
    report("done", status="ready")
    return {"status": "ready", **final_output(state), "has_evidence": True}

"""The quiz graph's nodes."""

from __future__ import annotations

import json
from typing import Any, Literal

from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage
from langgraph.runtime import Runtime
from langgraph.types import Command

from graphs.quiz.state import QuizState
from graphs.shared.context import GenerationContext
from graphs.shared.progress import report
from graphs.shared.structured import (
    final_output,
    gather_material,
    json_attempt,
    next_step,
    repair_turn,
)
from prompts import quiz as prompts
from tools.offline.quiz import offline_quiz
from tools.payloads.quiz import validate_quiz
from tools.text import fold, strip_invisible


async def gather_context(state: QuizState, runtime: Runtime[GenerationContext]) -> dict[str, Any]:
    """Use the request's material, or retrieve the class's when only `class_id` is set."""
    return await gather_material(state, runtime.context, purpose="quiz questions")


def _messages(state: QuizState) -> list[BaseMessage]:
    count = state["question_count"]
    messages: list[BaseMessage] = [
        SystemMessage(
            prompts.SYSTEM.format(class_title=state["class_title"], question_count=count)
        ),
        HumanMessage(
            prompts.USER.format(
                instructions=state.get("instructions") or "(none)",
                blueprint_context=strip_invisible(state.get("blueprint_context") or "") or "(none)",
                material_context=state["context"],
                question_count=count,
            )
        ),
    ]
    return [*messages, *repair_turn(state, prompts.REPAIR)]


async def generate(state: QuizState, runtime: Runtime[GenerationContext]) -> dict[str, Any]:
    """Ask the model (or the offline engine) for a quiz; repairs re-ask with the errors."""
    context = runtime.context or GenerationContext()
    attempt = state.get("attempts", 0) + 1
    report("generate", attempt=attempt)

    def offline(_: Any) -> str:
        quiz = offline_quiz(
            state["context"],
            question_count=state["question_count"],
            instructions=state.get("instructions") or "",
            blueprint=state.get("blueprint_context") or "",
        )
        return json.dumps(quiz, ensure_ascii=False)

    return await json_attempt(state, context, _messages(state), offline)


def _tidy(candidate: dict[str, Any]) -> dict[str, Any]:
    """Trim stray whitespace the model added; validation judges what is left."""
    questions = candidate.get("questions")
    if not isinstance(questions, list):
        return candidate
    tidy = []
    for item in questions:
        if isinstance(item, dict):
            item = {
                key: value.strip() if isinstance(value, str) else value
                for key, value in item.items()
            }
            if isinstance(item.get("choices"), list):
                item["choices"] = [c.strip() if isinstance(c, str) else c for c in item["choices"]]
        tidy.append(item)
    return {"questions": tidy}


def _salvage(candidate: dict[str, Any] | None, question_count: int) -> dict[str, Any] | None:
    """The valid questions of a quiz that could not be fully repaired, if there are any."""
    if not candidate or not isinstance(candidate.get("questions"), list):
        return None
    kept: list[dict[str, Any]] = []
    seen: set[str] = set()
    for item in candidate["questions"]:
        single = {"questions": [item]}
        if validate_quiz(single, question_count=1) or fold(item["question"]) in seen:
            continue
        seen.add(fold(item["question"]))
        kept.append(item)
    return {"questions": kept[:question_count]} if kept else None


async def validate(state: QuizState) -> Command[Literal["generate", "finalize"]]:
    """Check every contract rule; send errors back for repair, at most `MAX_REPAIRS` times."""
    candidate = state.get("candidate")
    count = state["question_count"]
    if candidate is None:
        errors = ['The reply was not a JSON object of the form {"questions": [...]}.']
    else:
        candidate = _tidy(candidate)
        errors = validate_quiz(candidate, question_count=count)
    report("validate", attempt=state.get("attempts", 0), errors=len(errors))
    return next_step(
        state,
        candidate=candidate,
        errors=errors,
        salvage=lambda: _salvage(candidate, count),
        what="quiz",
    )


async def finalize(state: QuizState) -> dict[str, Any]:
    """Publish the validated quiz with the provider that wrote it."""
    report("done", questions=len(state["payload"]["questions"]))
    return final_output(state)

"""The flashcards graph's nodes."""

from __future__ import annotations

import json
from typing import Any, Literal

from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage
from langgraph.runtime import Runtime
from langgraph.types import Command

from graphs.flashcards.state import FlashcardsState
from graphs.shared.context import GenerationContext
from graphs.shared.progress import report
from graphs.shared.structured import (
    final_output,
    gather_material,
    json_attempt,
    next_step,
    repair_turn,
)
from prompts import flashcards as prompts
from tools.offline.flashcards import offline_flashcards
from tools.payloads.flashcards import front_key, validate_flashcards
from tools.text import strip_invisible


async def gather_context(
    state: FlashcardsState, runtime: Runtime[GenerationContext]
) -> dict[str, Any]:
    """Use the request's material, or retrieve the class's when only `class_id` is set."""
    return await gather_material(state, runtime.context, purpose="flashcards")


def _messages(state: FlashcardsState) -> list[BaseMessage]:
    count = state["card_count"]
    # The material sits between <material> tags; it must not be able to close them itself.
    material = state["context"].replace("</material>", "</ material>")
    messages: list[BaseMessage] = [
        SystemMessage(prompts.SYSTEM.format(class_title=state["class_title"], card_count=count)),
        HumanMessage(
            prompts.USER.format(
                instructions=state.get("instructions") or "(none)",
                blueprint_context=strip_invisible(state.get("blueprint_context") or "") or "(none)",
                material_context=material,
                card_count=count,
            )
        ),
    ]
    return [*messages, *repair_turn(state, prompts.REPAIR)]


async def generate(state: FlashcardsState, runtime: Runtime[GenerationContext]) -> dict[str, Any]:
    """Ask the model (or the offline engine) for flashcards; repairs re-ask with the errors."""
    context = runtime.context or GenerationContext()
    attempt = state.get("attempts", 0) + 1
    report("generate", attempt=attempt)

    def offline(_: Any) -> str:
        cards = offline_flashcards(
            state["context"],
            card_count=state["card_count"],
            instructions=state.get("instructions") or "",
            blueprint=state.get("blueprint_context") or "",
        )
        return json.dumps(cards, ensure_ascii=False)

    return await json_attempt(state, context, _messages(state), offline)


def _tidy_text(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    lines = (" ".join(line.split()) for line in value.strip().splitlines())
    return "\n".join(line for line in lines if line)


def _tidy(candidate: dict[str, Any]) -> dict[str, Any]:
    """Keep `front` and `back` only, without stray spaces; validation judges what is left."""
    cards = candidate.get("cards")
    if not isinstance(cards, list):
        return candidate
    return {
        "cards": [
            {key: _tidy_text(item.get(key)) for key in ("front", "back") if key in item}
            if isinstance(item, dict)
            else item
            for item in cards
        ]
    }


def _salvage(candidate: dict[str, Any] | None, card_count: int) -> dict[str, Any] | None:
    """The valid cards of a set that could not be fully repaired, if there are any."""
    if not candidate or not isinstance(candidate.get("cards"), list):
        return None
    kept: list[dict[str, Any]] = []
    seen: set[str] = set()
    for item in candidate["cards"]:
        if validate_flashcards({"cards": [item]}, card_count=1):
            continue
        key = front_key(item["front"])
        if key not in seen:
            seen.add(key)
            kept.append(item)
    return {"cards": kept[:card_count]} if kept else None


async def validate(state: FlashcardsState) -> Command[Literal["generate", "finalize"]]:
    """Check every contract rule; send errors back for repair, at most `MAX_REPAIRS` times."""
    candidate = state.get("candidate")
    count = state["card_count"]
    if candidate is None:
        errors = ['The reply was not a JSON object of the form {"cards": [...]}.']
    else:
        candidate = _tidy(candidate)
        errors = validate_flashcards(candidate, card_count=count)
    report("validate", attempt=state.get("attempts", 0), errors=len(errors))
    return next_step(
        state,
        candidate=candidate,
        errors=errors,
        salvage=lambda: _salvage(candidate, count),
        what="flashcards",
    )


async def finalize(state: FlashcardsState) -> dict[str, Any]:
    """Publish the validated flashcards with the provider that wrote them."""
    report("done", cards=len(state["payload"]["cards"]))
    return final_output(state)

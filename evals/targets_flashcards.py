"""The flashcards suite's target: the real flashcards graph on the offline engine."""

from __future__ import annotations

from typing import Any

from graphs.flashcards import graph as flashcards_graph
from graphs.shared.context import GenerationContext
from tools.models.router import ModelRouter

# No providers: every call is answered by the offline engine, so scores are reproducible.
_OFFLINE = GenerationContext(router=ModelRouter([]), timeout_ms=60_000)


async def flashcards_target(case: dict[str, Any]) -> dict[str, Any]:
    """The flashcards payload the graph produces for one dataset case."""
    result = await flashcards_graph.ainvoke(
        {
            "class_title": case.get("title", "Eval class"),
            "card_count": case["card_count"],
            "instructions": case.get("instructions", ""),
            "blueprint_context": "",
            "material_context": case["passage"],
        },
        context=_OFFLINE,
    )
    payload: dict[str, Any] = result["payload"]
    return payload

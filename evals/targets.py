"""What each eval suite runs: the real graphs, on the offline engine (no network, no keys)."""

from __future__ import annotations

from typing import Any

from graphs.quiz import graph as quiz_graph
from graphs.shared.context import GenerationContext
from tools.models.router import ModelRouter

# No providers: every call is answered by the offline engine, so scores are reproducible.
_OFFLINE = GenerationContext(router=ModelRouter([]), timeout_ms=60_000)


async def quiz_target(case: dict[str, Any]) -> dict[str, Any]:
    """The quiz payload the quiz graph produces for one dataset case."""
    result = await quiz_graph.ainvoke(
        {
            "class_title": case.get("title", "Eval class"),
            "question_count": case["question_count"],
            "instructions": case.get("instructions", ""),
            "blueprint_context": "",
            "material_context": case["passage"],
        },
        context=_OFFLINE,
    )
    payload: dict[str, Any] = result["payload"]
    return payload

"""The blueprint suite's target: the real blueprint graph on the offline engine (no network)."""

from __future__ import annotations

from typing import Any

from evals.scorers.blueprint import case_material, case_material_count
from graphs.blueprint import graph as blueprint_graph
from graphs.shared.context import GenerationContext
from tools.models.router import ModelRouter

# No providers: every call is answered by the offline engine, so scores are reproducible.
_OFFLINE = GenerationContext(router=ModelRouter([]), timeout_ms=60_000)


async def blueprint_target(case: dict[str, Any]) -> dict[str, Any]:
    """The blueprint payload the graph produces for one dataset case (no approval step)."""
    result = await blueprint_graph.ainvoke(
        {
            "class_title": case.get("class_title", "Eval class"),
            "subject": case.get("subject"),
            "level": case.get("level"),
            "material_count": case_material_count(case),
            "material_text": case_material(case),
        },
        context=_OFFLINE,
    )
    payload: dict[str, Any] = result["payload"]
    return payload

"""`context_of`: the caller's run context, or one filled from the environment."""

from __future__ import annotations

from typing import Any

import pytest
from langgraph.runtime import Runtime

from graphs.quiz import graph as quiz_graph
from graphs.shared.context import GenerationContext, context_of
from graphs.teaching_brief import BriefContext
from tools.models.router import ModelRouter


def test_the_callers_context_is_used_as_given() -> None:
    given = GenerationContext(router=ModelRouter([]), timeout_ms=1_234)
    assert context_of(Runtime(context=given)) is given
    brief = BriefContext(router=ModelRouter([]), timeout_ms=1_234)
    assert context_of(Runtime(context=brief)) is brief
    assert context_of(Runtime(context=brief), BriefContext) is brief


def test_without_a_context_the_environment_fills_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AI_REQUEST_TIMEOUT_MS", "4321")
    filled = context_of(Runtime(context=None))
    assert type(filled) is GenerationContext
    assert filled.timeout_ms == 4_321 and filled.store is None
    # No provider key in the environment: the router goes straight to the offline engine.
    assert filled.model_router().providers == ()


def test_a_richer_context_class_is_filled_as_that_class(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AI_REQUEST_TIMEOUT_MS", "4321")
    filled = context_of(Runtime(context=None), BriefContext)
    assert type(filled) is BriefContext and filled.timeout_ms == 4_321
    # A plain context cannot load insights, so a brief run never takes it for its own.
    plain = GenerationContext(router=ModelRouter([]), timeout_ms=1_234)
    replaced = context_of(Runtime(context=plain), BriefContext)
    assert type(replaced) is BriefContext and replaced.timeout_ms == 4_321


async def test_a_graph_run_without_a_context_works_as_under_langgraph_dev() -> None:
    request: dict[str, Any] = {
        "class_title": "Physics",
        "question_count": 1,
        "instructions": "",
        "blueprint_context": "",
        "material_context": "The SI unit of force is the newton. Power is measured in watts.",
    }
    result = await quiz_graph.ainvoke(request)
    assert result["provider"] == "offline"
    assert len(result["payload"]["questions"]) == 1

"""`context_of`: the caller's run context, or one filled from the environment; the context
schema is data only."""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any

import pytest
from langgraph.runtime import Runtime
from pydantic import TypeAdapter

from graphs.quiz import graph as quiz_graph
from graphs.shared.context import GenerationContext, GenerationOptions, context_of
from graphs.shared.runtime_objects import RuntimeObjects
from graphs.teaching_brief import BriefContext
from tools.demo import DEMO_CLASS_ID
from tools.models.router import ModelRouter

GRAPHS = json.loads((Path(__file__).parents[3] / "langgraph.json").read_text())["graphs"]


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
    # A plain context given to a brief run becomes a BriefContext with its options and objects.
    router = ModelRouter([])
    plain = GenerationContext(router=router, timeout_ms=1_234)
    replaced = context_of(Runtime(context=plain), BriefContext)
    assert type(replaced) is BriefContext and replaced.timeout_ms == 1_234
    assert replaced.model_router() is router


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


def test_options_are_the_schema_and_hold_data_only() -> None:
    """What `get_schemas` and Studio's context form see: JSON types, no runtime objects."""
    schema = TypeAdapter(GenerationOptions).json_schema()
    assert set(schema["properties"]) == {"timeout_ms", "provider_order"}
    json.dumps(schema)
    for name in GRAPHS:
        graph = importlib.import_module(f"graphs.{name}.graph").graph
        context_schema = graph.get_context_jsonschema()
        assert context_schema is not None
        assert not {"store", "router", "deadline"} & set(context_schema["properties"]), name
        json.dumps([graph.get_input_jsonschema(), graph.get_output_jsonschema(), context_schema])


async def test_options_alone_get_the_environments_objects(
    environment: RuntimeObjects,
) -> None:
    """A run given options (Studio's form) or nothing: the environment's router and store."""
    resolved = context_of(Runtime(context=GenerationOptions(timeout_ms=2_500)))
    assert type(resolved) is GenerationContext and resolved.timeout_ms == 2_500
    assert resolved.model_router() is environment.router()
    store = await resolved.class_store()
    assert store is not None and store is await environment.store()
    # Dev mode: the demo class is there.
    assert await store.get_class(DEMO_CLASS_ID) is not None


async def test_a_class_only_quiz_runs_on_the_environments_demo_class(
    environment: RuntimeObjects,
) -> None:
    """What `make dev` runs when Studio sends only a class id."""
    result = await quiz_graph.ainvoke({"class_id": DEMO_CLASS_ID}, context={"timeout_ms": 5_000})
    assert result["provider"] == "offline"
    assert len(result["payload"]["questions"]) == 5

"""The graph registry: `langgraph.json`'s graphs plus the checkpointed variants, built once."""

from __future__ import annotations

import ast
import importlib
import inspect
import json
from pathlib import Path

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph.state import CompiledStateGraph

from server.app import create_app
from server.registry import CHECKPOINTED, EXPORTED, build_registry
from server.settings import Settings
from server.state import AppState

ROOT = Path(__file__).resolve().parents[2]
LANGGRAPH_JSON = json.loads((ROOT / "langgraph.json").read_text())["graphs"]


def test_the_exported_graphs_are_langgraph_json_s_under_the_same_names() -> None:
    assert set(EXPORTED) == set(LANGGRAPH_JSON)
    for name, target in LANGGRAPH_JSON.items():
        path, _, attribute = target.partition(":")
        module = importlib.import_module(
            path.removeprefix("./").removesuffix(".py").replace("/", ".")
        )
        assert EXPORTED[name] is getattr(module, attribute), name
        assert EXPORTED[name].checkpointer is None, name


def test_checkpointed_variants_share_the_exported_graph_and_run_on_the_saver() -> None:
    saver = InMemorySaver()
    registry = build_registry(saver)
    assert set(registry) == set(EXPORTED) | {"chat_session", "blueprint_review"}
    for name, base in CHECKPOINTED.items():
        assert registry[name].checkpointer is saver
        assert registry[name].builder is EXPORTED[base].builder
    for name in EXPORTED:
        assert registry[name] is EXPORTED[name]
        assert registry[name].checkpointer is None
    with pytest.raises(TypeError):
        registry["quiz"] = EXPORTED["chat"]  # type: ignore[index]


async def test_the_lifespan_builds_the_registry_on_its_checkpointer(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, python_backend_api_key="k", seed_demo=False)
    app = create_app(settings)
    async with app.router.lifespan_context(app) as lifespan_state:
        state = lifespan_state["app"]
        assert isinstance(state, AppState)
        assert set(state.graphs) == set(EXPORTED) | set(CHECKPOINTED)
        assert state.graphs["chat_session"].checkpointer is state.checkpointer
        assert state.graphs["blueprint_review"].checkpointer is state.checkpointer
        assert state.graphs["chat"].checkpointer is None


def _graph_imports(path: Path) -> list[tuple[str, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        (node.module, alias.name)
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("graphs")
        for alias in node.names
    ]


def test_only_the_registry_imports_graphs_the_server_runs() -> None:
    """Elsewhere in the server, imports from `graphs/` are classes (run contexts, errors),
    never a compiled graph, a builder or a function that runs one."""
    offenders = []
    for path in sorted((ROOT / "server").rglob("*.py")):
        if path.name == "registry.py":
            continue
        for module, name in _graph_imports(path):
            imported = getattr(importlib.import_module(module), name)
            if not inspect.isclass(imported) or issubclass(imported, CompiledStateGraph):
                offenders.append(f"{path.relative_to(ROOT)}: {module}.{name}")
    assert offenders == []

"""Every graph `langgraph.json` lists imports, compiles, and brings no checkpointer of its own."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
from langgraph.graph.state import CompiledStateGraph

ROOT = Path(__file__).resolve().parents[1]
CONFIG = json.loads((ROOT / "langgraph.json").read_text())


def test_config_lists_graphs_and_installs_the_project() -> None:
    assert CONFIG["dependencies"] == ["."]
    assert "quiz" in CONFIG["graphs"]


@pytest.mark.parametrize("name", sorted(CONFIG["graphs"]))
def test_graph_entry_imports_and_compiles(name: str) -> None:
    path, _, attribute = CONFIG["graphs"][name].partition(":")
    spec = importlib.util.spec_from_file_location(f"lg_entry_{name}", ROOT / path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    graph = getattr(module, attribute)
    assert isinstance(graph, CompiledStateGraph)
    assert graph.name == name
    assert graph.checkpointer is None
    assert graph.get_graph().nodes  # the drawable graph builds

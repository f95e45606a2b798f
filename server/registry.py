"""Every graph the server runs, in one mapping built once by the lifespan.

The names are `langgraph.json`'s, so a graph is called the same here, in `langgraph dev` and in
LangGraph Studio. Two graphs also come in a checkpointed variant: workspace chat keeps one thread
per session, and a blueprint draft waits for approval in its own thread. The other runs keep
nothing (there is nothing to resume, and per-run checkpoints would only grow).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Final, Literal, TypeAlias

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph.state import CompiledStateGraph

from graphs.blueprint import graph as blueprint
from graphs.canvas import graph as canvas
from graphs.chat import graph as chat
from graphs.data_query import graph as data_query
from graphs.flashcards import graph as flashcards
from graphs.insights import graph as insights
from graphs.llm import graph as llm
from graphs.materials import graph as materials
from graphs.quiz import graph as quiz
from graphs.teaching_brief import graph as teaching_brief

CompiledGraph: TypeAlias = CompiledStateGraph[Any, Any, Any, Any]
GraphName = Literal[
    "quiz",
    "chat",
    "canvas",
    "flashcards",
    "materials",
    "blueprint",
    "insights",
    "teaching_brief",
    "data_query",
    "llm",
    "chat_session",
    "blueprint_review",
]
GraphRegistry: TypeAlias = Mapping[GraphName, CompiledGraph]

# The graphs as exported (no checkpointer), under their `langgraph.json` names.
EXPORTED: Final[GraphRegistry] = MappingProxyType(
    {
        "quiz": quiz,
        "chat": chat,
        "canvas": canvas,
        "flashcards": flashcards,
        "materials": materials,
        "blueprint": blueprint,
        "insights": insights,
        "teaching_brief": teaching_brief,
        "data_query": data_query,
        "llm": llm,
    }
)

# Checkpointed variant → the exported graph it copies.
CHECKPOINTED: Final[Mapping[GraphName, GraphName]] = MappingProxyType(
    {"chat_session": "chat", "blueprint_review": "blueprint"}
)


def build_registry(checkpointer: BaseCheckpointSaver[Any]) -> GraphRegistry:
    """The exported graphs plus the checkpointed variants, which run with `checkpointer`."""
    graphs: dict[GraphName, CompiledGraph] = dict(EXPORTED)
    for name, base in CHECKPOINTED.items():
        graphs[name] = EXPORTED[base].copy(update={"checkpointer": checkpointer})
    return MappingProxyType(graphs)

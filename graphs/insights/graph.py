"""The insights graph: load_or_compute → (narrate → check → merge → save_snapshot) → finalize.

A snapshot younger than an hour (unless `force_refresh`) goes straight to finalize; otherwise the
numbers are computed from the database, a model (or the offline engine) writes only the
narrative (check repairs it at most twice, then uses the offline narrative), its invalid parts
are dropped, and the payload is stored as the new snapshot.

Exported without a checkpointer: the server runs it as is; `langgraph dev` adds its own.
"""

from __future__ import annotations

from langgraph.graph import END, START, StateGraph

from graphs.insights.nodes import (
    check,
    finalize,
    load_or_compute,
    merge,
    narrate,
    save_snapshot,
)
from graphs.insights.state import InsightsInput, InsightsOutput, InsightsState
from graphs.shared.context import GenerationOptions
from graphs.shared.retry import TRANSIENT_RETRY

builder = StateGraph(
    InsightsState,
    context_schema=GenerationOptions,
    input_schema=InsightsInput,
    output_schema=InsightsOutput,
)

# Both database steps are worth one more try after a transient failure.
builder.add_node(load_or_compute, retry_policy=TRANSIENT_RETRY)
builder.add_node(narrate)
builder.add_node(check)
builder.add_node(merge)
builder.add_node(save_snapshot, retry_policy=TRANSIENT_RETRY)
builder.add_node(finalize)
builder.add_edge(START, "load_or_compute")
builder.add_edge("narrate", "check")
builder.add_edge("merge", "save_snapshot")
builder.add_edge("save_snapshot", "finalize")
builder.add_edge("finalize", END)

graph = builder.compile(name="insights")

"""The data-query graph: gather_context → plan → validate → run → chart → finalize.

The model (or the offline planner) only picks a structured query. validate sends the errors back
to plan at most twice, then falls back to the offline planner's query; an unanswerable question
goes straight to chart, which draws the no-data point.

Exported without a checkpointer: the server runs it as is (a one-shot generation has nothing to
resume); `langgraph dev` adds its own.
"""

from __future__ import annotations

from langgraph.graph import END, START, StateGraph

from graphs.data_query.nodes import chart, finalize, gather_context, plan, run, validate
from graphs.data_query.state import DataQueryInput, DataQueryOutput, DataQueryState
from graphs.shared.context import GenerationOptions
from graphs.shared.retry import TRANSIENT_RETRY

builder = StateGraph(
    DataQueryState,
    context_schema=GenerationOptions,
    input_schema=DataQueryInput,
    output_schema=DataQueryOutput,
)
# Both database reads are worth one more try after a transient failure.
builder.add_node(gather_context, retry_policy=TRANSIENT_RETRY)
builder.add_node(plan)
builder.add_node(validate)
builder.add_node(run, retry_policy=TRANSIENT_RETRY)
builder.add_node(chart)
builder.add_node(finalize)
builder.add_edge(START, "gather_context")
builder.add_edge("gather_context", "plan")
builder.add_edge("plan", "validate")
builder.add_edge("run", "chart")
builder.add_edge("chart", "finalize")
builder.add_edge("finalize", END)

graph = builder.compile(name="data_query")

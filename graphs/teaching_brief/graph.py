"""The teaching brief graph: load_insights → no_data (a class without evidence), or
load_insights → draft → validate → finalize, where validate sends the errors back to draft at
most twice, then keeps the brief without its invalid items (or fails).

Exported without a checkpointer; the route runs it as is (the brief's status lives in its own
snapshot table).
"""

from __future__ import annotations

from langgraph.graph import END, START, StateGraph

from graphs.shared.context import GenerationOptions
from graphs.shared.retry import TRANSIENT_RETRY
from graphs.teaching_brief.nodes import draft, finalize, load_insights, no_data, validate
from graphs.teaching_brief.state import BriefInput, BriefOutput, BriefState

builder = StateGraph(
    BriefState,
    # Data only; the nodes read it as a `BriefContext` (`context_of(runtime, BriefContext)`).
    context_schema=GenerationOptions,
    input_schema=BriefInput,
    output_schema=BriefOutput,
)
# Insights are database reads; a transient failure there is worth one more try.
builder.add_node(load_insights, retry_policy=TRANSIENT_RETRY)
builder.add_node(no_data)
builder.add_node(draft)
builder.add_node(validate)
builder.add_node(finalize)
builder.add_edge(START, "load_insights")
builder.add_edge("draft", "validate")
builder.add_edge("no_data", END)
builder.add_edge("finalize", END)

graph = builder.compile(name="teaching_brief")

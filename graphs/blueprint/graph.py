"""The blueprint graph, compiled without a checkpointer (the server and `langgraph dev` add theirs).

With `require_approval` the `review` node interrupts, so that run needs a checkpointer.
"""

from __future__ import annotations

from langgraph.graph import END, START, StateGraph

from graphs.blueprint.nodes import finalize, generate, prepare, publish, review, validate
from graphs.blueprint.state import BlueprintInput, BlueprintOutput, BlueprintState
from graphs.shared.context import GenerationContext

builder = StateGraph(
    BlueprintState,
    context_schema=GenerationContext,
    input_schema=BlueprintInput,
    output_schema=BlueprintOutput,
)
builder.add_node(prepare)
builder.add_node(generate)
builder.add_node(validate)
builder.add_node(review)
builder.add_node(publish)
builder.add_node(finalize)
builder.add_edge(START, "prepare")
builder.add_edge("prepare", "generate")
builder.add_edge("generate", "validate")
builder.add_edge("publish", "finalize")
builder.add_edge("finalize", END)

graph = builder.compile(name="blueprint")

"""The canvas graph, compiled without a checkpointer (the server and `langgraph dev` add theirs)."""

from __future__ import annotations

from langgraph.graph import END, START, StateGraph

from graphs.canvas.nodes import finalize, generate, validate
from graphs.canvas.state import CanvasInput, CanvasOutput, CanvasState
from graphs.shared.context import GenerationContext

builder = StateGraph(
    CanvasState,
    context_schema=GenerationContext,
    input_schema=CanvasInput,
    output_schema=CanvasOutput,
)
builder.add_node(generate)
builder.add_node(validate)
builder.add_node(finalize)
builder.add_edge(START, "generate")
builder.add_edge("generate", "validate")
builder.add_edge("finalize", END)

graph = builder.compile(name="canvas")

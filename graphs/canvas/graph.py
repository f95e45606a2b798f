"""The canvas graph: generate → validate → finalize, where validate sends the errors back to
generate at most twice and then falls back to the offline spec, so a canvas always renders.

Exported without a checkpointer: the server runs it as is (a one-shot generation has nothing to
resume); `langgraph dev` adds its own.
"""

from __future__ import annotations

from langgraph.graph import END, START, StateGraph

from graphs.canvas.nodes import finalize, generate, validate
from graphs.canvas.state import CanvasInput, CanvasOutput, CanvasState
from graphs.shared.context import GenerationOptions

builder = StateGraph(
    CanvasState,
    context_schema=GenerationOptions,
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

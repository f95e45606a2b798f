"""The flashcards graph, compiled without a checkpointer (the server adds its own)."""

from __future__ import annotations

from langgraph.graph import END, START, StateGraph
from langgraph.types import RetryPolicy

from graphs.flashcards.nodes import finalize, gather_context, generate, validate
from graphs.flashcards.state import FlashcardsInput, FlashcardsOutput, FlashcardsState
from graphs.shared.context import GenerationContext

builder = StateGraph(
    FlashcardsState,
    context_schema=GenerationContext,
    input_schema=FlashcardsInput,
    output_schema=FlashcardsOutput,
)
# Retrieval touches the database; a transient failure there is worth one more try.
builder.add_node(gather_context, retry_policy=RetryPolicy(max_attempts=2, initial_interval=0.2))
builder.add_node(generate)
builder.add_node(validate)
builder.add_node(finalize)
builder.add_edge(START, "gather_context")
builder.add_edge("gather_context", "generate")
builder.add_edge("generate", "validate")
builder.add_edge("finalize", END)

graph = builder.compile(name="flashcards")

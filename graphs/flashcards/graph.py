"""The flashcards graph: gather_context → generate → validate → finalize.

gather_context takes the request's material, or retrieves the class's when only `class_id` is
set. validate sends a model's errors back to generate at most twice (the offline engine is never
re-asked), then keeps the valid cards, or fails when none is valid.

Exported without a checkpointer: the server runs it as is (a one-shot generation has nothing to
resume); `langgraph dev` adds its own.
"""

from __future__ import annotations

from langgraph.graph import END, START, StateGraph

from graphs.flashcards.nodes import FLASHCARDS
from graphs.flashcards.state import FlashcardsInput, FlashcardsOutput, FlashcardsState
from graphs.shared.context import GenerationOptions
from graphs.shared.retry import TRANSIENT_RETRY

builder = StateGraph(
    FlashcardsState,
    context_schema=GenerationOptions,
    input_schema=FlashcardsInput,
    output_schema=FlashcardsOutput,
)
# Retrieval touches the database: a transient failure there (never missing material) is
# worth one more try.
builder.add_node(FLASHCARDS.gather_context, retry_policy=TRANSIENT_RETRY)
builder.add_node(FLASHCARDS.generate)
builder.add_node(FLASHCARDS.validate)
builder.add_node(FLASHCARDS.finalize)
builder.add_edge(START, "gather_context")
builder.add_edge("gather_context", "generate")
builder.add_edge("generate", "validate")
builder.add_edge("finalize", END)

graph = builder.compile(name="flashcards")

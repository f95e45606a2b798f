"""The blueprint graph: prepare → generate → validate → review → (publish) → finalize.

validate sends the errors back to generate at most twice, then fails. With `require_approval`,
review interrupts until the teacher approves (→ publish), rejects or edits the draft.

Exported without a checkpointer: the server runs plain drafts as is and approval drafts on a
copy with its own checkpointer (the interrupt must be resumable); `langgraph dev` adds its own.
"""

from __future__ import annotations

from langgraph.graph import END, START, StateGraph

from graphs.blueprint.nodes import finalize, generate, prepare, publish, review, validate
from graphs.blueprint.state import BlueprintInput, BlueprintOutput, BlueprintState
from graphs.shared.context import GenerationOptions

builder = StateGraph(
    BlueprintState,
    context_schema=GenerationOptions,
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

"""The chat graph: load_session → decide_compaction → retrieve → generate → parse_reply → persist.

parse_reply sends a reply that was cut at the token cap, is not JSON or has no answer back to
generate once (a `custom` `{"reset": true, "reason"}` event first), then answers a short apology.

Exported without a checkpointer: `/v1/chat/generate` runs it as is (stateless: the caller sends
the transcript); workspace sessions run on a copy with the server's checkpointer, one thread
per session, keeping only the compacted memory and `context_meta` between turns.
"""

from __future__ import annotations

from langgraph.graph import END, START, StateGraph
from langgraph.types import RetryPolicy

from graphs.chat.nodes import (
    decide_compaction,
    generate,
    load_session,
    parse_reply,
    persist,
    retrieve,
)
from graphs.chat.state import ChatInput, ChatOutput, ChatState
from graphs.shared.context import GenerationContext
from graphs.shared.errors import GenerationError

builder = StateGraph(
    ChatState,
    context_schema=GenerationContext,
    input_schema=ChatInput,
    output_schema=ChatOutput,
)
# A transient database error is worth one more try; a missing blueprint is not.
_DATABASE_RETRY = RetryPolicy(
    max_attempts=2,
    initial_interval=0.2,
    retry_on=lambda error: not isinstance(error, GenerationError | ValueError | KeyError),
)
builder.add_node(load_session, retry_policy=_DATABASE_RETRY)
builder.add_node(decide_compaction)
builder.add_node(retrieve, retry_policy=_DATABASE_RETRY)
builder.add_node(generate)
builder.add_node(parse_reply)
builder.add_node(persist)
builder.add_edge(START, "load_session")
builder.add_edge("load_session", "decide_compaction")
builder.add_edge("decide_compaction", "retrieve")
builder.add_edge("retrieve", "generate")
builder.add_edge("generate", "parse_reply")
builder.add_edge("persist", END)

graph = builder.compile(name="chat")

"""The chat graph: load_session → decide_compaction → retrieve → generate → parse_reply → persist.

parse_reply sends a reply that was cut at the token cap, is not JSON or has no answer back to
generate once (a `custom` `{"reset": true, "reason"}` event first), then answers a short apology.

Exported without a checkpointer: `/v1/chat/generate` runs it as is (stateless: the caller sends
the transcript); workspace sessions run on a copy with the server's checkpointer, one thread
per session, keeping only the compacted memory and `context_meta` between turns.
"""

from __future__ import annotations

from langgraph.graph import END, START, StateGraph

from graphs.chat.nodes import (
    decide_compaction,
    generate,
    load_session,
    parse_reply,
    persist,
    retrieve,
)
from graphs.chat.state import ChatInput, ChatOutput, ChatState
from graphs.shared.context import GenerationOptions
from graphs.shared.retry import TRANSIENT_RETRY

builder = StateGraph(
    ChatState,
    context_schema=GenerationOptions,
    input_schema=ChatInput,
    output_schema=ChatOutput,
)
# A transient database error is worth one more try; a missing blueprint is not.
builder.add_node(load_session, retry_policy=TRANSIENT_RETRY)
builder.add_node(decide_compaction)
builder.add_node(retrieve, retry_policy=TRANSIENT_RETRY)
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

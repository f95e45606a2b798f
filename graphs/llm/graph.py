"""The direct model call: START → generate → END.

One node, so `/v1/llm/generate` runs like every other generation route: the same JSON and SSE
paths, and the model's tokens reach the `messages` stream through LangGraph's own callbacks.
The router in the run's context decides the providers, their order and the fallback.
"""

from __future__ import annotations

import logging
from typing import Any

from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage
from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime

from graphs.llm.state import LlmInput, LlmOutput, LlmState
from graphs.shared.context import GenerationOptions, context_of
from graphs.shared.errors import GenerationError
from graphs.shared.progress import report
from tools.models.router import ProvidersExhausted

logger = logging.getLogger("stemgraph.llm")


class ProviderError(GenerationError):
    """Every provider the router may use failed, and it may not answer offline."""

    code = "provider_error"


async def generate(state: LlmState, runtime: Runtime[GenerationOptions]) -> dict[str, Any]:
    """Ask the router for one reply to the system and user prompts."""
    context = context_of(runtime)
    report("generate")
    messages: list[BaseMessage] = [HumanMessage(state["user"])]
    if state.get("system", "").strip():
        messages.insert(0, SystemMessage(state["system"]))
    try:
        reply = await context.model_router().ainvoke(messages, deadline=context.run_deadline())
    except ProvidersExhausted as error:
        logger.warning("no provider answered", extra={"attempts": str(error)})
        raise ProviderError(str(error)) from None
    report("done")
    return {
        "content": reply.text,
        "provider": reply.provider,
        "model": reply.model,
        "usage": reply.usage.as_dict() if reply.usage else None,
        "latency_ms": reply.latency_ms,
        "attempts": [attempt.as_wire() for attempt in reply.attempts],
    }


builder = StateGraph(
    LlmState,
    context_schema=GenerationOptions,
    input_schema=LlmInput,
    output_schema=LlmOutput,
)
builder.add_node(generate)
builder.add_edge(START, "generate")
builder.add_edge("generate", END)

graph = builder.compile(name="llm")

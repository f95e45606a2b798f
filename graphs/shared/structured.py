"""One attempt at a structured (JSON) generation, shared by the generate→validate graphs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from langchain_core.messages import BaseMessage

from graphs.shared.context import GenerationContext
from graphs.shared.jsonout import parse_json_object
from graphs.shared.usage import add_usage
from tools.models.offline import Responder


async def json_attempt(
    state: Mapping[str, Any],
    context: GenerationContext,
    messages: Sequence[BaseMessage],
    offline: Responder,
) -> dict[str, Any]:
    """Ask the router once; the state update records the reply, its parse and running totals."""
    reply = await context.model_router().ainvoke(
        messages, deadline=context.run_deadline(), responder=offline
    )
    return {
        "attempts": state.get("attempts", 0) + 1,
        "reply_text": reply.text,
        "candidate": parse_json_object(reply.text),
        "provider": reply.provider,
        "model": reply.model,
        "usage": add_usage(state.get("usage"), reply.usage),
        "latency_ms": state.get("latency_ms", 0) + reply.latency_ms,
    }

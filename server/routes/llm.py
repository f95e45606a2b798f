"""`/v1/llm/generate` and `/v1/llm/embeddings`: direct model access with fallback.

These routes never fake an answer for a configured provider: the offline engine serves them only
when no provider is configured; otherwise every provider failing is a 502 `provider_error` whose
message names each attempt.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any
from uuid import UUID

from pydantic import Field
from starlette.requests import Request
from starlette.responses import Response

from graphs.shared.context import GenerationContext
from server.envelope import ok_response
from server.errors import ApiError
from server.routes.common import admit
from server.routes.generation import guest_ticket, settle
from server.runs import start_run
from server.schemas import Body, NullableText, Streamed, TimeoutMs
from server.settings import ProviderName
from server.streaming import respond
from tools.models.embeddings import EMBEDDING_DIMENSIONS
from tools.models.providers import resolve_order
from tools.models.router import Deadline, ProvidersExhausted, embed


class ProviderChoice(Body):
    timeout_ms: TimeoutMs | None = None
    provider_order: list[ProviderName] | None = None
    default_provider: ProviderName | None = None


class LlmGenerateBody(ProviderChoice, Streamed):
    sandbox_id: UUID | None = None
    system: NullableText = ""
    user: str = Field(min_length=1)
    temperature: float | None = Field(None, ge=0, le=2)
    max_tokens: int | None = Field(None, ge=1, le=32_000)
    # Accepted and ignored: see `server.schemas.IGNORED_FIELDS`.
    session_id: str | None = None
    transforms: list[str] | None = None


class EmbeddingsBody(ProviderChoice):
    inputs: list[Annotated[str, Field(max_length=100_000)]] = Field(min_length=1, max_length=256)
    sandbox_id: UUID | None = None


async def generate(request: Request) -> Response:
    """One model reply (JSON, or SSE streaming its tokens as `messages` events)."""
    state, body, principal = await admit(request, LlmGenerateBody)
    timeout_ms = body.timeout_ms or state.settings.ai_request_timeout_ms
    context = GenerationContext(
        router=state.router(
            provider_order=body.provider_order,
            default_provider=body.default_provider,
            temperature=body.temperature,
            max_tokens=body.max_tokens,
            strict=True,
        ),
        store=state.store,
        timeout_ms=timeout_ms,
        deadline=Deadline.after_ms(timeout_ms),
    )
    ticket = await guest_ticket(state, principal, body.sandbox_id, "chat")
    run = start_run(
        state.graphs,
        "llm",
        input={"system": body.system, "user": body.user},
        context=context,
        error_code="provider_error",
        to_data=generate_data,
        cleanup=settle(ticket),
    )
    return await respond(request, run, ping_seconds=state.settings.sse_ping_seconds)


def generate_data(values: Mapping[str, Any]) -> dict[str, Any]:
    """The contract's `{provider, model, content, usage, latency_ms}` and the failed `attempts`."""
    return {
        "provider": values["provider"],
        "model": values["model"],
        "content": values["content"],
        "usage": values.get("usage"),
        "latency_ms": int(values.get("latency_ms") or 0),
        "attempts": list(values.get("attempts") or []),
    }


async def embeddings(request: Request) -> Response:
    """One model's vectors for every input (`{provider, model, embeddings, usage, ...}`)."""
    state, body, principal = await admit(request, EmbeddingsBody)
    order = resolve_order(state.settings, body.provider_order, body.default_provider)
    timeout_ms = body.timeout_ms or state.settings.ai_embedding_timeout_ms
    providers = state.embedding_providers(order)
    finish = settle(await guest_ticket(state, principal, body.sandbox_id, "embedding"))
    succeeded = False
    try:
        reply = await embed(
            body.inputs,
            providers,
            deadline=Deadline.after_ms(timeout_ms),
            dimensions=EMBEDDING_DIMENSIONS,
            # Hashed vectors live in another space: never serve them for a configured provider.
            offline_fallback=not providers,
            rate_limit_retries=state.settings.ai_rate_limit_retries,
        )
        succeeded = True
    except ProvidersExhausted as error:
        raise ApiError(502, "provider_error", str(error)) from None
    finally:
        await finish(succeeded)
    return ok_response(
        request,
        {
            "provider": reply.provider,
            "model": reply.model,
            "embeddings": reply.vectors,
            "usage": reply.usage.as_dict(),
            "latency_ms": reply.latency_ms,
            "attempts": [attempt.as_wire() for attempt in reply.attempts],
        },
    )

"""What the one-shot generation routes share: recording results and guest bookkeeping."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any
from uuid import UUID

from starlette.requests import Request
from starlette.responses import Response

from server.access import reach_class
from server.auth.principal import Principal
from server.errors import ApiError
from server.guardrails import Feature, GuestTicket
from server.registry import GraphName
from server.runs import start_run
from server.state import AppState
from server.streaming import respond

Finisher = Callable[[bool], Awaitable[None]]


async def guest_ticket(
    state: AppState, principal: Principal, sandbox_id: object, feature: Feature
) -> GuestTicket | None:
    """For guests: reserve one use of `feature` and a concurrency slot (429/503 when over)."""
    if not principal.is_guest:
        return None
    return await state.guardrails.admit(str(sandbox_id), feature)


def settle(ticket: GuestTicket | None, *then: Finisher | None) -> Finisher:
    """A cleanup that keeps the guest's use only on success, always frees the slot, then runs
    the other finishers (each even if an earlier one failed)."""

    async def finish(succeeded: bool) -> None:
        try:
            if ticket is not None:
                await (ticket.succeed() if succeeded else ticket.release())
        finally:
            for finisher in then:
                if finisher is not None:
                    await finisher(succeeded)

    return finish


def record_generation(
    state: AppState,
    principal: Principal,
    *,
    kind: str,
    class_id: str | None,
    sandbox_id: object,
) -> Callable[[Mapping[str, Any]], Awaitable[None]]:
    """An `on_success` hook that stores the generated payload, so a guest's work can move
    to their account when they sign up."""

    async def record(values: Mapping[str, Any]) -> None:
        await state.store.record_generation(
            kind=kind,
            payload=values["payload"],
            provider=values["provider"],
            model=values["model"],
            class_id=class_id,
            user_id=principal.user.user_id if principal.user else None,
            # Only a guest's own (verified) sandbox: a claim hands its generations over.
            sandbox_id=str(sandbox_id) if sandbox_id and principal.is_guest else None,
        )

    return record


def attempts_of(values: Mapping[str, Any]) -> list[dict[str, str]]:
    """The run's failed attempts (`{provider, model, error, message}`), empty when the first
    provider answered: the contract's "When providers fail" rule."""
    return [dict(attempt) for attempt in values.get("attempts") or []]


def generation_data(values: Mapping[str, Any]) -> dict[str, Any]:
    """The contract's `{payload, provider, model, usage, latency_ms, attempts}`."""
    return {
        "payload": values["payload"],
        "provider": values["provider"],
        "model": values["model"],
        "usage": values.get("usage"),
        "latency_ms": int(values.get("latency_ms", 0)),
        "attempts": attempts_of(values),
    }


def material_or_class(material_context: str, class_id: object) -> str | None:
    """The class to retrieve from when no material is sent; one of the two is required."""
    if not material_context.strip() and class_id is None:
        raise ApiError(
            422, "validation_error", "material_context: send the class material or a class_id."
        )
    return str(class_id) if class_id else None


async def generate_payload(
    request: Request,
    state: AppState,
    principal: Principal,
    *,
    graph: GraphName,
    graph_input: dict[str, Any],
    kind: Feature,
    class_id: str | None,
    sandbox_id: UUID | None,
    timeout_ms: int | None,
    error_code: str,
) -> Response:
    """Run a one-shot generation graph for a route: guest bookkeeping, recording, JSON or SSE."""
    if class_id is not None:
        await reach_class(state.store, principal, class_id, sandbox_id)
    ticket = await guest_ticket(state, principal, sandbox_id, kind)
    run = start_run(
        state.graphs,
        graph,
        input=graph_input,
        context=state.generation_context(timeout_ms),
        error_code=error_code,
        to_data=generation_data,
        on_success=record_generation(
            state, principal, kind=kind, class_id=class_id, sandbox_id=sandbox_id
        ),
        cleanup=settle(ticket),
    )
    return await respond(request, run, ping_seconds=state.settings.sse_ping_seconds)

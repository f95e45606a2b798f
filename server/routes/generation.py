"""What the one-shot generation routes share: recording results and guest bookkeeping."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from server.auth.principal import Principal
from server.guardrails import Feature, GuestTicket
from server.state import AppState

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
            sandbox_id=str(sandbox_id) if sandbox_id else None,
        )

    return record

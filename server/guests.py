"""Guest (anonymous) callers must work inside a sandbox they own."""

from __future__ import annotations

import logging
from uuid import UUID

from server.auth.principal import Principal
from server.errors import ApiError
from tools.store.base import Store

logger = logging.getLogger("stemgraph.guests")


async def check_guest(principal: Principal, sandbox_id: UUID | None, store: Store) -> None:
    """Refuse a guest without an active sandbox of their own; other callers pass untouched."""
    if not principal.is_guest or principal.user is None:
        return
    if sandbox_id is None:
        raise ApiError(
            400, "guest_sandbox_required", "Guest requests must include the guest's sandbox_id."
        )
    try:
        sandbox = await store.get_sandbox(str(sandbox_id))
    except Exception:
        logger.exception("sandbox lookup failed")
        raise ApiError(
            502,
            "guest_sandbox_verification_unavailable",
            "The guest sandbox could not be verified right now. Try again shortly.",
        ) from None
    if sandbox is None or not sandbox.is_active or sandbox.owner_user_id != principal.user.user_id:
        raise ApiError(
            403, "guest_sandbox_forbidden", "This guest sandbox is not active or not yours."
        )

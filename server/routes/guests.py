"""`/v1/guests/claim`: a guest who signs up keeps their work (stemgraph addition)."""

from __future__ import annotations

import uuid

from starlette.requests import Request
from starlette.responses import Response

from server.access import not_a_guest
from server.envelope import ok_response
from server.errors import ApiError
from server.routes.common import admit
from server.schemas import Body


class ClaimBody(Body):
    user_id: uuid.UUID
    guest_user_id: uuid.UUID
    sandbox_id: uuid.UUID


async def claim(request: Request) -> Response:
    """Move the sandbox's sessions, messages, generated content and class memberships to the
    signed-in account, in one transaction: all of it moves or none of it does."""
    state, body, principal = await admit(request, ClaimBody, require_user=True)
    not_a_guest(principal)
    try:
        summary = await state.store.claim_sandbox(
            str(body.sandbox_id), str(body.guest_user_id), str(body.user_id)
        )
    except LookupError as missing:
        if str(missing) == "profile":
            raise ApiError(
                403, "profile_missing", "Finish setting up your profile first."
            ) from None
        raise ApiError(
            404, "guest_sandbox_not_found", "That guest sandbox is not active or not the guest's."
        ) from None
    return ok_response(
        request,
        {
            "sessions": summary.sessions,
            "messages": summary.messages,
            "generations": summary.generations,
            "enrollments": summary.enrollments,
        },
    )

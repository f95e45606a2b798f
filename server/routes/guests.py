"""`/v1/guests/claim`: a guest who signs up keeps their work (stemgraph addition)."""

from __future__ import annotations

import uuid

from pydantic import Field
from starlette.requests import Request
from starlette.responses import Response

from server.access import claimant
from server.envelope import ok_response
from server.errors import ApiError
from server.routes.common import admit
from server.schemas import Body


class ClaimBody(Body):
    user_id: uuid.UUID
    guest_user_id: uuid.UUID
    sandbox_id: uuid.UUID
    # The guest's own anonymous access token: the proof that the guest is the caller, unless
    # the signed-in account is the guest itself (upgraded in place, same user id).
    guest_token: str | None = Field(None, max_length=16_384)


async def claim(request: Request) -> Response:
    """Move the guest's sessions, messages, generated content, class memberships and sandbox
    classes to the signed-in account, in one transaction: all of it moves or none of it does.
    Only the guest may hand its work over (`server/access.py:claimant`)."""
    state, body, principal = await admit(request, ClaimBody, require_user=True)
    guest_user_id = str(body.guest_user_id)
    await claimant(state.verifier, principal, guest_user_id, body.guest_token)
    try:
        summary = await state.store.claim_sandbox(
            str(body.sandbox_id), guest_user_id, str(body.user_id)
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
            "classes": summary.classes,
        },
    )

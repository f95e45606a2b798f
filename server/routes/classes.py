"""`/v1/classes/create` and `/v1/classes/join` (a user token is required)."""

from __future__ import annotations

import uuid

from pydantic import Field
from starlette.requests import Request
from starlette.responses import Response

from server.access import class_creator, class_joiner, joinable
from server.envelope import ok_response
from server.errors import ApiError
from server.routes.common import admit
from server.schemas import Body
from tools.store.base import JoinCodeTaken

JoinCode = Field(min_length=1, max_length=64)


class ClassCreateBody(Body):
    user_id: uuid.UUID
    title: str = Field(min_length=1, max_length=200)
    subject: str | None = Field(None, max_length=200)
    level: str | None = Field(None, max_length=100)
    description: str | None = Field(None, max_length=4_000)
    join_code: str = JoinCode


class ClassJoinBody(Body):
    user_id: uuid.UUID
    join_code: str = JoinCode
    # A guest joins with its sandbox, and only a class of that sandbox.
    sandbox_id: uuid.UUID | None = None


def _code(raw: str) -> str:
    code = raw.strip()
    if not code:
        raise ApiError(422, "validation_error", "join_code: the join code cannot be blank.")
    return code


async def create(request: Request) -> Response:
    state, body, _ = await admit(request, ClassCreateBody, require_user=True)
    profile = await class_creator(state.store, str(body.user_id))
    title = body.title.strip()
    if not title:
        raise ApiError(422, "validation_error", "title: the class title cannot be blank.")
    try:
        klass = await state.store.create_class(
            class_id=str(uuid.uuid4()),
            owner_id=profile.id,
            title=title,
            join_code=_code(body.join_code),
            subject=body.subject,
            level=body.level,
            description=body.description,
        )
    except JoinCodeTaken:
        raise ApiError(
            409, "join_code_conflict", "That join code is already used by another class."
        ) from None
    return ok_response(request, {"class_id": klass.id})


async def join(request: Request) -> Response:
    state, body, principal = await admit(request, ClassJoinBody, require_user=True)
    profile = await class_joiner(state.store, str(body.user_id))
    klass = await state.store.find_class_by_code(_code(body.join_code))
    if klass is None:
        raise ApiError(404, "class_not_found", "No class uses that join code.")
    await joinable(state.store, principal, klass, body.sandbox_id)
    # Joining twice is not an error: the enrollment is simply already there. Whoever joins is
    # a student (a guest too).
    await state.store.enroll(klass.id, profile.id, "student")
    return ok_response(request, {"class_id": klass.id})

"""Small helpers every route uses: reading the body and the caller."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel
from starlette.requests import Request

from server.access import guest_sandbox, same_user
from server.auth.principal import Principal, authenticate
from server.json_input import parse_json
from server.schemas import parse_body
from server.state import AppState, app_state

Model = TypeVar("Model", bound=BaseModel)


async def read_json(request: Request) -> Any:
    """The JSON body, read by `server.json_input.parse_json`: malformed or hostile JSON is a
    400 `invalid_json` (or 422 for text no store can keep), never a 500."""
    return parse_json(await request.body())


async def admit(
    request: Request,
    model: type[Model],
    *,
    require_user: bool = False,
) -> tuple[AppState, Model, Principal]:
    """Authenticate first (so unauthenticated callers learn nothing), then parse the body."""
    state = app_state(request)
    principal = await authenticate(
        request, state.settings, state.verifier, require_user=require_user
    )
    body = parse_body(model, await read_json(request))
    # Read by `server.streaming.respond` (the bodies of streamed routes are `Streamed`).
    request.state.coalesce_ms = getattr(body, "coalesce_ms", None)
    same_user(principal, getattr(body, "user_id", None))
    await guest_sandbox(state.store, principal, getattr(body, "sandbox_id", None))
    return state, body, principal

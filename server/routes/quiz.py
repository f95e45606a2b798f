"""`POST /v1/quiz/generate`: JSON, or SSE with `Accept: text/event-stream`."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from server.auth.principal import Principal
from server.errors import ApiError
from server.routes.common import admit
from server.routes.generation import guest_ticket, record_generation, settle
from server.schemas import QuizBody
from server.state import AppState
from server.streaming import GraphRun, respond


def generation_data(values: Mapping[str, Any]) -> dict[str, Any]:
    """The contract's `{payload, provider, model, usage, latency_ms}`."""
    return {
        "payload": values["payload"],
        "provider": values["provider"],
        "model": values["model"],
        "usage": values.get("usage"),
        "latency_ms": int(values.get("latency_ms", 0)),
    }


async def check_class_access(state: AppState, principal: Principal, class_id: str) -> None:
    """The class exists, and a signed-in user belongs to it (the service key alone is trusted)."""
    if await state.store.get_class(class_id) is None:
        raise ApiError(404, "class_not_found", "That class does not exist.")
    user = principal.user
    if (
        user is not None
        and not user.is_anonymous
        and await state.store.class_role(class_id, user.user_id) is None
    ):
        raise ApiError(403, "forbidden", "You are not a member of this class.")


async def generate(request: Request) -> Response:
    state, body, principal = await admit(request, QuizBody)
    class_id = str(body.class_id) if body.class_id else None
    if not body.material_context.strip() and class_id is None:
        raise ApiError(
            422, "validation_error", "material_context: send the class material or a class_id."
        )
    if class_id is not None:
        await check_class_access(state, principal, class_id)
    ticket = await guest_ticket(state, principal, body.sandbox_id, "quiz")
    run = GraphRun(
        graph=state.graphs.quiz,
        input={
            "class_title": body.class_title,
            "question_count": body.question_count,
            "instructions": body.instructions,
            "blueprint_context": body.blueprint_context,
            "material_context": body.material_context,
            "class_id": class_id,
        },
        context=state.generation_context(body.timeout_ms),
        run_id=str(uuid.uuid4()),
        error_code="quiz_error",
        to_data=generation_data,
        on_success=record_generation(
            state, principal, kind="quiz", class_id=class_id, sandbox_id=body.sandbox_id
        ),
        cleanup=settle(ticket),
    )
    return await respond(request, run, ping_seconds=state.settings.sse_ping_seconds)

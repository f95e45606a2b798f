"""`/v1/analytics/class-insights`: a class's numbers from the database, narrated by a model.

The web app calls it with the service key and the teacher's `user_id` in the body (no user
token); with a token, the body's `user_id` must be the signed-in user.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from server.access import class_teacher
from server.routes.common import admit
from server.routes.generation import attempts_of
from server.runs import start_run
from server.schemas import ClassScoped, Streamed
from server.streaming import respond


class ClassInsightsBody(ClassScoped, Streamed):
    force_refresh: bool | None = None


def insights_data(values: Mapping[str, Any]) -> dict[str, Any]:
    """The insights payload plus `attempts`: the calls that did not write its narrative (empty
    when the first did, or when a stored snapshot answered)."""
    return {**values["payload"], "attempts": attempts_of(values)}


async def class_insights(request: Request) -> Response:
    """The insights payload (JSON, or SSE ending with it as `values`)."""
    state, body, principal = await admit(request, ClassInsightsBody)
    member = await class_teacher(
        state.store, principal, str(body.class_id), str(body.user_id), body.sandbox_id
    )
    run = start_run(
        state.graphs,
        "insights",
        input={"class_id": member.klass.id, "force_refresh": bool(body.force_refresh)},
        context=state.generation_context(None),
        error_code="analytics_error",
        to_data=insights_data,
    )
    return await respond(request, run, ping_seconds=state.settings.sse_ping_seconds)

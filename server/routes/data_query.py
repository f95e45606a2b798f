"""`POST /v1/analytics/data-query`: a teacher's question about their class, answered as a chart.

A signed-in teacher of the class only (401 `user_token_required`, then the analytics access
codes of `class_teacher`). The class id comes from the checked request and is bound into every
query the graph runs; nothing in the question can widen it. JSON, or SSE with
`Accept: text/event-stream`; graph failures are `data_query_error`.
"""

from __future__ import annotations

from pydantic import Field
from starlette.requests import Request
from starlette.responses import Response

from server.access import class_teacher, signed_in
from server.errors import ApiError
from server.routes.common import admit
from server.routes.generation import attempts_of
from server.runs import start_run
from server.schemas import ClassScoped, Streamed
from server.streaming import respond


class DataQueryBody(ClassScoped, Streamed):
    query: str = Field(min_length=1, max_length=500)


async def data_query(request: Request) -> Response:
    state, body, principal = await admit(request, DataQueryBody, require_user=True)
    user_id = signed_in(principal)  # admit(require_user=True) guarantees a user
    if not body.query.strip():
        raise ApiError(422, "validation_error", "query: ask a question about the class.")
    class_id = str(body.class_id)
    await class_teacher(state.store, principal, class_id, user_id, body.sandbox_id)
    run = start_run(
        state.graphs,
        "data_query",
        input={"class_id": class_id, "query": body.query},
        context=state.generation_context(None),
        error_code="data_query_error",
        to_data=lambda values: {"spec": values["spec"], "attempts": attempts_of(values)},
    )
    return await respond(request, run, ping_seconds=state.settings.sse_ping_seconds)

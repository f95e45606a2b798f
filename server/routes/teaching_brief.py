"""`POST /v1/analytics/class-teaching-brief`: the teacher's daily brief, one stored per class.

Teacher-only, like class insights: the service key and the `user_id` in the body are enough (a
user token, when sent, must name the same user). Every answer is the usual envelope with
`data = {status, is_stale, payload, generated_at, has_evidence, error_message?}`, or with
`Accept: text/event-stream` the same `data` as the final `values` event of a stream (a build's
progress events before it; just `metadata` and `values` when nothing is built):

- Without `force_refresh` the stored state is returned as it is and nothing is built: `empty`
  when the class never had a brief, a brief from an earlier UTC day with `is_stale: true`.
- With `force_refresh` the caller tries to take the class's refresh (`begin_refresh`: one
  winner among concurrent callers, across processes). A loser answers at once with the current
  row (status `generating`, the previous payload if any). The winner runs the graph and answers
  `ready` (or `no_data` for a class without submissions or chat messages).
- A build that fails for a reason the graph reports (the model's answer broke the brief's rules
  after two repairs, no model answered) is an ordinary outcome, not a transport error: HTTP 200
  (a `values` event) with `status: "error"`, the previous payload and generated_at, and
  `error_message`.
- Anything unexpected during a build (a bug, the database) records the same `error` state and
  answers 502 `teaching_brief_error` (an `error` event).
The row never stays in `generating`: the run's cleanup (shielded from cancellation, so a client
that disconnects mid-build, or before a stream starts, is covered too) ends any refresh this
request started and did not settle.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import anyio
from starlette.requests import Request
from starlette.responses import Response

from graphs.shared.errors import GenerationError
from graphs.teaching_brief import BriefContext
from server.access import class_teacher
from server.errors import ApiError
from server.registry import EXPORTED, GraphRegistry
from server.routes.common import admit
from server.routes.generation import attempts_of
from server.runs import GraphRun, run_to_completion, start_run
from server.schemas import ClassScoped, Streamed
from server.state import AppState
from server.streaming import respond, respond_data
from tools.analytics.brief_store import (
    begin_refresh,
    brief_response,
    fail_refresh,
    finish_refresh,
    mark_no_data,
    read_brief,
)
from tools.models.router import Deadline
from tools.store.base import Store

logger = logging.getLogger("stemgraph.analytics")

ERROR_CODE = "teaching_brief_error"
INTERRUPTED = "The refresh stopped before it finished. Try again."
UNEXPECTED = "The teaching brief could not be built right now. Try again later."


class TeachingBriefBody(ClassScoped, Streamed):
    force_refresh: bool | None = None


def _sql_store(state: AppState) -> Store:
    store: Store = state.store
    return store


def _context(state: AppState) -> BriefContext:
    timeout = state.settings.ai_request_timeout_ms
    return BriefContext(
        router=state.router(),
        store=state.store,
        timeout_ms=timeout,
        deadline=Deadline.after_ms(timeout),
    )


def _graphs(state: AppState) -> GraphRegistry:
    # The brief has no checkpointed variant, so a caller holding only a store and a router
    # (a script, the route's cancellation test) runs it from the exported graphs.
    graphs: GraphRegistry = getattr(state, "graphs", EXPORTED)
    return graphs


async def _fail(store: Store, class_id: str, message: str) -> dict[str, Any] | None:
    """Move the refresh to `error` even while this request is being cancelled."""
    with anyio.CancelScope(shield=True):
        try:
            return await fail_refresh(store, class_id, message)
        except Exception:
            logger.exception("could not end a teaching brief refresh", extra={"class": class_id})
    return None


def _refresh_run(state: AppState, store: Store, class_id: str) -> GraphRun:
    """The build of a refresh this request holds; however the run ends, the row leaves
    `generating`: the outcome is stored by `conclude`, or the cleanup records the interruption."""
    settled = False

    async def conclude(outcome: Mapping[str, Any] | Exception) -> dict[str, Any]:
        nonlocal settled
        try:
            if isinstance(outcome, Exception):
                raise outcome
            if outcome["status"] == "no_data":
                row = await mark_no_data(store, class_id)
            else:
                row = await finish_refresh(
                    store, class_id, outcome["payload"], has_evidence=outcome["has_evidence"]
                )
        except GenerationError as error:
            settled = True
            return brief_response(await _fail(store, class_id, str(error)))
        except Exception as error:
            logger.exception("teaching brief build failed", exc_info=error)
            settled = True
            await _fail(store, class_id, UNEXPECTED)
            raise ApiError(502, ERROR_CODE, UNEXPECTED) from None
        settled = True
        attempts = attempts_of(outcome)
        # The stored brief has no attempts; a refresh that another provider or the offline
        # engine served says which calls did not write it.
        return {**brief_response(row), "attempts": attempts} if attempts else brief_response(row)

    async def cleanup(succeeded: bool) -> None:
        if not settled:  # cancelled: the client went away or the server is stopping
            await _fail(store, class_id, INTERRUPTED)

    return start_run(
        _graphs(state),
        "teaching_brief",
        input={"class_id": class_id},
        context=_context(state),
        error_code=ERROR_CODE,
        conclude=conclude,
        cleanup=cleanup,
    )


async def _refresh(state: AppState, store: Store, class_id: str) -> dict[str, Any]:
    """Build the brief to completion (this request holds the refresh); returns the answer."""
    data: dict[str, Any] = await run_to_completion(_refresh_run(state, store, class_id))
    return data


async def class_teaching_brief(request: Request) -> Response:
    state, body, principal = await admit(request, TeachingBriefBody)
    class_id = str(body.class_id)
    await class_teacher(state.store, principal, class_id, str(body.user_id), body.sandbox_id)
    store = _sql_store(state)
    ping = state.settings.sse_ping_seconds
    if body.force_refresh and await begin_refresh(store, class_id):
        try:
            run = _refresh_run(state, store, class_id)
        except BaseException:
            await _fail(store, class_id, UNEXPECTED)
            raise
        return await respond(request, run, ping_seconds=ping)
    stored = brief_response(await read_brief(store, class_id))
    return respond_data(request, stored, ping_seconds=ping)

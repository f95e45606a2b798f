"""Runs: stateless (`/runs/stream`, `/runs/wait`, `/runs`) and on threads (stream, wait,
background create, list, get, join, join_stream, cancel, delete).

Every run executes in its own task (`service.Protocol.execute`) and publishes its events to the
event log; a stream is a subscriber, so a client leaving does not end the run unless it asked
for `on_disconnect=cancel`.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from server.access import require_thread_owner
from server.auth.principal import Principal
from server.errors import ApiError
from server.json_input import parse_json
from server.protocol.assistants import graph_id_of
from server.protocol.models import RunCreate
from server.protocol.records import ACTIVE, RunRecord
from server.protocol.service import Protocol, ThreadView, protocol_of, read_body, valid_uuid
from server.protocol.validation import check_run
from server.protocol.wire import RunStreamResponse

TEMPORARY = "_temporary"


def _paths(run: RunRecord, *, stateless: bool) -> dict[str, str]:
    if stateless:
        return {"content-location": f"/runs/{run.run_id}"}
    base = f"/threads/{run.thread_id}/runs/{run.run_id}"
    return {"location": f"{base}/stream", "content-location": base}


async def _thread_for_run(
    protocol: Protocol, principal: Principal, request: Request, body: RunCreate, graph_id: str
) -> tuple[ThreadView, bool]:
    """The caller's thread for the run, and whether it was created for it (`if_not_exists`)."""
    raw_id = request.path_params["thread_id"]
    try:
        return await protocol.owned_thread(principal, raw_id), False
    except ApiError as error:
        if error.code != "thread_not_found" or body.if_not_exists != "create":
            raise
        missing = error
    thread_id = valid_uuid(raw_id, code="thread_not_found", what="thread")
    if not await protocol.unused_id(thread_id):
        # A session's or a `/v1` draft's id the caller cannot reach: it stays not found.
        raise missing
    # A run refused for what it carries creates no thread.
    check_run(graph_id, body, first_run=True, session=False)
    record = await protocol.records.create_thread(
        thread_id,
        owner_user_id=principal.user.user_id if principal.user else None,
        graph_id=None,
        metadata={},
    )
    if record is None:
        # Someone else's thread (or a race with its creator): the caller cannot use it.
        raise ApiError(404, "thread_not_found", "That thread does not exist.")
    return await protocol.owned_thread(principal, thread_id), True


async def _start(request: Request, *, stateless: bool, wait: bool = False) -> RunRecord:
    protocol = protocol_of(request)
    principal = await protocol.caller(request)
    body = await read_body(request, RunCreate)
    graph_id = graph_id_of(body.assistant_id)
    if wait:
        body = body.model_copy(update={"stream_mode": ["values"]})
    if stateless:
        # A run refused for what it carries leaves no temporary thread behind, even briefly.
        check_run(graph_id, body, first_run=True, session=False)
        record = await protocol.records.create_thread(
            str(uuid.uuid4()),
            owner_user_id=principal.user.user_id if principal.user else None,
            graph_id=graph_id,
            metadata={},
        )
        assert record is not None
        view = ThreadView(record, "owner")
        if body.on_disconnect is None:
            body = body.model_copy(update={"on_disconnect": "cancel"})
        created = True
    else:
        view, created = await _thread_for_run(protocol, principal, request, body, graph_id)
    try:
        return await protocol.create_run(
            principal, view, graph_id, body, assistant_id=body.assistant_id, temporary=stateless
        )
    except BaseException:
        if created:
            # A refused run leaves no thread made for it behind (stateless, or if_not_exists).
            await protocol.records.delete_thread(view.record.thread_id)
        raise


def _stream(request: Request, run: RunRecord, *, stateless: bool, after: str | None) -> Response:
    protocol = protocol_of(request)
    cancel_on_close = run.kwargs.get("on_disconnect") == "cancel"

    async def on_close() -> None:
        if not cancel_on_close:
            return
        current = await protocol.records.get_run(run.run_id)
        if current is not None and current.status in ACTIVE:
            await protocol.cancel(current, "interrupt")

    return RunStreamResponse(
        protocol.manager.subscribe_batches(run.run_id, after=after),
        with_ids=bool(run.kwargs.get("stream_resumable")),
        headers=_paths(run, stateless=stateless),
        on_close=on_close,
        heartbeat_seconds=protocol.state.settings.sse_ping_seconds,
    )


async def stream(request: Request) -> Response:
    stateless = "thread_id" not in request.path_params
    run = await _start(request, stateless=stateless)
    return _stream(request, run, stateless=stateless, after="0")


async def _outcome(protocol: Protocol, run_id: str) -> Any:
    """The run's last `values` (with `__interrupt__`), or `{"__error__": …}` if it failed."""
    values: Any = None
    async for event in protocol.manager.subscribe(run_id, after="0"):
        if event.event == "values":
            values = json.loads(event.data)
        elif event.event == "error":
            return {"__error__": json.loads(event.data)}
    return values


async def wait(request: Request) -> Response:
    stateless = "thread_id" not in request.path_params
    run = await _start(request, stateless=stateless, wait=True)
    protocol = protocol_of(request)
    headers = _paths(run, stateless=stateless)
    headers.pop("location", None)
    return JSONResponse(await _outcome(protocol, run.run_id), headers=headers)


async def create(request: Request) -> Response:
    stateless = "thread_id" not in request.path_params
    run = await _start(request, stateless=stateless)
    headers = _paths(run, stateless=stateless)
    headers.pop("location", None)
    return JSONResponse(run.as_wire(), headers=headers)


async def _run_of(request: Request) -> tuple[Protocol, ThreadView, RunRecord, Principal]:
    protocol = protocol_of(request)
    principal = await protocol.caller(request)
    view = await protocol.thread(principal, request.path_params["thread_id"])
    run_id = valid_uuid(request.path_params["run_id"], code="run_not_found", what="run")
    run = await protocol.records.get_run(run_id)
    if run is None or run.thread_id != view.record.thread_id:
        raise ApiError(404, "run_not_found", "That run does not exist.")
    return protocol, view, run, principal


def _int_param(request: Request, name: str, default: int, top: int) -> int:
    text = request.query_params.get(name, str(default))
    if not text.isdigit() or int(text) > top:
        raise ApiError(422, "validation_error", f"{name}: a whole number from 0 to {top}.")
    return int(text)


async def list_runs(request: Request) -> Response:
    protocol = protocol_of(request)
    principal = await protocol.caller(request)
    view = await protocol.thread(principal, request.path_params["thread_id"])
    status = request.query_params.get("status")
    if status is not None and status not in {*ACTIVE, "error", "success", "timeout", "interrupted"}:
        raise ApiError(422, "validation_error", "status: not a run status.")
    runs = await protocol.records.list_runs(
        view.record.thread_id,
        status=status,
        limit=max(_int_param(request, "limit", 10, 1000), 1),
        offset=_int_param(request, "offset", 0, 1_000_000),
    )
    return JSONResponse([run.as_wire() for run in runs])


async def get(request: Request) -> Response:
    _, _, run, _ = await _run_of(request)
    return JSONResponse(run.as_wire())


async def join(request: Request) -> Response:
    protocol, view, run, _ = await _run_of(request)
    if run.status in ACTIVE and protocol.manager.holds(run.run_id):
        async for _ in protocol.manager.subscribe(run.run_id, after=None):
            pass
    thread = await protocol.records.get_thread(view.record.thread_id)
    values: Any = (thread.values if thread else None) or {}
    if thread is not None and thread.interrupts and isinstance(values, dict):
        values = {**values, "__interrupt__": [i for v in thread.interrupts.values() for i in v]}
    return JSONResponse(values)


async def join_stream(request: Request) -> Response:
    protocol, view, run, _ = await _run_of(request)
    last_event_id = request.headers.get("last-event-id")
    if last_event_id is not None and len(last_event_id) > 100:
        raise ApiError(422, "validation_error", "Last-Event-ID: not an event id of this run.")
    cancel = request.query_params.get("cancel_on_disconnect", "false").lower() in {"1", "true"}
    if cancel:
        # Leaving would cancel the run: only for whoever may cancel it (a class's teacher
        # reads a student's session, and must not stop its runs by leaving a stream).
        require_thread_owner(view.access)
        run = RunRecord(**{**_fields(run), "kwargs": {**run.kwargs, "on_disconnect": "cancel"}})
    return _stream(request, run, stateless=False, after=last_event_id)


def _fields(run: RunRecord) -> dict[str, Any]:
    return {name: getattr(run, name) for name in RunRecord.__slots__}


async def cancel(request: Request) -> Response:
    raw = await request.body()
    if raw.strip():
        parse_json(raw)  # no body is needed, but one that is sent must be JSON
    action = request.query_params.get("action", "interrupt")
    if action not in ("interrupt", "rollback"):
        raise ApiError(422, "validation_error", "action: interrupt or rollback.")
    protocol, view, run, principal = await _run_of(request)
    if view.access != "owner":
        raise ApiError(403, "thread_read_only", "Only the chat's owner can cancel its runs.")
    if run.status not in ACTIVE:
        raise ApiError(409, "run_not_active", "The run has already ended.")
    await protocol.cancel(run, "rollback" if action == "rollback" else "interrupt")
    return Response(status_code=204)


async def delete(request: Request) -> Response:
    protocol, view, run, _ = await _run_of(request)
    if view.access != "owner":
        raise ApiError(403, "thread_read_only", "Only the chat's owner can delete its runs.")
    if run.status in ACTIVE:
        raise ApiError(409, "run_active", "Cancel the run before deleting it.")
    await protocol.records.delete_run(run.run_id)
    return Response(status_code=204)

"""Threads: create, get, search, patch, delete, state (read, update) and history.

A thread is its creator's (the service key reaches all); a workspace chat session is also a
thread, under its session id, for its owner (the class's teachers read it).
"""

from __future__ import annotations

import uuid
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.errors import InvalidUpdateError
from langgraph.types import StateSnapshot
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from server.access import protocol_steering
from server.errors import ApiError
from server.protocol.models import (
    ThreadCreate,
    ThreadHistory,
    ThreadPatch,
    ThreadSearch,
    ThreadStateUpdate,
)
from server.protocol.service import (
    SESSION_KIND,
    TEACHER_GRAPHS,
    ThreadView,
    protocol_of,
    read_body,
)
from server.protocol.validation import check_state_update
from server.protocol.wire import interrupt_json, jsonable


def _checkpoint(config: RunnableConfig | None) -> dict[str, Any] | None:
    if not config:
        return None
    configurable = config.get("configurable") or {}
    return {
        "thread_id": configurable.get("thread_id"),
        "checkpoint_ns": configurable.get("checkpoint_ns", ""),
        "checkpoint_id": configurable.get("checkpoint_id"),
        "checkpoint_map": configurable.get("checkpoint_map"),
    }


def snapshot_json(snapshot: StateSnapshot) -> dict[str, Any]:
    """A state snapshot as LangGraph Server's `ThreadState`."""
    checkpoint = _checkpoint(snapshot.config)
    parent = _checkpoint(snapshot.parent_config)
    return {
        "values": jsonable(snapshot.values),
        "next": list(snapshot.next),
        "tasks": [
            {
                "id": task.id,
                "name": task.name,
                "path": jsonable(task.path),
                "error": None if task.error is None else str(task.error),
                "interrupts": [interrupt_json(i) for i in task.interrupts],
                "checkpoint": None,
                "state": None,
                "result": jsonable(task.result),
            }
            for task in snapshot.tasks
        ],
        "metadata": jsonable(snapshot.metadata or {}),
        "created_at": snapshot.created_at,
        "checkpoint": checkpoint,
        "parent_checkpoint": parent,
        "checkpoint_id": checkpoint and checkpoint["checkpoint_id"],
        "parent_checkpoint_id": parent and parent["checkpoint_id"],
        "interrupts": [interrupt_json(i) for i in snapshot.interrupts],
    }


EMPTY_STATE: dict[str, Any] = {
    "values": {},
    "next": [],
    "tasks": [],
    "metadata": {},
    "created_at": None,
    "checkpoint": None,
    "parent_checkpoint": None,
    "checkpoint_id": None,
    "parent_checkpoint_id": None,
    "interrupts": [],
}


async def create(request: Request) -> Response:
    protocol = protocol_of(request)
    principal = await protocol.caller(request)
    body = await read_body(request, ThreadCreate)
    thread_id = str(body.thread_id or uuid.uuid4())
    if body.graph_id is not None and body.graph_id not in protocol.graphs:
        raise ApiError(422, "validation_error", f"graph_id: there is no graph {body.graph_id!r}.")
    if await protocol.records.get_thread(thread_id) is None and not await protocol.unused_id(
        thread_id
    ):
        # A session's or a `/v1` draft's id: never a new thread of the caller's.
        raise ApiError(409, "thread_exists", "A thread with this id already exists.")
    metadata = dict(body.metadata or {})
    metadata.pop("kind", None)
    record = await protocol.records.create_thread(
        thread_id,
        owner_user_id=principal.user.user_id if principal.user else None,
        graph_id=body.graph_id,
        metadata=metadata,
    )
    if record is None:
        if body.if_exists == "raise":
            raise ApiError(409, "thread_exists", "A thread with this id already exists.")
        record = (await protocol.thread(principal, thread_id)).record
    return JSONResponse(record.as_wire())


async def get(request: Request) -> Response:
    protocol = protocol_of(request)
    principal = await protocol.caller(request)
    view = await protocol.thread(principal, request.path_params["thread_id"])
    return JSONResponse(view.record.as_wire())


async def patch(request: Request) -> Response:
    protocol = protocol_of(request)
    principal = await protocol.caller(request)
    body = await read_body(request, ThreadPatch)
    view = await protocol.owned_thread(principal, request.path_params["thread_id"])
    metadata = {**view.record.metadata, **(body.metadata or {})}
    if view.session is not None:
        metadata["kind"] = SESSION_KIND
    else:
        metadata.pop("kind", None)
    record = await protocol.records.update_thread(view.record.thread_id, metadata=metadata)
    if record is None:
        raise ApiError(404, "thread_not_found", "That thread does not exist.")
    return JSONResponse(record.as_wire())


async def delete(request: Request) -> Response:
    protocol = protocol_of(request)
    principal = await protocol.caller(request)
    view = await protocol.owned_thread(principal, request.path_params["thread_id"])
    if view.session is not None:
        raise ApiError(
            409, "session_thread", "A workspace chat is archived from the workspace, not deleted."
        )
    for run in await protocol.records.active_runs(view.record.thread_id):
        await protocol.cancel(run, "interrupt")
    await protocol.state.checkpointer.adelete_thread(view.record.thread_id)
    await protocol.records.delete_thread(view.record.thread_id)
    return Response(status_code=204)


async def search(request: Request) -> Response:
    protocol = protocol_of(request)
    principal = await protocol.caller(request)
    body = await read_body(request, ThreadSearch)
    found = await protocol.records.search_threads(
        owner_user_id=principal.user.user_id if principal.user else None,
        everyone=principal.user is None,
        status=body.status,
        metadata=body.metadata or {},
        limit=body.limit,
        offset=body.offset,
        values=body.values,
        ids=[str(i) for i in body.ids or ()],
    )
    return JSONResponse([thread.as_wire() for thread in found])


async def _state(view: ThreadView, request: Request, checkpoint_id: str | None) -> Response:
    protocol = protocol_of(request)
    if view.record.graph_id is None:
        if checkpoint_id:
            # A thread that never ran has no checkpoints to name.
            raise ApiError(404, "checkpoint_not_found", "That checkpoint does not exist.")
        return JSONResponse(EMPTY_STATE)
    graph = protocol.graph_of(view)
    configurable: dict[str, Any] = {"thread_id": view.record.thread_id}
    if checkpoint_id:
        configurable["checkpoint_id"] = checkpoint_id
    snapshot = await graph.aget_state({"configurable": configurable})
    if checkpoint_id and snapshot.created_at is None:
        raise ApiError(404, "checkpoint_not_found", "That checkpoint does not exist.")
    return JSONResponse(snapshot_json(snapshot) if snapshot.created_at else EMPTY_STATE)


async def get_state(request: Request) -> Response:
    protocol = protocol_of(request)
    principal = await protocol.caller(request)
    view = await protocol.thread(principal, request.path_params["thread_id"])
    checkpoint_id = request.path_params.get("checkpoint_id")
    return await _state(view, request, str(checkpoint_id)[:100] if checkpoint_id else None)


async def update_state(request: Request) -> Response:
    protocol = protocol_of(request)
    principal = await protocol.caller(request)
    body = await read_body(request, ThreadStateUpdate)
    view = await protocol.owned_thread(principal, request.path_params["thread_id"])
    if view.session is not None:
        raise ApiError(
            409, "session_thread", "A workspace chat's state changes only by sending messages."
        )
    if view.record.graph_id is None:
        raise ApiError(409, "thread_has_no_graph", "Run the thread once before updating its state.")
    if view.record.graph_id in TEACHER_GRAPHS | {"blueprint"}:
        protocol_steering(principal, "state updates on this graph")
    graph = protocol.graph_of(view)
    if body.as_node is not None and body.as_node not in graph.nodes:
        raise ApiError(422, "validation_error", f"as_node: no node named {body.as_node!r}.")
    values = body.values
    updates = [] if values is None else values if isinstance(values, list) else [values]
    for update in updates:
        if not isinstance(update, dict):
            raise ApiError(422, "validation_error", "values: an object, or a list of objects.")
        check_state_update(view.record.graph_id, update)
    if await protocol.records.active_runs(view.record.thread_id):
        raise ApiError(409, "thread_busy", "The thread is running a run.")
    configurable: dict[str, Any] = {"thread_id": view.record.thread_id}
    checkpoint_id = body.checkpoint_id or (body.checkpoint and body.checkpoint.checkpoint_id)
    if checkpoint_id:
        configurable["checkpoint_id"] = checkpoint_id
    try:
        config = await graph.aupdate_state(
            {"configurable": configurable}, body.values, as_node=body.as_node
        )
    except (ValueError, KeyError, TypeError, InvalidUpdateError) as error:
        raise ApiError(422, "invalid_state_update", f"The update was refused: {error}.") from None
    await protocol.settle(view.record.thread_id, graph)
    return JSONResponse({"checkpoint": _checkpoint(config)})


async def history(request: Request) -> Response:
    protocol = protocol_of(request)
    principal = await protocol.caller(request)
    if request.method == "GET":
        limit_text = request.query_params.get("limit", "10")
        if not limit_text.isdigit() or not 1 <= int(limit_text) <= 1000:
            raise ApiError(422, "validation_error", "limit: a whole number from 1 to 1000.")
        body = ThreadHistory(limit=int(limit_text))
    else:
        body = await read_body(request, ThreadHistory)
    view = await protocol.thread(principal, request.path_params["thread_id"])
    before = body.before
    before_id = (before if isinstance(before, str) else before.checkpoint_id) if before else None
    if view.record.graph_id is None:
        if before_id:
            raise ApiError(404, "checkpoint_not_found", "That checkpoint does not exist.")
        return JSONResponse([])
    graph = protocol.graph_of(view)
    before_config: RunnableConfig | None = None
    if before_id:
        before_config = {
            "configurable": {"thread_id": view.record.thread_id, "checkpoint_id": before_id}
        }
        # Checkpoints sort by id: an id the thread does not have would list from anywhere.
        if await protocol.state.checkpointer.aget_tuple(before_config) is None:
            raise ApiError(404, "checkpoint_not_found", "That checkpoint does not exist.")
    snapshots = [
        snapshot_json(snapshot)
        async for snapshot in graph.aget_state_history(
            {"configurable": {"thread_id": view.record.thread_id}},
            filter=body.metadata,
            before=before_config,
            limit=body.limit,
        )
    ]
    return JSONResponse(snapshots)

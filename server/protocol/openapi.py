"""The protocol's operations for `/openapi.json` (`server/openapi.py` renders them): one per
route of `server.protocol.ROUTES`, with the body model that validates it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

from pydantic import BaseModel

from server.protocol.models import (
    AssistantSearch,
    RunCreate,
    ThreadCreate,
    ThreadHistory,
    ThreadPatch,
    ThreadSearch,
    ThreadStateUpdate,
)


@dataclass(frozen=True, slots=True)
class ProtocolOperation:
    method: Literal["get", "post", "patch", "delete"]
    path: str
    operation_id: str
    summary: str
    body: type[BaseModel] | None = None
    returns: Literal["json", "stream", "none"] = "json"
    body_required: bool = True
    query: Sequence[Mapping[str, Any]] = ()


def _q(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema}


_T = "/threads/{thread_id}"
_R = _T + "/runs/{run_id}"
_PAGE = (_q("limit", {"type": "integer", "minimum": 1}), _q("offset", {"type": "integer"}))

PROTOCOL_OPERATIONS: Final[tuple[ProtocolOperation, ...]] = (
    ProtocolOperation(
        "post",
        "/assistants/search",
        "assistants_search",
        "Search assistants",
        AssistantSearch,
        body_required=False,
    ),
    ProtocolOperation(
        "get", "/assistants/{assistant_id}", "assistants_get", "An assistant (by id or graph id)"
    ),
    ProtocolOperation(
        "get",
        "/assistants/{assistant_id}/graph",
        "assistants_graph",
        "An assistant's graph",
        query=(_q("xray", {"type": "boolean"}),),
    ),
    ProtocolOperation(
        "get",
        "/assistants/{assistant_id}/schemas",
        "assistants_schemas",
        "An assistant's input, output, state, config and context schemas",
    ),
    ProtocolOperation(
        "get",
        "/assistants/{assistant_id}/subgraphs",
        "assistants_subgraphs",
        "An assistant's subgraphs (none)",
    ),
    ProtocolOperation(
        "post", "/threads", "threads_create", "Create a thread", ThreadCreate, body_required=False
    ),
    ProtocolOperation(
        "post",
        "/threads/search",
        "threads_search",
        "Search the caller's threads",
        ThreadSearch,
        body_required=False,
    ),
    ProtocolOperation("get", _T, "threads_get", "A thread"),
    ProtocolOperation("patch", _T, "threads_patch", "Merge a thread's metadata", ThreadPatch),
    ProtocolOperation("delete", _T, "threads_delete", "Delete a thread", returns="none"),
    ProtocolOperation("get", _T + "/state", "threads_state", "A thread's latest state"),
    ProtocolOperation(
        "post", _T + "/state", "threads_update_state", "Update a thread's state", ThreadStateUpdate
    ),
    ProtocolOperation(
        "get", _T + "/state/{checkpoint_id}", "threads_state_at", "A thread's state at a checkpoint"
    ),
    ProtocolOperation(
        "get",
        _T + "/history",
        "threads_history_get",
        "A thread's past states",
        query=(_q("limit", {"type": "integer", "minimum": 1}),),
    ),
    ProtocolOperation(
        "post",
        _T + "/history",
        "threads_history",
        "A thread's past states",
        ThreadHistory,
        body_required=False,
    ),
    ProtocolOperation(
        "post",
        "/runs/stream",
        "runs_stream_stateless",
        "Run on a temporary thread, streamed",
        RunCreate,
        returns="stream",
    ),
    ProtocolOperation(
        "post",
        "/runs/wait",
        "runs_wait_stateless",
        "Run on a temporary thread, answered with its final values",
        RunCreate,
    ),
    ProtocolOperation(
        "post",
        "/runs",
        "runs_create_stateless",
        "Start a background run on a temporary thread",
        RunCreate,
    ),
    ProtocolOperation(
        "post",
        _T + "/runs/stream",
        "runs_stream",
        "Run on a thread, streamed",
        RunCreate,
        returns="stream",
    ),
    ProtocolOperation(
        "post",
        _T + "/runs/wait",
        "runs_wait",
        "Run on a thread, answered with its final values",
        RunCreate,
    ),
    ProtocolOperation(
        "post", _T + "/runs", "runs_create", "Start a background run on a thread", RunCreate
    ),
    ProtocolOperation(
        "get",
        _T + "/runs",
        "runs_list",
        "A thread's runs, newest first",
        query=(*_PAGE, _q("status", {"type": "string"})),
    ),
    ProtocolOperation("get", _R, "runs_get", "A run"),
    ProtocolOperation("delete", _R, "runs_delete", "Delete an ended run", returns="none"),
    ProtocolOperation(
        "get", _R + "/join", "runs_join", "Wait for a run; the thread's values after it"
    ),
    ProtocolOperation(
        "get",
        _R + "/stream",
        "runs_join_stream",
        "A run's events from now (or after `Last-Event-ID`)",
        returns="stream",
        query=(_q("cancel_on_disconnect", {"type": "boolean"}),),
    ),
    ProtocolOperation(
        "post",
        _R + "/cancel",
        "runs_cancel",
        "Cancel a run",
        returns="none",
        query=(_q("action", {"enum": ["interrupt", "rollback"]}), _q("wait", {"type": "integer"})),
    ),
)

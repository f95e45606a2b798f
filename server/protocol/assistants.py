"""Assistants: one per graph of `langgraph.json`, read-only, with LangGraph Server's ids.

An assistant's id is uuid5 of its graph id in LangGraph Server's namespace, and the graph id
itself is accepted wherever an assistant id is. Schemas are `validation.py`'s, built from the
graphs' own: the ones runs are checked against.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any, Final

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from server.errors import ApiError
from server.protocol.models import AssistantSearch
from server.protocol.service import protocol_of, read_body
from server.protocol.validation import graph_fields, object_fields
from server.protocol.wire import jsonable
from server.registry import EXPORTED, CompiledGraph

# LangGraph Server derives a graph's default assistant id from this namespace.
ASSISTANT_NAMESPACE: Final = uuid.UUID("6ba7b821-9dad-11d1-80b4-00c04fd430c8")
CREATED_AT: Final = "2026-01-01T00:00:00+00:00"


def assistant_id_of(graph_id: str) -> str:
    return str(uuid.uuid5(ASSISTANT_NAMESPACE, graph_id))


ASSISTANTS: Final[Mapping[str, str]] = {assistant_id_of(g): g for g in EXPORTED}


def graph_id_of(assistant_id: str) -> str:
    """The graph an assistant id (or graph id) names; 404 `assistant_not_found` otherwise."""
    if assistant_id in EXPORTED:
        return assistant_id
    graph_id = ASSISTANTS.get(assistant_id.lower())
    if graph_id is None:
        raise ApiError(404, "assistant_not_found", f"There is no assistant {assistant_id[:80]!r}.")
    return graph_id


def assistant(graph_id: str) -> dict[str, Any]:
    return {
        "assistant_id": assistant_id_of(graph_id),
        "graph_id": graph_id,
        "name": graph_id,
        "description": None,
        "config": {},
        "context": {},
        "metadata": {"created_by": "system"},
        "version": 1,
        "created_at": CREATED_AT,
        "updated_at": CREATED_AT,
    }


def schemas(graph_id: str) -> dict[str, Any]:
    """The graph's schemas, the same ones a run is checked against (`validation.py`)."""
    graph: CompiledGraph = EXPORTED[graph_id]  # type: ignore[index]
    inputs, state, context = graph_fields(graph_id)
    try:
        output = graph.get_output_jsonschema()
    except Exception:  # noqa: BLE001 - e.g. Python 3.11's typing.TypedDict: describe by field
        output = object_fields(graph.builder.output_schema, "Output").schema
    return {
        "graph_id": graph_id,
        "input_schema": inputs.schema,
        "output_schema": output,
        "state_schema": state.schema,
        "config_schema": {"title": "Config", "type": "object", "properties": {}},
        "context_schema": context.schema if context is not None else None,
    }


async def search(request: Request) -> Response:
    await protocol_of(request).caller(request, guests=True)
    body = await read_body(request, AssistantSearch)
    found = [
        assistant(graph_id)
        for graph_id in EXPORTED
        if (body.graph_id is None or body.graph_id == graph_id)
        and (body.name is None or body.name == graph_id)
        and all(
            assistant(graph_id)["metadata"].get(k) == v for k, v in (body.metadata or {}).items()
        )
    ]
    return JSONResponse(found[body.offset : body.offset + body.limit])


async def get(request: Request) -> Response:
    await protocol_of(request).caller(request, guests=True)
    return JSONResponse(assistant(graph_id_of(request.path_params["assistant_id"])))


async def get_graph(request: Request) -> Response:
    await protocol_of(request).caller(request, guests=True)
    graph_id = graph_id_of(request.path_params["assistant_id"])
    xray = request.query_params.get("xray", "false").lower() in {"1", "true"}
    drawable = EXPORTED[graph_id].get_graph(xray=xray)  # type: ignore[index]
    return JSONResponse(jsonable(drawable.to_json()))


async def get_schemas(request: Request) -> Response:
    await protocol_of(request).caller(request, guests=True)
    return JSONResponse(schemas(graph_id_of(request.path_params["assistant_id"])))


async def get_subgraphs(request: Request) -> Response:
    await protocol_of(request).caller(request, guests=True)
    graph_id_of(request.path_params["assistant_id"])
    # stemgraph's graphs have no subgraphs.
    return JSONResponse({})

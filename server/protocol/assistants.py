"""Assistants: one per graph of `langgraph.json`, read-only, with LangGraph Server's ids.

An assistant's id is uuid5 of its graph id in LangGraph Server's namespace, and the graph id
itself is accepted wherever an assistant id is. Schemas come from the graphs' own schemas; a
field whose type has no JSON form (a model router, a store) is left out: only data fields are
schema fields.
"""

from __future__ import annotations

import dataclasses
import json
import typing
import uuid
from collections.abc import Mapping
from typing import Any, Final

from pydantic import TypeAdapter
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from server.errors import ApiError
from server.protocol.models import AssistantSearch
from server.protocol.service import protocol_of, read_body
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


def _field_schemas(
    cls: Any, defs: dict[str, Any], *, data_only: bool = False
) -> tuple[dict[str, Any], list[str]]:
    """Per-field JSON schemas of a TypedDict or dataclass; fields without one are skipped, and
    with `data_only` also fields of object types (a deadline, provider settings): a run's
    context is data a caller can send, not the objects the server builds."""
    try:
        hints = typing.get_type_hints(cls)
    except Exception:  # noqa: BLE001 - unresolvable annotations: no fields to describe
        return {}, []
    if dataclasses.is_dataclass(cls):
        names = [f.name for f in dataclasses.fields(cls) if f.init]
        required = [
            f.name
            for f in dataclasses.fields(cls)
            if f.init
            and f.default is dataclasses.MISSING
            and f.default_factory is dataclasses.MISSING
        ]
    else:
        names = list(hints)
        required = sorted(getattr(cls, "__required_keys__", ()))
    properties: dict[str, Any] = {}
    for name in names:
        try:
            schema = TypeAdapter(hints[name]).json_schema(ref_template="#/$defs/{model}")
        except Exception:  # noqa: BLE001 - not data (a router, a store): not a schema field
            continue
        if data_only and "$ref" in json.dumps(schema):
            continue
        defs.update(schema.pop("$defs", {}))
        properties[name] = schema
    return properties, [name for name in required if name in properties]


def fields_schema(cls: Any, title: str, *, data_only: bool = False) -> dict[str, Any]:
    defs: dict[str, Any] = {}
    properties, required = _field_schemas(cls, defs, data_only=data_only)
    schema: dict[str, Any] = {"title": title, "type": "object", "properties": properties}
    if required:
        schema["required"] = required
    if defs:
        schema["$defs"] = defs
    return schema


def _or_fields(build: typing.Callable[[], dict[str, Any]], cls: Any, title: str) -> dict[str, Any]:
    try:
        return build()
    except Exception:  # noqa: BLE001 - e.g. Python 3.11's typing.TypedDict: describe by field
        return fields_schema(cls, title)


def schemas(graph_id: str) -> dict[str, Any]:
    graph: CompiledGraph = EXPORTED[graph_id]  # type: ignore[index]
    builder = graph.builder
    return {
        "graph_id": graph_id,
        "input_schema": _or_fields(graph.get_input_jsonschema, builder.input_schema, "Input"),
        "output_schema": _or_fields(graph.get_output_jsonschema, builder.output_schema, "Output"),
        "state_schema": fields_schema(builder.state_schema, "State"),
        "config_schema": {"title": "Config", "type": "object", "properties": {}},
        "context_schema": fields_schema(builder.context_schema, "Context", data_only=True)
        if builder.context_schema is not None
        else None,
    }


async def search(request: Request) -> Response:
    await protocol_of(request).caller(request)
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
    await protocol_of(request).caller(request)
    return JSONResponse(assistant(graph_id_of(request.path_params["assistant_id"])))


async def get_graph(request: Request) -> Response:
    await protocol_of(request).caller(request)
    graph_id = graph_id_of(request.path_params["assistant_id"])
    xray = request.query_params.get("xray", "false").lower() in {"1", "true"}
    drawable = EXPORTED[graph_id].get_graph(xray=xray)  # type: ignore[index]
    return JSONResponse(jsonable(drawable.to_json()))


async def get_schemas(request: Request) -> Response:
    await protocol_of(request).caller(request)
    return JSONResponse(schemas(graph_id_of(request.path_params["assistant_id"])))


async def get_subgraphs(request: Request) -> Response:
    await protocol_of(request).caller(request)
    graph_id_of(request.path_params["assistant_id"])
    # stemgraph's graphs have no subgraphs.
    return JSONResponse({})

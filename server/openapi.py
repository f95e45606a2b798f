"""`GET /openapi.json`: an OpenAPI 3.1 description of the routes, built from their body models.

Each `/v1` route reads one pydantic body (`server/routes/*`); its JSON Schema (2020-12, which
OpenAPI 3.1 speaks) becomes the operation's `requestBody`, and every answer is described as
the envelope. A new route is one more `Operation` in `OPERATIONS`; `tests/server/test_openapi.py`
fails while a route of the app is missing from it. Schemathesis fuzzes the API from this
document in CI.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, Final

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import JSONResponse

from server.protocol.openapi import PROTOCOL_OPERATIONS
from server.routes import (
    analytics,
    blueprints,
    chat,
    classes,
    data_query,
    flashcards,
    guests,
    llm,
    materials,
    quiz,
    teaching_brief,
    workspace,
)

REF = "#/components/schemas/{model}"


@dataclass(frozen=True, slots=True)
class Operation:
    """One POST route: its body model, what it does, who may call it, whether it can stream."""

    path: str
    body: type[BaseModel]
    summary: str
    user_token: bool = False
    streams: bool = False


_WS = "/v1/chat/workspace"
OPERATIONS: Final[tuple[Operation, ...]] = (
    Operation("/v1/llm/generate", llm.LlmGenerateBody, "One model call, with provider fallback"),
    Operation("/v1/llm/embeddings", llm.EmbeddingsBody, "1536-number embeddings per input"),
    Operation("/v1/quiz/generate", quiz.QuizBody, "A validated quiz", streams=True),
    Operation(
        "/v1/flashcards/generate", flashcards.FlashcardsBody, "A flashcard deck", streams=True
    ),
    Operation(
        "/v1/blueprints/generate",
        blueprints.BlueprintBody,
        "A course blueprint (or a draft awaiting approval)",
        streams=True,
    ),
    Operation(
        "/v1/blueprints/approve",
        blueprints.ApproveBody,
        "Approve, edit or reject a blueprint draft",
        user_token=True,
        streams=True,
    ),
    Operation("/v1/chat/generate", chat.ChatGenerateBody, "One stateless tutor turn", streams=True),
    Operation("/v1/chat/canvas", chat.CanvasBody, "A chart or diagram spec", streams=True),
    Operation(
        f"{_WS}/participants",
        workspace.ParticipantsBody,
        "A class's enrolled students",
        user_token=True,
    ),
    Operation(f"{_WS}/sessions/list", workspace.SessionsListBody, "Chat sessions", user_token=True),
    Operation(
        f"{_WS}/sessions/create", workspace.SessionCreateBody, "A new session", user_token=True
    ),
    Operation(
        f"{_WS}/sessions/rename", workspace.SessionRenameBody, "Rename a session", user_token=True
    ),
    Operation(
        f"{_WS}/sessions/archive",
        workspace.SessionArchiveBody,
        "Archive a session",
        user_token=True,
    ),
    Operation(
        f"{_WS}/messages/list",
        workspace.MessagesListBody,
        "A page of a session's messages",
        user_token=True,
    ),
    Operation(
        f"{_WS}/messages/send",
        workspace.MessagesSendBody,
        "A grounded tutor answer, saved with the question",
        user_token=True,
        streams=True,
    ),
    Operation(
        "/v1/materials/create",
        materials.MaterialCreateBody,
        "Upload a material for ingest",
        user_token=True,
    ),
    Operation(
        "/v1/materials/dispatch",
        materials.DispatchBody,
        "Queue a material's ingest",
        user_token=True,
    ),
    Operation("/v1/materials/process", materials.ProcessBody, "Run a batch of ingest jobs"),
    Operation(
        "/v1/analytics/class-insights",
        analytics.ClassInsightsBody,
        "Class insights from the database",
        streams=True,
    ),
    Operation(
        "/v1/analytics/class-teaching-brief",
        teaching_brief.TeachingBriefBody,
        "The daily teaching brief",
    ),
    Operation(
        "/v1/analytics/data-query",
        data_query.DataQueryBody,
        "A question in plain words, answered as a chart",
        user_token=True,
        streams=True,
    ),
    Operation("/v1/classes/create", classes.ClassCreateBody, "Create a class", user_token=True),
    Operation("/v1/classes/join", classes.ClassJoinBody, "Join a class", user_token=True),
    Operation(
        "/v1/guests/claim", guests.ClaimBody, "Move a guest's work to an account", user_token=True
    ),
)

_ERROR: Final[dict[str, Any]] = {
    "type": "object",
    "required": ["code", "message"],
    "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
}
_META: Final[dict[str, Any]] = {
    "type": "object",
    "required": ["request_id"],
    "properties": {"request_id": {"type": "string"}},
}
ENVELOPE_SCHEMAS: Final[dict[str, Any]] = {
    "Envelope": {
        "type": "object",
        "required": ["ok", "data", "error", "meta"],
        "properties": {
            "ok": {"const": True},
            "data": {},
            "error": {"type": "null"},
            "meta": {"$ref": "#/components/schemas/Meta"},
        },
    },
    "ErrorEnvelope": {
        "type": "object",
        "required": ["ok", "data", "error", "meta"],
        "properties": {
            "ok": {"const": False},
            "data": {},
            "error": {"$ref": "#/components/schemas/Error"},
            "meta": {"$ref": "#/components/schemas/Meta"},
        },
    },
    "Error": _ERROR,
    "Meta": _META,
}


def _json(schema_name: str) -> dict[str, Any]:
    return {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema_name}"}}}


def _responses(*, streams: bool) -> dict[str, Any]:
    ok: dict[str, Any] = {"description": "The envelope with `data`.", "content": _json("Envelope")}
    if streams:
        ok["content"]["text/event-stream"] = {
            "schema": {"type": "string"},
            "description": "With `Accept: text/event-stream`: metadata, progress and token"
            " events, then one `values` event (the JSON answer's `data`) or an `error` event.",
        }
    return {
        "200": ok,
        "default": {"description": "An error in the envelope.", "content": _json("ErrorEnvelope")},
    }


def _body_schema(model: type[BaseModel], components: dict[str, Any]) -> dict[str, Any]:
    """The model's schema with its nested models moved to `components` (names must agree)."""
    schema = model.model_json_schema(ref_template=REF, mode="validation")
    for name, nested in schema.pop("$defs", {}).items():
        if components.setdefault(name, nested) != nested:
            raise ValueError(f"two different body models are both named {name!r}")
    if components.setdefault(model.__name__, schema) != schema:
        raise ValueError(f"two different body models are both named {model.__name__!r}")
    return {"$ref": REF.format(model=model.__name__)}


def _protocol_paths(components: dict[str, Any]) -> dict[str, Any]:
    """The LangGraph protocol's operations (`server/protocol`): bodies from the same models
    that validate them; successes are LangGraph Server's objects, errors the envelope."""
    paths: dict[str, Any] = {}
    for operation in PROTOCOL_OPERATIONS:
        ok: dict[str, Any] = {"description": operation.summary}
        if operation.returns == "stream":
            ok["content"] = {
                "text/event-stream": {
                    "schema": {"type": "string"},
                    "description": "`metadata` first, then the run's events in the stream modes"
                    " asked for (`event: <mode>`, `data: <json>`, `id:` when resumable).",
                }
            }
        elif operation.returns == "json":
            ok["content"] = {"application/json": {"schema": {}}}
        spec: dict[str, Any] = {
            "operationId": operation.operation_id,
            "summary": operation.summary,
            "tags": ["LangGraph protocol"],
            "security": [{"serviceKey": []}, {"serviceKey": [], "userToken": []}],
            "responses": {
                "204" if operation.returns == "none" else "200": ok,
                "default": {
                    "description": "An error in the envelope.",
                    "content": _json("ErrorEnvelope"),
                },
            },
        }
        names = [part[1:-1] for part in operation.path.split("/") if part.startswith("{")]
        parameters = [
            {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
            for name in names
        ]
        parameters += [dict(query) for query in operation.query]
        if parameters:
            spec["parameters"] = parameters
        if operation.body is not None:
            spec["requestBody"] = {
                "required": operation.body_required,
                "content": {
                    "application/json": {"schema": _body_schema(operation.body, components)}
                },
            }
        paths.setdefault(operation.path, {})[operation.method] = spec
    return paths


def build_document(operations: tuple[Operation, ...] = OPERATIONS) -> dict[str, Any]:
    """The OpenAPI 3.1 document for `operations` (plus `GET /healthz` and the protocol)."""
    components: dict[str, Any] = dict(ENVELOPE_SCHEMAS)
    paths: dict[str, Any] = {
        "/healthz": {
            "get": {
                "operationId": "healthz",
                "summary": "Store reachability and configured providers (no key needed)",
                "security": [],
                "responses": {
                    "200": {"description": "Healthy.", "content": _json("Envelope")},
                    "503": {"description": "The store is down.", "content": _json("ErrorEnvelope")},
                },
            }
        }
    }
    for operation in operations:
        required: list[dict[str, list[str]]] = [{"serviceKey": [], "userToken": []}]
        security = required if operation.user_token else [{"serviceKey": []}, *required]
        paths[operation.path] = {
            "post": {
                "operationId": operation.path.removeprefix("/v1/").replace("/", "_"),
                "summary": operation.summary,
                "security": security,
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {"schema": _body_schema(operation.body, components)}
                    },
                },
                "responses": _responses(streams=operation.streams),
            }
        }
    paths.update(_protocol_paths(components))
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "stemgraph",
            "version": "1",
            "description": "The AI runtime's HTTP API. Every /v1 answer is the envelope"
            " {ok, data, error, meta}; the LangGraph protocol (assistants, threads, runs) answers"
            " with LangGraph Server's objects, and with the envelope on errors.",
        },
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {
                "serviceKey": {"type": "apiKey", "in": "header", "name": "x-api-key"},
                "userToken": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
            },
        },
    }


@functools.cache
def _document() -> dict[str, Any]:
    return build_document()


async def openapi_json(request: Request) -> JSONResponse:
    """`GET /openapi.json` (no key needed, like `/healthz`)."""
    return JSONResponse(_document())

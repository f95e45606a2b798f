"""The `{ok, data, error, meta}` envelope every `/v1` route answers with, and the one strict JSON
encoder for everything the service sends."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any, Final

import pydantic_core
from pydantic import BaseModel
from starlette.requests import HTTPConnection
from starlette.responses import Response

from server.errors import ApiError


class UnencodableOutput(ValueError):
    """A value bound for the client is not strict JSON (NaN, infinity, unpaired surrogate)."""


_PLAIN: Final = frozenset({str, int, bool, type(None)})


def _finite(value: Any) -> bool:
    """No float in `value` (through dicts, lists and pydantic models) is NaN or infinite."""
    kind = type(value)
    if kind in _PLAIN:
        return True
    if kind is float:
        return math.isfinite(value)
    if kind is dict:
        value = value.values()
    elif kind is not list and kind is not tuple:
        # Models, subclasses and other mappings: the rare, slower checks.
        if isinstance(value, BaseModel):
            return _finite(value.__dict__) and _finite(value.__pydantic_extra__)
        if isinstance(value, float):
            return math.isfinite(value)
        if isinstance(value, Mapping):
            value = value.values()
        elif not isinstance(value, list | tuple):
            return True
    for item in value:  # noqa: SIM110 - a plain loop: no generator per container
        if not _finite(item):
            return False
    return True


def encode_json_bytes(data: Any) -> bytes:
    """Strict, compact UTF-8 JSON; `UnencodableOutput` otherwise. Pydantic models (a message
    chunk) are encoded as their `model_dump()` would be, without building that dict.

    pydantic-core's encoder (Rust, about 6× the stdlib's `json` on a message chunk and its
    `model_dump`) refuses unpaired surrogates but writes non-finite floats as `null`, as orjson
    does: a walk over the value refuses those first, as the stdlib's `allow_nan=False` would.
    """
    if not _finite(data):
        raise UnencodableOutput("The answer could not be encoded as JSON: a number is not finite")
    try:
        return pydantic_core.to_json(data)
    except (pydantic_core.PydanticSerializationError, ValueError, TypeError) as error:
        raise UnencodableOutput(f"The answer could not be encoded as JSON: {error}") from None


def encode_json(data: Any) -> str:
    """`encode_json_bytes` as text."""
    return encode_json_bytes(data).decode("utf-8")


def request_id_of(conn: HTTPConnection) -> str:
    """The request id the edge middleware assigned (the caller's, or a fresh UUID)."""
    return str(conn.scope.get("state", {}).get("request_id", ""))


def envelope(
    *, ok: bool, data: Any = None, error: ApiError | None = None, request_id: str
) -> dict[str, Any]:
    return {
        "ok": ok,
        "data": data,
        "error": {"message": error.message, "code": error.code} if error else None,
        "meta": {"request_id": request_id},
    }


def json_response(content: bytes, status: int = 200) -> Response:
    return Response(content, status_code=status, media_type="application/json")


def ok_encoded(conn: HTTPConnection, data: bytes, status: int = 200) -> Response:
    """The success envelope around `data`, already encoded by `encode_json_bytes` (the JSON
    route checks its data encodes before it counts as a success: no second encoding)."""
    request_id = json.dumps(request_id_of(conn))
    return json_response(
        b'{"ok":true,"data":%b,"error":null,"meta":{"request_id":%b}}'
        % (data, request_id.encode()),
        status,
    )


def ok_response(conn: HTTPConnection, data: Any, status: int = 200) -> Response:
    return ok_encoded(conn, encode_json_bytes(data), status)


def error_response(request_id: str, error: ApiError) -> Response:
    return json_response(
        encode_json_bytes(envelope(ok=False, error=error, request_id=request_id)), error.status
    )

"""The `{ok, data, error, meta}` envelope every `/v1` route answers with, and the one strict JSON
encoder for everything the service sends."""

from __future__ import annotations

import json
from typing import Any

import pydantic_core
from starlette.requests import HTTPConnection
from starlette.responses import Response

from server.errors import ApiError


class UnencodableOutput(ValueError):
    """A value bound for the client is not strict JSON (NaN, infinity, unpaired surrogate)."""


def _unencodable(error: Exception) -> UnencodableOutput:
    return UnencodableOutput(f"The answer could not be encoded as JSON: {error}")


def encode_json_bytes(data: Any) -> bytes:
    """Strict, compact UTF-8 JSON; `UnencodableOutput` otherwise. Pydantic models (a message
    chunk) are encoded as their `model_dump()` would be, without building that dict.

    pydantic-core's encoder (Rust, 5–6× the stdlib's speed here) writes non-finite floats as
    the bare constants `NaN`/`Infinity`, so a body holding those bytes is checked again by the
    stdlib's strict encoder, which refuses a real non-finite number (the bytes may just as well
    sit inside a string). orjson would be as fast but writes NaN as `null`, silently.
    """
    try:
        raw = pydantic_core.to_json(data, inf_nan_mode="constants")
    except (pydantic_core.PydanticSerializationError, ValueError, TypeError) as error:
        raise _unencodable(error) from None
    if b"NaN" in raw or b"Infinity" in raw:
        try:
            plain = pydantic_core.to_jsonable_python(data, inf_nan_mode="constants")
            json.dumps(plain, allow_nan=False)
        except (ValueError, TypeError) as error:
            raise _unencodable(error) from None
    return raw


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

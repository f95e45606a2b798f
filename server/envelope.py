"""The `{ok, data, error, meta}` envelope every `/v1` route answers with."""

from __future__ import annotations

from typing import Any

from starlette.requests import HTTPConnection
from starlette.responses import JSONResponse

from server.errors import ApiError


def request_id_of(conn: HTTPConnection) -> str:
    """The request id the request-id middleware assigned (the caller's, or a fresh UUID)."""
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


def ok_response(conn: HTTPConnection, data: Any, status: int = 200) -> JSONResponse:
    return JSONResponse(
        envelope(ok=True, data=data, request_id=request_id_of(conn)), status_code=status
    )


def error_response(request_id: str, error: ApiError) -> JSONResponse:
    return JSONResponse(
        envelope(ok=False, error=error, request_id=request_id), status_code=error.status
    )

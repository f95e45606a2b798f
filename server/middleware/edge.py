"""The one middleware layer every request passes: request id, body limit, error envelope,
access log and the model router's log context.

They used to be five layers, each wrapping `send` (every SSE event went through five more
function calls and header lookups). One layer reads the request headers once and wraps `send`
once. CORS, when origins are configured, is Starlette's own layer inside this one; the error
envelopes this layer answers with itself go through the same CORS rules.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from typing import Any

from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server.envelope import error_response
from server.errors import ApiError
from tools.models.router import request_id as model_request_id

access_logger = logging.getLogger("stemgraph.access")
error_logger = logging.getLogger("stemgraph.errors")

# Caller ids land in logs and headers: keep them short and printable.
_SAFE_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")


class BodyTooLarge(ApiError):
    """Raised from `receive`, so whichever layer is reading the body answers 413."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(
            413, "payload_too_large", f"The request body is over {max_bytes // 1024} KiB."
        )


def _request_headers(scope: Scope) -> tuple[str, bytes | None]:
    """The caller's `x-request-id` and `content-length`, in one pass over the raw headers."""
    given = ""
    length: bytes | None = None
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            given = value.decode("latin-1")
        elif name == b"content-length":
            length = value
    return given, length


class EdgeMiddleware:
    """Gives every request an id (the caller's `x-request-id` if short and printable, else a
    UUID) in `scope["state"]` and the response headers; refuses bodies over `max_bytes` with
    413 (a declared length at once, a chunked body as it is read); turns anything unhandled
    into a 500 `internal_error` envelope; writes one access-log line (method, path, status,
    duration, bytes: never bodies, query strings or credentials)."""

    def __init__(self, app: ASGIApp, *, max_bytes: int, cors: dict[str, Any] | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.cors = cors

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started_at = time.perf_counter()
        given, declared = _request_headers(scope)
        request_id = given if given and _SAFE_ID.match(given) else str(uuid.uuid4())
        scope.setdefault("state", {})["request_id"] = request_id
        id_header = (b"x-request-id", request_id.encode("latin-1"))
        status = 500
        sent = 0
        started = False
        received = 0
        max_bytes = self.max_bytes

        async def edge_send(message: Message) -> None:
            nonlocal status, sent, started
            if message["type"] == "http.response.body":
                sent += len(message.get("body", b""))
            elif message["type"] == "http.response.start":
                started = True
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), id_header]
            await send(message)

        async def counted_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > max_bytes:
                    raise BodyTooLarge(max_bytes)
            return message

        token = model_request_id.set(request_id)
        try:
            if declared is not None and declared.isdigit() and int(declared) > max_bytes:
                await self._answer(BodyTooLarge(max_bytes), scope, receive, edge_send)
                return
            try:
                await self.app(scope, counted_receive, edge_send)
            except Exception as error:
                if isinstance(error, ApiError):
                    api_error = error
                else:
                    error_logger.exception("unhandled error", extra={"request_id": request_id})
                    api_error = ApiError(500, "internal_error", "Something went wrong on our side.")
                if started:
                    # Headers are out; the connection is all that can still signal the failure.
                    raise
                await self._answer(api_error, scope, receive, edge_send)
        finally:
            model_request_id.reset(token)
            if access_logger.isEnabledFor(logging.INFO):
                access_logger.info(
                    "request",
                    extra={
                        "request_id": request_id,
                        "method": scope["method"],
                        "path": scope["path"],
                        "status": status,
                        "duration_ms": round((time.perf_counter() - started_at) * 1000, 2),
                        "response_bytes": sent,
                    },
                )

    async def _answer(self, error: ApiError, scope: Scope, receive: Receive, send: Send) -> None:
        response = error_response(scope["state"]["request_id"], error)
        if self.cors is None:
            await response(scope, receive, send)
        else:
            await CORSMiddleware(response, **self.cors)(scope, receive, send)

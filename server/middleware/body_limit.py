"""Refuse request bodies over the limit with 413, whether or not they declare a length."""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server.envelope import error_response
from server.errors import ApiError


class BodyTooLarge(ApiError):
    """Raised from `receive`, so whichever layer is reading the body answers 413."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(
            413, "payload_too_large", f"The request body is over {max_bytes // 1024} KiB."
        )


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            request_id = str(scope.get("state", {}).get("request_id", ""))
            await error_response(request_id, BodyTooLarge(self.max_bytes))(scope, receive, send)
            return
        received = 0
        started = False

        async def counted_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)
            return message

        async def tracked_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted_receive, tracked_send)
        except BodyTooLarge as error:
            if started:
                raise
            request_id = str(scope.get("state", {}).get("request_id", ""))
            await error_response(request_id, error)(scope, receive, send)

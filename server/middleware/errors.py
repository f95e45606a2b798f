"""Last line of defence: any error that escapes a route becomes a 500 in the envelope."""

from __future__ import annotations

import logging

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server.envelope import error_response
from server.errors import ApiError

logger = logging.getLogger("stemgraph.errors")


class ErrorEnvelopeMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracked_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracked_send)
        except Exception as error:
            request_id = str(scope.get("state", {}).get("request_id", ""))
            if isinstance(error, ApiError):
                api_error = error
            else:
                logger.exception("unhandled error", extra={"request_id": request_id})
                api_error = ApiError(500, "internal_error", "Something went wrong on our side.")
            if started:
                # Headers are out; the connection is all that can still signal the failure.
                raise
            await error_response(request_id, api_error)(scope, receive, send)

"""LangGraph Server's wire format: state and stream data as JSON, SSE frames, stream responses.

Frames are `event: <name>\\ndata: <json>\\n` plus `id: <event id>\\n` for resumable runs, ended
by a blank line; idle streams get `: heartbeat` comments. Interrupts are JSON objects
`{"value", "id"}`, never reprs.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any

import anyio
from langchain_core.messages import BaseMessage
from langgraph.types import Interrupt
from pydantic import BaseModel
from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.types import Receive, Scope, Send

from server.protocol.manager import RunEvent
from server.streaming import encode_json

HEARTBEAT_SECONDS_DEFAULT = 15.0


def interrupt_json(value: Interrupt) -> dict[str, Any]:
    return {"value": jsonable(value.value), "id": value.id}


def jsonable(value: Any) -> Any:
    """`value` as JSON-ready data: messages and models dumped, interrupts as `{value, id}`,
    anything else without a JSON form as its string."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if value == value and value not in (float("inf"), float("-inf")) else None
    if isinstance(value, Interrupt):
        return interrupt_json(value)
    if isinstance(value, BaseMessage):
        return jsonable(value.model_dump())
    if isinstance(value, BaseModel):
        return jsonable(value.model_dump(mode="json"))
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(item) for item in value]
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    return str(value)


def dumps(value: Any) -> str:
    """Strict JSON text of `jsonable(value)`."""
    return encode_json(jsonable(value))


def frame(event: RunEvent, *, with_id: bool) -> bytes:
    text = f"event: {event.event}\ndata: {event.data}\n"
    if with_id:
        text += f"id: {event.id}\n"
    return (text + "\n").encode("utf-8")


def _heartbeat() -> ServerSentEvent:
    return ServerSentEvent(comment="heartbeat", sep="\n")


class RunStreamResponse(EventSourceResponse):
    """An SSE response over a run's events. `on_close` runs once the response is over however
    it ends (the stream's end, the client leaving, even before the first event), shielded."""

    def __init__(
        self,
        events: AsyncIterator[RunEvent],
        *,
        with_ids: bool,
        headers: Mapping[str, str],
        on_close: Callable[[], Awaitable[None]] | None = None,
        heartbeat_seconds: float = HEARTBEAT_SECONDS_DEFAULT,
    ) -> None:
        self._on_close = on_close
        self._events = events

        async def frames() -> AsyncIterator[bytes]:
            async for event in events:
                yield frame(event, with_id=with_ids)

        super().__init__(
            frames(),
            ping=heartbeat_seconds,
            sep="\n",
            ping_message_factory=_heartbeat,
            send_timeout=30,
            headers={"cache-control": "no-store", **headers},
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            if self._on_close is not None:
                with anyio.CancelScope(shield=True):
                    await self._on_close()

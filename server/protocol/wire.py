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
from typing import Any, Final

import anyio
import pydantic_core
from langchain_core.messages import BaseMessage
from langgraph.types import Interrupt
from pydantic import BaseModel
from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.types import Receive, Scope, Send

from server.envelope import UnencodableOutput
from server.protocol.manager import RunEvent

HEARTBEAT_SECONDS_DEFAULT = 15.0


def interrupt_json(value: Interrupt) -> dict[str, Any]:
    return {"value": jsonable(value.value), "id": value.id}


_SCALARS: Final = frozenset({str, int, bool, type(None)})
_INF: Final = (float("inf"), float("-inf"))


def jsonable(value: Any) -> Any:
    """`value` as JSON-ready data: messages and models dumped, interrupts as `{value, id}`,
    non-finite numbers as null, anything else without a JSON form as its string."""
    kind = type(value)
    # Exact types first: the common case costs a set lookup, not an `isinstance` chain.
    if kind in _SCALARS:
        return value
    if kind is dict:
        return {
            key if type(key) is str else str(key): jsonable(item) for key, item in value.items()
        }
    if kind is list or kind is tuple:
        return [jsonable(item) for item in value]
    if kind is float:
        return value if value == value and value not in _INF else None
    return _jsonable_other(value)


def _jsonable_other(value: Any) -> Any:
    if isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if value == value and value not in _INF else None
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


def _plain(value: Any) -> bool:
    """`value` is already what `jsonable` would make of it, as pydantic-core encodes it: only
    exact dicts with string keys, lists, tuples, strings, ints, bools, None and finite floats."""
    kind = type(value)
    if kind in _SCALARS:
        return True
    if kind is dict:
        for key, item in value.items():  # noqa: SIM110 - as below
            if type(key) is not str or not _plain(item):
                return False
        return True
    if kind is list or kind is tuple:
        for item in value:  # noqa: SIM110 - a plain loop: no generator per container
            if not _plain(item):
                return False
        return True
    if kind is float:
        return value == value and value not in _INF
    return False


def _to_json(value: Any) -> bytes:
    try:
        return pydantic_core.to_json(value)
    except (pydantic_core.PydanticSerializationError, ValueError, TypeError) as error:
        # An unpaired surrogate: the run fails cleanly instead of sending invalid JSON.
        raise UnencodableOutput(f"The answer could not be encoded as JSON: {error}") from None


def dumps(value: Any) -> bytes:
    """Strict, compact UTF-8 JSON of `jsonable(value)`, in one pass when `value` is plain data
    already. `jsonable` leaves no non-finite float, so the envelope's strict walk is not
    repeated; an unpaired surrogate raises `UnencodableOutput`."""
    return _to_json(value if _plain(value) else jsonable(value))


def dumps_message(message: Any) -> bytes:
    """`dumps(message)` for a message (a streamed chunk): pydantic-core encodes it straight
    from the model, as `model_dump()` would lay it out, when its fields are plain data (they
    are for a model's chunks), without building that dict first."""
    if (
        isinstance(message, BaseMessage)
        and _plain(message.__dict__)
        and not message.__pydantic_extra__
    ):
        return _to_json(message)
    return dumps(message)


class MessageEncoder:
    """`messages` events' data as bytes: a model call's chunks share one metadata mapping,
    whose JSON is made once per call instead of once per token."""

    def __init__(self) -> None:
        self._metadata: Any = None
        self._metadata_json = b"null"

    def metadata(self, metadata: Any) -> bytes:
        if metadata is not self._metadata:
            self._metadata_json = dumps(metadata)
            # Holding it keeps its identity from being reused by another mapping.
            self._metadata = metadata
        return self._metadata_json

    def pair(self, chunk: Any, metadata: Any) -> bytes:
        """`[chunk, metadata]`, the SDKs' messages-tuple."""
        return b"[%b,%b]" % (dumps_message(chunk), self.metadata(metadata))


def frame(event: RunEvent, *, with_id: bool) -> bytes:
    if with_id:
        return b"event: %b\ndata: %b\nid: %b\n\n" % (
            event.event.encode(),
            event.data,
            event.id.encode(),
        )
    return b"event: %b\ndata: %b\n\n" % (event.event.encode(), event.data)


def _heartbeat() -> ServerSentEvent:
    return ServerSentEvent(comment="heartbeat", sep="\n")


class RunStreamResponse(EventSourceResponse):
    """An SSE response over a run's events (`EventLog.subscribe_batches`). `on_close` runs
    once the response is over however it ends (the stream's end, the client leaving, even
    before the first event), shielded."""

    def __init__(
        self,
        events: AsyncIterator[list[RunEvent]],
        *,
        with_ids: bool,
        headers: Mapping[str, str],
        on_close: Callable[[], Awaitable[None]] | None = None,
        heartbeat_seconds: float = HEARTBEAT_SECONDS_DEFAULT,
    ) -> None:
        self._on_close = on_close
        self._events = events

        async def frames() -> AsyncIterator[bytes]:
            # Every event already published goes out as one chunk: one send, one write.
            async for batch in events:
                yield b"".join([frame(event, with_id=with_ids) for event in batch])

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

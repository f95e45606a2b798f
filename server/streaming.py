"""A prepared run (`server/runs.py`) answered as JSON (one envelope) or as SSE in LangGraph
Server's framing."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from typing import Any

import anyio
from langchain_core.messages import BaseMessage
from langgraph.types import StreamMode
from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from graphs.shared.errors import GenerationError
from server.envelope import ok_response, request_id_of
from server.errors import ApiError
from server.runs import Cleanup, GraphRun, run_to_completion

_MAX_UPDATE_TEXT = 400
_STREAM_MODES: list[StreamMode] = ["values", "updates", "custom", "messages"]


def wants_stream(request: Request) -> bool:
    """SSE only when asked for; the web app's `*/*` gets JSON."""
    return "text/event-stream" in request.headers.get("accept", "").lower()


async def run_json(request: Request, run: GraphRun) -> Response:
    """Run to completion and answer with the envelope (unexpected errors become a 500)."""
    try:
        data = await run_to_completion(run)
    except (GenerationError, ApiError) as error:
        raise run.failure(error) from None
    return ok_response(request, data)


def _jsonable(value: Any) -> Any:
    if isinstance(value, BaseMessage):
        return value.model_dump()
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, str) and len(value) > _MAX_UPDATE_TEXT:
        # Progress events carry the shape of an update, not whole materials.
        return value[:_MAX_UPDATE_TEXT] + "…"
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def _message_metadata(metadata: Mapping[str, Any]) -> dict[str, Any]:
    keep = (
        "langgraph_node",
        "langgraph_step",
        "langgraph_triggers",
        "ls_provider",
        "ls_model_name",
    )
    return {key: _jsonable(metadata[key]) for key in keep if key in metadata}


class _Events:
    """Numbers events `<run_id>:<n>` so a client can say which one it saw last."""

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        self.count = 0

    def __call__(self, event: str, data: Any) -> ServerSentEvent:
        self.count += 1
        return ServerSentEvent(
            data=json.dumps(data, ensure_ascii=False, separators=(",", ":")),
            event=event,
            id=f"{self.run_id}:{self.count}",
        )


class _Finished:
    """Marks the end of a run's parts in the hand-off queue (with its error, if it failed)."""

    def __init__(self, error: Exception | None = None) -> None:
        self.error = error


async def _produce(run: GraphRun, queue: asyncio.Queue[Any]) -> None:
    try:
        async for part in run.astream(_STREAM_MODES):
            await queue.put(part)
    except Exception as error:  # noqa: BLE001 - handed to the consumer, which reports it
        await queue.put(_Finished(error))
        return
    await queue.put(_Finished())


class _CleanupOnce:
    """The run's cleanup, run once and shielded from cancellation: by the stream when it ends,
    or by the response when the stream never started."""

    def __init__(self, run: GraphRun) -> None:
        self.run = run
        self.done = False

    async def __call__(self, succeeded: bool) -> None:
        if self.done:
            return
        self.done = True
        if self.run.cleanup is not None:
            with anyio.CancelScope(shield=True):
                await self.run.cleanup(succeeded)


async def stream_events(
    request_id: str, run: GraphRun, cleanup: Cleanup | None = None
) -> AsyncGenerator[ServerSentEvent, None]:
    """metadata → updates/custom/messages … → values (the JSON route's data) or error."""
    finish = cleanup or _CleanupOnce(run)
    event = _Events(run.run_id)
    yield event("metadata", {"run_id": run.run_id, "attempt": 1, "request_id": request_id})
    # The run lives in its own task: when the client leaves, sse-starlette's cancel scope would
    # re-cancel every await of the graph's own clean-up, leaving node tasks running. A plain
    # task.cancel() lets LangGraph cancel its nodes (and stop calling models) properly.
    queue: asyncio.Queue[Any] = asyncio.Queue(maxsize=256)
    producer = asyncio.create_task(_produce(run, queue), name=f"run-{run.run_id}")
    last_values: Mapping[str, Any] = {}
    succeeded = False
    try:
        while not isinstance(part := await queue.get(), _Finished):
            if part["type"] == "values":
                last_values = part["data"]
            elif part["type"] == "messages":
                chunk, metadata = part["data"]
                yield event("messages", [chunk.model_dump(), _message_metadata(metadata)])
            else:
                yield event(part["type"], _jsonable(part["data"]))
        try:
            payload = await run.result(last_values if part.error is None else part.error)
        except Exception as error:  # noqa: BLE001 - reported in the stream's `error` event
            failure = run.failure(error)
            yield event(
                "error", {"error": failure.code, "code": failure.code, "message": failure.message}
            )
            return
        succeeded = True
        yield event("values", payload)
    finally:
        if not producer.done():
            producer.cancel()
        with anyio.CancelScope(shield=True):
            await asyncio.gather(producer, return_exceptions=True)
        await finish(succeeded)


class _RunStream(EventSourceResponse):
    """The SSE response for a run. A client that leaves before the first event is read leaves
    the event generator unstarted, so its `finally` never runs: the response then runs the
    run's cleanup itself (a held session lease, a guest slot, a brief left `generating`)."""

    def __init__(self, request_id: str, run: GraphRun, *, ping_seconds: float) -> None:
        self._cleanup = _CleanupOnce(run)
        self._events = stream_events(request_id, run, self._cleanup)
        super().__init__(
            self._events,
            ping=ping_seconds,
            send_timeout=30,
            headers={"x-run-id": run.run_id, "cache-control": "no-store"},
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            with anyio.CancelScope(shield=True):
                # A started stream runs its own `finally` (and the cleanup, once) here.
                await self._events.aclose()
                await self._cleanup(False)


def sse_response(request: Request, run: GraphRun, *, ping_seconds: float) -> Response:
    """The SSE response for `run`, pinging idle streams so proxies keep them open."""
    return _RunStream(request_id_of(request), run, ping_seconds=ping_seconds)


async def respond(request: Request, run: GraphRun, *, ping_seconds: float) -> Response:
    """SSE when the client asks for `text/event-stream`, else the JSON envelope."""
    if wants_stream(request):
        return sse_response(request, run, ping_seconds=ping_seconds)
    return await run_json(request, run)


async def _answer_events(
    request_id: str, answer_id: str, data: Any
) -> AsyncIterator[ServerSentEvent]:
    event = _Events(answer_id)
    yield event("metadata", {"run_id": answer_id, "attempt": 1, "request_id": request_id})
    yield event("values", data)


def respond_data(request: Request, data: Any, *, ping_seconds: float) -> Response:
    """An answer that needed no graph run (e.g. a stored teaching brief) in the same framing:
    the JSON envelope, or a stream of `metadata` (a fresh `run_id`) and one `values` event."""
    if not wants_stream(request):
        return ok_response(request, data)
    answer_id = str(uuid.uuid4())
    return EventSourceResponse(
        _answer_events(request_id_of(request), answer_id, data),
        ping=ping_seconds,
        send_timeout=30,
        headers={"x-run-id": answer_id, "cache-control": "no-store"},
    )

"""A prepared run (`server/runs.py`) answered as JSON (one envelope) or as SSE in LangGraph
Server's framing."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Mapping
from typing import Any

import anyio
from langchain_core.messages import BaseMessage
from langgraph.types import StreamMode
from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.requests import Request
from starlette.responses import Response

from graphs.shared.errors import GenerationError
from server.envelope import ok_response, request_id_of
from server.errors import ApiError
from server.runs import GraphRun, run_to_completion

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


async def stream_events(request_id: str, run: GraphRun) -> AsyncIterator[ServerSentEvent]:
    """metadata → updates/custom/messages … → values (the JSON route's data) or error."""
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
        payload: Any = None
        if part.error is None:
            try:
                payload = run.to_data(last_values)
                if run.on_success is not None:
                    await run.on_success(last_values)
            except Exception as error:  # noqa: BLE001 - reported like any other failure
                part = _Finished(error)
        if part.error is not None:
            failure = run.failure(part.error)
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
            if run.cleanup is not None:
                await run.cleanup(succeeded)


def sse_response(request: Request, run: GraphRun, *, ping_seconds: float) -> Response:
    """The SSE response for `run`, pinging idle streams so proxies keep them open."""
    return EventSourceResponse(
        stream_events(request_id_of(request), run),
        ping=ping_seconds,
        send_timeout=30,
        headers={"x-run-id": run.run_id, "cache-control": "no-store"},
    )


async def respond(request: Request, run: GraphRun, *, ping_seconds: float) -> Response:
    """SSE when the client asks for `text/event-stream`, else the JSON envelope."""
    if wants_stream(request):
        return sse_response(request, run, ping_seconds=ping_seconds)
    return await run_json(request, run)

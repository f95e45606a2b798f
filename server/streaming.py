"""A prepared run (`server/runs.py`) answered as JSON (one envelope) or as SSE in LangGraph
Server's framing.

While a run lives it is watched by guards: the server's drain (`server/shutdown.py`) ends it
with `server_shutting_down` once the grace period after SIGTERM is over, and a `Heartbeat`
(e.g. a chat session's lease) is renewed, ending the run if what it keeps is lost. Everything
sent is strict JSON: a value that cannot be encoded (NaN, an unpaired surrogate) fails the run
with a clean error instead of reaching the client as invalid JSON.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import uuid
from collections.abc import (
    AsyncGenerator,
    AsyncIterator,
    Awaitable,
    Callable,
    Coroutine,
    Mapping,
    Sequence,
)
from typing import Any, TypeVar

import anyio
from langchain_core.messages import AIMessageChunk, BaseMessage
from langchain_core.messages.ai import add_ai_message_chunks
from langgraph.types import StreamMode
from sse_starlette import EventSourceResponse
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from graphs.shared.errors import GenerationError
from server.envelope import UnencodableOutput as UnencodableOutput
from server.envelope import encode_json as encode_json
from server.envelope import encode_json_bytes, ok_encoded, ok_response, request_id_of
from server.errors import ApiError
from server.runs import Cleanup, GraphRun, run_to_completion
from server.shutdown import Shutdown
from tools.store.base import Store

logger = logging.getLogger("stemgraph.streaming")

_MAX_UPDATE_TEXT = 400
_STREAM_MODES: list[StreamMode] = ["values", "updates", "custom", "messages"]
# A send that waits this long for a client to read ends the stream (and its run); the sockets
# `server.serving` listens on abort such a client's connection after as long.
SEND_TIMEOUT_SECONDS = 30.0
# sse-starlette cuts open streams this long after it sees the exit signal; ours end first.
_SSE_CUT_MARGIN_SECONDS = 10.0

T = TypeVar("T")
Guard = Callable[[], Awaitable[None]]
"""Watches a run from the side: returns only by raising the error that must end the run."""


@dataclasses.dataclass(frozen=True, slots=True)
class Heartbeat:
    """Keeps something a run holds alive: `renew` every `interval` seconds while it runs.

    `renew` returning False means it was lost; errors are retried until nothing was renewed
    for `expires_after` seconds (by then it may be someone else's). Either ends the run with
    `lost`.
    """

    renew: Callable[[], Awaitable[bool]]
    interval: float
    expires_after: float
    lost: ApiError

    async def keep(self) -> None:
        """The guard: renew until lost, then raise `lost`."""
        loop = asyncio.get_running_loop()
        renewed_at = loop.time()
        while True:
            await asyncio.sleep(self.interval)
            try:
                if not await self.renew():
                    raise self.lost
                renewed_at = loop.time()
            except ApiError:
                raise
            except Exception:  # noqa: BLE001 - a passing database hiccup must not end the run
                logger.warning("heartbeat renewal failed", exc_info=True)
                if loop.time() - renewed_at >= self.expires_after:
                    raise self.lost from None


def session_lease_heartbeat(
    store: Store, session_id: str, token: str, *, lease_seconds: float
) -> Heartbeat:
    """Renews a chat session's send lease (`store.acquire_session`) every third of its length."""
    return Heartbeat(
        renew=lambda: store.renew_session(session_id, token, hold_seconds=lease_seconds),
        interval=lease_seconds / 3,
        expires_after=lease_seconds,
        lost=ApiError(
            409,
            "session_busy",
            "Another send took over this chat while the tutor was answering; send it again.",
        ),
    )


async def supervise(work: Coroutine[Any, Any, T], guards: Sequence[Guard]) -> T:
    """Await `work` while `guards` watch it; the first guard to raise cancels `work` (a plain
    task cancel, which LangGraph turns into cancelling its nodes) and its error is raised."""
    if not guards:
        return await work
    task = asyncio.ensure_future(work)
    watchers = [asyncio.ensure_future(guard()) for guard in guards]
    try:
        await asyncio.wait([task, *watchers], return_when=asyncio.FIRST_COMPLETED)
        if not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            tripped = next(watcher for watcher in watchers if watcher.done())
            tripped.result()
            raise RuntimeError("a run guard returned without an error")
        return task.result()
    finally:
        for pending in (task, *watchers):
            pending.cancel()
        await asyncio.gather(task, *watchers, return_exceptions=True)


def _guards(request: Request, heartbeat: Heartbeat | None) -> list[Guard]:
    guards: list[Guard] = []
    shutdown = getattr(request.state, "shutdown", None)
    if isinstance(shutdown, Shutdown):
        guards.append(shutdown.stop_runs)
    if heartbeat is not None:
        guards.append(heartbeat.keep)
    return guards


@dataclasses.dataclass(frozen=True, slots=True)
class _Encoded:
    """A run's data, already encoded (so the answer is encoded once)."""

    raw: bytes


def _strict(run: GraphRun) -> GraphRun:
    """`run` whose data is encoded before `on_success` runs (and the run counts as
    succeeded), so an answer the client can never read is a failure, not a recorded success."""

    def to_data(values: Mapping[str, Any]) -> Any:
        return _Encoded(encode_json_bytes(run.to_data(values)))

    return dataclasses.replace(run, to_data=to_data)


def _encoded(data: Any) -> bytes:
    """A `_strict` run's result as JSON (a `conclude` result is encoded here)."""
    return data.raw if isinstance(data, _Encoded) else encode_json_bytes(data)


def wants_stream(request: Request) -> bool:
    """SSE only when asked for; the web app's `*/*` gets JSON."""
    return "text/event-stream" in request.headers.get("accept", "").lower()


async def run_json(request: Request, run: GraphRun, *, guards: Sequence[Guard] = ()) -> Response:
    """Run to completion and answer with the envelope (unexpected errors become a 500)."""
    strict = _strict(run)
    try:
        data = await supervise(run_to_completion(strict), guards)
        raw = _encoded(data)
    except (GenerationError, ApiError, UnencodableOutput) as error:
        raise run.failure(error) from None
    return ok_encoded(request, raw)


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


_METADATA_KEPT = (
    "langgraph_node",
    "langgraph_step",
    "langgraph_triggers",
    "ls_provider",
    "ls_model_name",
)


def _message_metadata(metadata: Mapping[str, Any]) -> dict[str, Any]:
    return {key: _jsonable(metadata[key]) for key in _METADATA_KEPT if key in metadata}


class _Frames:
    """SSE frames as bytes, in sse-starlette's layout (`id`, `event`, `data`, blank line), each
    numbered `<run_id>:<n>` so a client can say which one it saw last. Event data is compact
    JSON, which never holds a line break, so it is always one `data:` line."""

    def __init__(self, run_id: str) -> None:
        self._id = b"id: " + run_id.encode() + b":"
        self.count = 0
        # A model call's chunks share one metadata mapping: its JSON is made once per call.
        self._metadata: Mapping[str, Any] | None = None
        self._metadata_json = b""

    def encoded(self, event: str, data: bytes) -> bytes:
        """A frame whose data is already strict JSON."""
        self.count += 1
        return b"%b%d\r\nevent: %b\r\ndata: %b\r\n\r\n" % (
            self._id,
            self.count,
            event.encode(),
            data,
        )

    def __call__(self, event: str, data: Any) -> bytes:
        return self.encoded(event, encode_json_bytes(data))

    def message(self, chunk: BaseMessage, metadata: Mapping[str, Any]) -> bytes:
        """`messages` as the SDK's messages-tuple mode: `[chunk, metadata]`."""
        if metadata is not self._metadata:
            self._metadata_json = encode_json_bytes(_message_metadata(metadata))
            self._metadata = metadata
        return self.encoded(
            "messages", b"[%b,%b]" % (encode_json_bytes(chunk), self._metadata_json)
        )

    def error(self, failure: ApiError) -> bytes:
        try:
            return self(
                "error", {"error": failure.code, "code": failure.code, "message": failure.message}
            )
        except UnencodableOutput:
            return self(
                "error", {"error": failure.code, "code": failure.code, "message": "The run failed."}
            )

    def part(self, part: Mapping[str, Any]) -> bytes:
        """One v2 stream part (`updates`, `custom`, `messages`) as its event."""
        if part["type"] == "messages":
            chunk, metadata = part["data"]
            return self.message(chunk, metadata)
        return self(part["type"], _jsonable(part["data"]))


class _Finished:
    """Marks the end of a run's parts in the hand-off queue (with its error, if it failed)."""

    def __init__(self, error: Exception | None = None) -> None:
        self.error = error


async def _pump(run: GraphRun, queue: asyncio.Queue[Any]) -> None:
    async for part in run.astream(_STREAM_MODES):
        await queue.put(part)


async def _produce(run: GraphRun, queue: asyncio.Queue[Any], guards: Sequence[Guard]) -> None:
    try:
        await supervise(_pump(run, queue), guards)
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


def _drain(queue: asyncio.Queue[Any], into: list[Any]) -> None:
    while not queue.empty():
        into.append(queue.get_nowait())


def _is_token(part: Any) -> bool:
    """A `messages` part carrying a streamed AI chunk (what coalescing may merge)."""
    return (
        not isinstance(part, _Finished)
        and part["type"] == "messages"
        and type(part["data"][0]) is AIMessageChunk
    )


def coalesce(parts: list[Any]) -> list[Any]:
    """`parts` with each run of consecutive token parts of one message (same chunk id, same
    model call) replaced by one part whose chunk is their sum: a client that concatenates
    chunks reads the same text."""
    merged: list[Any] = []
    run: list[AIMessageChunk] = []
    metadata: Any = None

    def flush() -> None:
        if run:
            chunk = run[0] if len(run) == 1 else add_ai_message_chunks(run[0], *run[1:])
            merged.append({"type": "messages", "ns": (), "data": (chunk, metadata)})
            run.clear()

    for part in parts:
        if _is_token(part):
            chunk, part_metadata = part["data"]
            if run and (chunk.id != run[0].id or part_metadata is not metadata):
                flush()
            run.append(chunk)
            metadata = part_metadata
            continue
        flush()
        merged.append(part)
    flush()
    return merged


async def stream_events(
    request_id: str,
    run: GraphRun,
    cleanup: Cleanup | None = None,
    *,
    guards: Sequence[Guard] = (),
    coalesce_ms: int = 0,
) -> AsyncGenerator[bytes, None]:
    """metadata → updates/custom/messages … → values (the JSON route's data) or error, as
    framed SSE bytes.

    Every part already waiting when the stream is read goes out in one chunk (one send, one
    socket write). With `coalesce_ms`, a token waits that long for the tokens after it, and
    the consecutive tokens of one message go out as one `messages` event (`coalesce`).
    """
    finish = cleanup or _CleanupOnce(run)
    strict = _strict(run)
    frames = _Frames(run.run_id)
    window = coalesce_ms / 1000
    yield frames("metadata", {"run_id": run.run_id, "attempt": 1, "request_id": request_id})
    # The run lives in its own task: when the client leaves, sse-starlette's cancel scope would
    # re-cancel every await of the graph's own clean-up, leaving node tasks running. A plain
    # task.cancel() lets LangGraph cancel its nodes (and stop calling models) properly.
    queue: asyncio.Queue[Any] = asyncio.Queue(maxsize=256)
    producer = asyncio.create_task(_produce(run, queue, guards), name=f"run-{run.run_id}")
    last_values: Mapping[str, Any] = {}
    succeeded = False
    finished: _Finished | None = None
    try:
        while finished is None:
            parts = [await queue.get()]
            _drain(queue, parts)
            if window and _is_token(parts[-1]):
                await asyncio.sleep(window)
                _drain(queue, parts)
                parts = coalesce(parts)
            out: list[bytes] = []
            for part in parts:
                if isinstance(part, _Finished):
                    finished = part
                    break
                if part["type"] == "values":
                    last_values = part["data"]
                    continue
                try:
                    out.append(frames.part(part))
                except UnencodableOutput as error:
                    # The run stops here (the producer is cancelled below): nothing it would
                    # still do, such as saving a chat turn, happens for an answer that cannot
                    # be sent.
                    finished = _Finished(error)
                    break
            if out:
                yield b"".join(out)
        try:
            outcome = last_values if finished.error is None else finished.error
            payload = _encoded(await strict.result(outcome))
        except Exception as error:  # noqa: BLE001 - reported in the stream's `error` event
            yield frames.error(run.failure(error))
            return
        succeeded = True
        yield frames.encoded("values", payload)
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

    def __init__(
        self,
        request_id: str,
        run: GraphRun,
        *,
        ping_seconds: float,
        guards: Sequence[Guard],
        shutdown_grace_period: float,
        coalesce_ms: int,
    ) -> None:
        self._cleanup = _CleanupOnce(run)
        self._events = stream_events(
            request_id, run, self._cleanup, guards=guards, coalesce_ms=coalesce_ms
        )
        super().__init__(
            self._events,
            ping=ping_seconds,
            send_timeout=SEND_TIMEOUT_SECONDS,
            headers={"x-run-id": run.run_id, "cache-control": "no-store"},
            shutdown_grace_period=shutdown_grace_period,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            with anyio.CancelScope(shield=True):
                # A started stream runs its own `finally` (and the cleanup, once) here.
                await self._events.aclose()
                await self._cleanup(False)


def coalesce_ms_of(request: Request) -> int:
    """The token coalescing window for this request: the body's `coalesce_ms` (recorded by
    `admit`), else the server's `STEMGRAPH_COALESCE_MS`; 0 is off."""
    asked = getattr(request.state, "coalesce_ms", None)
    if asked is not None:
        return int(asked)
    settings = getattr(getattr(request.state, "app", None), "settings", None)
    return int(getattr(settings, "coalesce_ms", 0) or 0)


def sse_response(
    request: Request, run: GraphRun, *, ping_seconds: float, guards: Sequence[Guard] = ()
) -> Response:
    """The SSE response for `run`, pinging idle streams so proxies keep them open."""
    shutdown = getattr(request.state, "shutdown", None)
    grace = shutdown.grace_seconds if isinstance(shutdown, Shutdown) else 0.0
    return _RunStream(
        request_id_of(request),
        run,
        ping_seconds=ping_seconds,
        guards=guards,
        # On SIGTERM sse-starlette would cut the stream at once, with no final event; the
        # shutdown guard ends it first, after the grace period, with `server_shutting_down`.
        shutdown_grace_period=grace + _SSE_CUT_MARGIN_SECONDS,
        coalesce_ms=coalesce_ms_of(request),
    )


async def respond(
    request: Request, run: GraphRun, *, ping_seconds: float, heartbeat: Heartbeat | None = None
) -> Response:
    """SSE when the client asks for `text/event-stream`, else the JSON envelope; either way
    the run ends at the shutdown deadline and when `heartbeat` loses what it keeps."""
    guards = _guards(request, heartbeat)
    if wants_stream(request):
        return sse_response(request, run, ping_seconds=ping_seconds, guards=guards)
    return await run_json(request, run, guards=guards)


async def _answer_events(request_id: str, answer_id: str, data: Any) -> AsyncIterator[bytes]:
    frames = _Frames(answer_id)
    yield frames("metadata", {"run_id": answer_id, "attempt": 1, "request_id": request_id})
    yield frames("values", data)


def respond_data(request: Request, data: Any, *, ping_seconds: float) -> Response:
    """An answer that needed no graph run (e.g. a stored teaching brief) in the same framing:
    the JSON envelope, or a stream of `metadata` (a fresh `run_id`) and one `values` event."""
    if not wants_stream(request):
        return ok_response(request, data)
    answer_id = str(uuid.uuid4())
    return EventSourceResponse(
        _answer_events(request_id_of(request), answer_id, data),
        ping=ping_seconds,
        send_timeout=SEND_TIMEOUT_SECONDS,
        headers={"x-run-id": answer_id, "cache-control": "no-store"},
    )

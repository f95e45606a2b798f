"""A scripted OpenAI-compatible HTTP server on loopback, for testing real provider clients.

`ChatOpenAI` and `OpenAIEmbeddings` point their `base_url` at it and talk real HTTP over a real
socket: status codes, headers, SSE framing and timeouts behave as they do against a provider.

    with OpenAIServer() as server:
        server.chat(status(429, retry_after=1), reply('{"ok": true}'))
        server.embed(embeddings(dim=3))
        ...  # point clients at server.base_url
        assert server.chat_requests[0].header("x-title") == "stemgraph"

Each endpoint (`/chat/completions`, `/embeddings`) takes its scripted behaviours in order, one per
request. A request with nothing scripted gets a 500 and is recorded in `unscripted`; leaving the
`with` block then fails the test, so an unplanned call never passes unnoticed.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import math
import random
import re
import socket
import struct
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Literal

import pytest

CHAT_PATH = "/chat/completions"
EMBEDDINGS_PATH = "/embeddings"
MODELS_PATH = "/models"
Endpoint = Literal["chat", "embeddings"]

# Upper bound on any scripted wait, so a forgotten hang cannot outlive a test run.
_MAX_WAIT_S = 120.0


# --- behaviours -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Reply:
    """A complete answer; streamed word by word when the request asks for `stream: true`."""

    text: str
    finish_reason: str = "stop"
    usage: dict[str, int] | None = None
    delay_s: float = 0.0


@dataclass(frozen=True, slots=True)
class Stream:
    """Tokens sent as SSE chunks `delay_s` apart, then an error event or a dropped connection.

    Served to a non-streaming request as one completion after the summed delay (or a 502 /
    a dropped connection for the failure variants): a slow model is slow either way.
    """

    tokens: tuple[str, ...]
    delay_s: float = 0.0
    then_error: bool = False
    then_disconnect: bool = False
    finish_reason: str = "stop"
    usage: dict[str, int] | None = None


@dataclass(frozen=True, slots=True)
class Status:
    """An error answer in OpenAI's envelope, with `Retry-After` when given."""

    code: int
    retry_after: float | None = None
    message: str | None = None


@dataclass(frozen=True, slots=True)
class Hang:
    """Read the request and answer nothing until `seconds` pass or the server stops."""

    seconds: float | None = None


@dataclass(frozen=True, slots=True)
class Embeddings:
    """One vector per input: `dim` numbers (default: the request's `dimensions`, else 1536).

    Vectors are deterministic per input text and unit length, unless `fill` sets every number.
    """

    dim: int | None = None
    fill: float | None = None


Behaviour = Reply | Stream | Status | Hang | Embeddings


def reply(
    text: str,
    *,
    finish_reason: str = "stop",
    usage: dict[str, int] | None = None,
    delay_s: float = 0.0,
) -> Reply:
    return Reply(text, finish_reason, usage, delay_s)


def finish_length(text: str) -> Reply:
    """A reply cut at the token limit (`finish_reason: length`)."""
    return Reply(text, finish_reason="length")


def stream(
    tokens: list[str] | tuple[str, ...],
    *,
    delay_s: float = 0.0,
    then_error: bool = False,
    then_disconnect: bool = False,
    finish_reason: str = "stop",
    usage: dict[str, int] | None = None,
) -> Stream:
    return Stream(tuple(tokens), delay_s, then_error, then_disconnect, finish_reason, usage)


def status(code: int, *, retry_after: float | None = None, message: str | None = None) -> Status:
    return Status(code, retry_after, message)


def hang(seconds: float | None = None) -> Hang:
    return Hang(seconds)


def embeddings(dim: int | None = None, *, fill: float | None = None) -> Embeddings:
    return Embeddings(dim, fill)


# --- what was received ------------------------------------------------------------------------


@dataclass(slots=True)
class RecordedRequest:
    """One request as it arrived; `outcome` says how the server's side of it ended."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any
    behaviour: Behaviour | None = None
    outcome: str = "pending"
    done: threading.Event = field(default_factory=threading.Event)

    def header(self, name: str) -> str | None:
        """A header's value as sent (bytes outside ASCII read as Latin-1, as HTTP/1.1 does)."""
        return self.headers.get(name.lower())

    def header_bytes(self, name: str) -> bytes | None:
        """A header's exact bytes on the wire."""
        value = self.header(name)
        return None if value is None else value.encode("latin-1")

    @property
    def json(self) -> dict[str, Any]:
        assert isinstance(self.body, dict), f"request body is not a JSON object: {self.body!r}"
        return self.body

    @property
    def streamed(self) -> bool:
        return isinstance(self.body, dict) and bool(self.body.get("stream"))

    def wait_done(self, timeout: float = 10.0) -> str:
        """Block until the server finished with this request; returns its `outcome`."""
        if not self.done.wait(timeout):
            raise AssertionError(f"{self.path} still being served after {timeout}s")
        return self.outcome


class _ClientGone(Exception):
    """The client closed the connection while the server was still writing."""


# --- the server -------------------------------------------------------------------------------


class OpenAIServer:
    """`with OpenAIServer() as server:` serves the scripted OpenAI API subset on 127.0.0.1."""

    def __init__(
        self, *, model: str = "fake-model", strict: bool = True, keep_alive: bool = False
    ) -> None:
        self.model = model
        self.strict = strict
        # Off by default: clients cached across tests (LangChain caches its httpx clients per
        # base URL) would otherwise keep pooled sockets open past the test's event loop, and
        # pytest reports them as ResourceWarnings.
        self.keep_alive = keep_alive
        self.requests: list[RecordedRequest] = []
        self.unscripted: list[RecordedRequest] = []
        self._queues: dict[Endpoint, deque[Behaviour]] = {"chat": deque(), "embeddings": deque()}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd = _HTTPServer(self)
        self.port = int(self._httpd.server_address[1])
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def base_url(self) -> str:
        """What to pass as `base_url`: the clients append `/chat/completions` themselves."""
        return f"http://127.0.0.1:{self.port}/v1"

    def chat(self, *behaviours: Behaviour) -> None:
        """Queue behaviours for the next `/chat/completions` requests, in order."""
        with self._lock:
            self._queues["chat"].extend(behaviours)

    def embed(self, *behaviours: Behaviour) -> None:
        """Queue behaviours for the next `/embeddings` requests, in order."""
        with self._lock:
            self._queues["embeddings"].extend(behaviours)

    def pending(self, endpoint: Endpoint = "chat") -> int:
        """How many scripted behaviours no request has used yet."""
        with self._lock:
            return len(self._queues[endpoint])

    @property
    def chat_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path.endswith(CHAT_PATH)]

    @property
    def embedding_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path.endswith(EMBEDDINGS_PATH)]

    def __enter__(self) -> OpenAIServer:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
        if self.strict and self.unscripted and exc_type is None:
            paths = [r.path for r in self.unscripted]
            raise AssertionError(f"requests with no scripted behaviour: {paths}")

    def stop(self) -> None:
        """Release every waiting handler, close open connections and the listening socket."""
        self._stopping.set()
        if self._thread.is_alive():
            self._httpd.shutdown()
            self._thread.join(timeout=10)
        self._httpd.close_connections()
        self._httpd.server_close()

    # Called from handler threads.

    def _next(self, endpoint: Endpoint) -> Behaviour | None:
        with self._lock:
            queue = self._queues[endpoint]
            return queue.popleft() if queue else None

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(request)

    def _unscripted(self, request: RecordedRequest) -> None:
        with self._lock:
            self.unscripted.append(request)

    def _wait(self, seconds: float) -> bool:
        """Sleep up to `seconds`; False when the server is stopping."""
        return not self._stopping.wait(min(seconds, _MAX_WAIT_S))


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    # Joined on close, after `close_connections` has woken every handler blocked on a socket.
    block_on_close = True

    def __init__(self, owner: OpenAIServer) -> None:
        self.owner = owner
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._open_lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        # Idle keep-alive connections block their handler thread in recv(); shutting the socket
        # down returns it at once.
        with self._open_lock:
            sockets = list(self._open)
        for conn in sockets:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that disconnects mid-answer is a scenario under test, not a server fault.
        pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _HTTPServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    @property
    def owner(self) -> OpenAIServer:
        return self.server.owner

    def do_GET(self) -> None:
        if self.path.rstrip("/").endswith(MODELS_PATH):
            model = {"id": self.owner.model, "object": "model", "owned_by": "stemgraph-tests"}
            self._send_json(200, {"object": "list", "data": [model]})
            return
        self._send_json(404, _error_body(404, f"no route for GET {self.path}"))

    def do_POST(self) -> None:
        length = self.headers.get("content-length")
        raw = self.rfile.read(int(length)) if length else b""
        try:
            body: Any = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode("utf-8", "replace")
        recorded = RecordedRequest(
            method="POST",
            path=self.path,
            headers={name.lower(): value for name, value in self.headers.items()},
            body=body,
        )
        self.owner._record(recorded)
        try:
            recorded.outcome = self._serve(recorded)
        except (_ClientGone, ConnectionError):
            recorded.outcome = "client_disconnected"
            self.close_connection = True
        finally:
            recorded.done.set()

    def _serve(self, recorded: RecordedRequest) -> str:
        endpoint: Endpoint
        if self.path.endswith(CHAT_PATH):
            endpoint = "chat"
        elif self.path.endswith(EMBEDDINGS_PATH):
            endpoint = "embeddings"
        else:
            self._send_json(404, _error_body(404, f"no route for POST {self.path}"))
            return "not_found"
        behaviour = self.owner._next(endpoint)
        recorded.behaviour = behaviour
        if behaviour is None or not _fits(behaviour, endpoint):
            # Counted as unscripted: the test fails when the server's `with` block ends.
            self.owner._unscripted(recorded)
            what = "nothing" if behaviour is None else type(behaviour).__name__
            self._send_json(500, _error_body(500, f"{what} scripted for {self.path}"))
            return "unscripted"
        if isinstance(behaviour, Status):
            return self._status(behaviour)
        if isinstance(behaviour, Hang):
            if not self.owner._wait(behaviour.seconds or _MAX_WAIT_S):
                return "stopped"
            self.close_connection = True
            return "hung"
        if isinstance(behaviour, Embeddings):
            return self._embeddings(behaviour, recorded.json)
        if isinstance(behaviour, Reply):
            return self._reply(behaviour, recorded)
        return self._stream(behaviour, recorded)

    # --- answers ---

    def _status(self, behaviour: Status) -> str:
        headers = {}
        if behaviour.retry_after is not None:
            headers["Retry-After"] = _number(behaviour.retry_after)
        message = behaviour.message or f"scripted status {behaviour.code}"
        self._send_json(behaviour.code, _error_body(behaviour.code, message), headers)
        return f"status_{behaviour.code}"

    def _reply(self, behaviour: Reply, recorded: RecordedRequest) -> str:
        if behaviour.delay_s and not self.owner._wait(behaviour.delay_s):
            return "stopped"
        if recorded.streamed:
            tokens = tuple(re.findall(r"\s*\S+", behaviour.text)) or ("",)
            final = Stream(tokens, finish_reason=behaviour.finish_reason, usage=behaviour.usage)
            return self._stream(final, recorded)
        completion = self._completion(recorded, behaviour.text, behaviour.finish_reason)
        completion["usage"] = behaviour.usage or _usage(recorded.json, behaviour.text)
        self._send_json(200, completion)
        return "served"

    def _stream(self, behaviour: Stream, recorded: RecordedRequest) -> str:
        text = "".join(behaviour.tokens)
        if not recorded.streamed:
            if not self.owner._wait(behaviour.delay_s * len(behaviour.tokens)):
                return "stopped"
            if behaviour.then_disconnect:
                self._drop()
                return "dropped"
            if behaviour.then_error:
                self._send_json(502, _error_body(502, "scripted upstream failure"))
                return "status_502"
            completion = self._completion(recorded, text, behaviour.finish_reason)
            completion["usage"] = behaviour.usage or _usage(recorded.json, text)
            self._send_json(200, completion)
            return "served"

        include_usage = bool((recorded.json.get("stream_options") or {}).get("include_usage"))
        base = self._completion(recorded, None, None)
        base["object"] = "chat.completion.chunk"
        if include_usage:
            base["usage"] = None

        def chunk(delta: dict[str, Any], finish_reason: str | None) -> dict[str, Any]:
            choice = {"index": 0, "delta": delta, "finish_reason": finish_reason, "logprobs": None}
            return {**base, "choices": [choice]}

        self._start_stream()
        self._event(chunk({"role": "assistant", "content": ""}, None))
        for index, token in enumerate(behaviour.tokens):
            if index and behaviour.delay_s and not self.owner._wait(behaviour.delay_s):
                self._drop()
                return "stopped"
            self._event(chunk({"content": token}, None))
        if behaviour.then_disconnect:
            self._drop()
            return "dropped"
        if behaviour.then_error:
            # OpenRouter's shape for a failure after tokens were sent: an `error` object on a
            # chunk whose choice finishes with "error".
            failed = chunk({"content": ""}, "error")
            failed["error"] = {"code": 502, "message": "scripted mid-stream failure"}
            self._event(failed)
            self._end_stream()
            return "stream_error"
        self._event(chunk({}, behaviour.finish_reason))
        if include_usage:
            usage = behaviour.usage or _usage(recorded.json, text)
            self._event({**base, "choices": [], "usage": usage})
        self._write_chunk(b"data: [DONE]\n\n")
        self._end_stream()
        return "served"

    def _embeddings(self, behaviour: Embeddings, body: dict[str, Any]) -> str:
        inputs = _inputs(body.get("input"))
        dim = behaviour.dim or int(body.get("dimensions") or 1536)
        as_base64 = body.get("encoding_format") == "base64"
        data = []
        for index, text in enumerate(inputs):
            vector = _vector(text, dim) if behaviour.fill is None else [behaviour.fill] * dim
            encoded: Any = (
                base64.b64encode(struct.pack(f"<{dim}f", *vector)).decode("ascii")
                if as_base64
                else vector
            )
            data.append({"object": "embedding", "index": index, "embedding": encoded})
        tokens = sum(len(text.split()) for text in inputs)
        self._send_json(
            200,
            {
                "object": "list",
                "data": data,
                "model": body.get("model", self.owner.model),
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
            },
        )
        return "served"

    def _completion(
        self, recorded: RecordedRequest, text: str | None, finish_reason: str | None
    ) -> dict[str, Any]:
        message = {"role": "assistant", "content": text}
        return {
            "id": f"chatcmpl-fake-{id(recorded):x}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": recorded.json.get("model") or self.owner.model,
            "choices": [
                {"index": 0, "message": message, "finish_reason": finish_reason, "logprobs": None}
            ],
        }

    # --- wire ---

    def _send_json(self, code: int, body: Any, headers: dict[str, str] | None = None) -> None:
        payload = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self._connection_header()
        self.end_headers()
        self._write(payload)

    def _start_stream(self) -> None:
        # Chunked framing, so a dropped connection is an incomplete body to the client, not a
        # normal end of stream.
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self._connection_header()
        self.end_headers()
        self._flush()

    def _connection_header(self) -> None:
        if not self.owner.keep_alive:
            self.send_header("Connection", "close")
            self.close_connection = True

    def _event(self, data: dict[str, Any]) -> None:
        self._write_chunk(f"data: {json.dumps(data)}\n\n".encode())

    def _write_chunk(self, payload: bytes) -> None:
        self._write(f"{len(payload):x}\r\n".encode() + payload + b"\r\n")

    def _end_stream(self) -> None:
        self._write(b"0\r\n\r\n")

    def _drop(self) -> None:
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def _write(self, payload: bytes) -> None:
        try:
            self.wfile.write(payload)
        except OSError as error:
            raise _ClientGone from error
        self._flush()

    def _flush(self) -> None:
        try:
            self.wfile.flush()
        except OSError as error:
            raise _ClientGone from error


# --- helpers ----------------------------------------------------------------------------------


def _error_body(code: int, message: str) -> dict[str, Any]:
    kinds = {
        400: "invalid_request_error",
        401: "authentication_error",
        403: "permission_error",
        404: "not_found_error",
        429: "rate_limit_error",
    }
    return {"error": {"message": message, "type": kinds.get(code, "server_error"), "code": code}}


def _fits(behaviour: Behaviour, endpoint: Endpoint) -> bool:
    if isinstance(behaviour, Status | Hang):
        return True
    return isinstance(behaviour, Embeddings) == (endpoint == "embeddings")


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _inputs(value: Any) -> list[str]:
    """The texts of an embeddings request (a string, strings, or token-id lists)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and value and all(isinstance(item, int) for item in value):
        return [" ".join(map(str, value))]
    if isinstance(value, list):
        return [item if isinstance(item, str) else " ".join(map(str, item)) for item in value]
    raise AssertionError(f"unexpected embeddings input: {value!r}")


def _vector(text: str, dim: int) -> list[float]:
    seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")
    rng = random.Random(seed)
    raw = [rng.gauss(0.0, 1.0) for _ in range(dim)]
    norm = math.sqrt(sum(x * x for x in raw)) or 1.0
    # Rounded to float32 so the float and base64 encodings give the same numbers.
    return [struct.unpack("<f", struct.pack("<f", x / norm))[0] for x in raw]


def _usage(body: dict[str, Any], completion: str) -> dict[str, int]:
    """Word counts stand in for tokens: enough for tests that check usage is carried through."""
    prompt = sum(
        len(str(message.get("content") or "").split()) for message in body.get("messages", [])
    )
    produced = len(completion.split())
    return {
        "prompt_tokens": prompt,
        "completion_tokens": produced,
        "total_tokens": prompt + produced,
    }


@pytest.fixture
def openai_server() -> Iterator[OpenAIServer]:
    """A fresh server per test; `pytest_plugins = ["tests.openai_server"]` in the top conftest
    makes it available everywhere."""
    with OpenAIServer() as server:
        yield server

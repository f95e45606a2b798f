"""A tiny OpenAI-compatible chat server on loopback: a real HTTP server for provider tests."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

LOOPBACK_MODEL = "loopback/quiz-1"


class LoopbackChat:
    """What the server answers (`reply`, `status`) and every request body it received."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.reply = "{}"
        self.status = 200
        self.requests: list[dict[str, Any]] = []
        self.authorizations: list[str] = []
        self.lock = threading.Lock()
        self.base_url = ""


def _handler(chat: LoopbackChat) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        # Keep-alive, as real providers do, so pooled connections are reused between calls.
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers.get("content-length", "0"))))
            if self.path != f"{chat.prefix}/v1/chat/completions":
                self._send(404, {"error": {"message": f"unexpected {self.path}", "type": "test"}})
                return
            with chat.lock:
                chat.requests.append(body)
                chat.authorizations.append(self.headers.get("authorization", ""))
                status, reply = chat.status, chat.reply
            if status != 200:
                self._send(status, {"error": {"message": "loopback failure", "type": "server"}})
                return
            if body.get("stream"):
                # The model router streams every call: one content chunk, then the usage.
                self._stream(body.get("model", LOOPBACK_MODEL), reply)
                return
            self._send(
                200,
                {
                    "id": f"chatcmpl-{uuid.uuid4().hex[:8]}",
                    "object": "chat.completion",
                    "created": 0,
                    "model": body.get("model", LOOPBACK_MODEL),
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": reply},
                            "finish_reason": "stop",
                        }
                    ],
                    "usage": {"prompt_tokens": 100, "completion_tokens": 50, "total_tokens": 150},
                },
            )

        def _stream(self, model: str, reply: str) -> None:
            base = {"id": "chatcmpl-loopback", "object": "chat.completion.chunk", "created": 0}
            usage = {"prompt_tokens": 100, "completion_tokens": 50, "total_tokens": 150}
            chunks = [
                {"choices": [{"index": 0, "delta": {"role": "assistant", "content": reply}}]},
                {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
                {"choices": [], "usage": usage},
            ]
            data = b"".join(
                b"data: " + json.dumps({**base, "model": model, **c}).encode() + b"\n\n"
                for c in chunks
            )
            data += b"data: [DONE]\n\n"
            self.send_response(200)
            self.send_header("content-type", "text/event-stream")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _send(self, status: int, document: dict[str, Any]) -> None:
            data = json.dumps(document).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # keep test output clean

    return Handler


@contextmanager
def serve_chat() -> Iterator[LoopbackChat]:
    """Serve `/<prefix>/v1/chat/completions` on 127.0.0.1 until the block ends."""
    # A unique path per server: the OpenAI SDK's HTTP clients are cached per base URL, so a
    # later server on a reused port never meets an earlier one's pooled connections.
    chat = LoopbackChat(prefix=f"/t{uuid.uuid4().hex[:8]}")
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(chat))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    chat.base_url = f"http://127.0.0.1:{server.server_address[1]}{chat.prefix}/v1"
    try:
        yield chat
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)

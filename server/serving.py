"""Serving the app: uvicorn on a listening socket made here, so every connection it accepts
cuts a client that stops reading.

sse-starlette's send timeout (`server/streaming.py`) ends a stalled client's run (its session
lease and guest slot are freed), but uvicorn then closes the connection gracefully: the bytes
it still buffers for the client wait to be read, and a client that never reads again keeps the
socket and those buffers forever. `TCP_USER_TIMEOUT` on the listening socket (inherited by each
accepted connection) makes the kernel abort a connection whose sent data the peer has not taken
for that long, including a peer that keeps announcing a zero receive window.
"""

from __future__ import annotations

import socket
from typing import Any

import uvicorn
from starlette.types import ASGIApp

from server.streaming import SEND_TIMEOUT_SECONDS


def listening_socket(
    host: str, port: int, *, stall_timeout_s: float | None = SEND_TIMEOUT_SECONDS
) -> socket.socket:
    """A TCP socket bound to `host:port` (0 picks a free port) whose connections are aborted
    once a peer has not read for `stall_timeout_s` (None leaves the kernel's default)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto IPPROTO_TCP, not 0: accepted sockets copy it, and asyncio turns Nagle's algorithm
    # off only where it is IPPROTO_TCP (with 0, small SSE writes wait for delayed ACKs, ~40 ms).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if stall_timeout_s is not None and hasattr(socket, "TCP_USER_TIMEOUT"):
            # Linux only; elsewhere a stalled client is still cut from its run, not its socket.
            sock.setsockopt(
                socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT, round(stall_timeout_s * 1000)
            )
        sock.bind((host, port))
    except BaseException:
        sock.close()
        raise
    return sock


def serve(app: ASGIApp, *, host: str, port: int, **options: Any) -> None:
    """Run `app` with uvicorn on `listening_socket(host, port)` until it is stopped; `options`
    are `uvicorn.Config`'s."""
    sock = listening_socket(host, port)
    try:
        config = uvicorn.Config(app, host=host, port=port, **options)
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        sock.close()

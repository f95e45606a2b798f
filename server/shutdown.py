"""Draining on SIGTERM: open runs get a grace period, then end with `server_shutting_down`.

uvicorn stops accepting connections on SIGTERM and waits for open requests, but the app hears
of it only when they are done (the lifespan's shutdown comes last), and sse-starlette cuts
open streams at once. So the app chains its own handler in front of the server's: it starts
the `Shutdown` clock, then lets the server do what it always does.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

from server.errors import ApiError

logger = logging.getLogger("stemgraph.shutdown")

SHUTDOWN_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def shutting_down_error() -> ApiError:
    return ApiError(
        503,
        "server_shutting_down",
        "The server is restarting and could not finish this answer; send it again.",
    )


class Shutdown:
    """The app's drain state: `begin()` starts a `grace_seconds` clock for open runs."""

    def __init__(self, grace_seconds: float) -> None:
        self.grace_seconds = grace_seconds
        self._begun = asyncio.Event()
        self._deadline = 0.0

    @property
    def begun(self) -> bool:
        return self._begun.is_set()

    def begin(self) -> None:
        """Start draining (idempotent: a second signal keeps the first deadline)."""
        if self._begun.is_set():
            return
        self._deadline = asyncio.get_running_loop().time() + self.grace_seconds
        self._begun.set()
        logger.warning("shutting down", extra={"grace_seconds": self.grace_seconds})

    async def grace_over(self) -> None:
        """Return once draining has begun and its grace period has passed."""
        await self._begun.wait()
        remaining = self._deadline - asyncio.get_running_loop().time()
        if remaining > 0:
            await asyncio.sleep(remaining)

    async def stop_runs(self) -> None:
        """A run guard: raises `server_shutting_down` when the grace period is over."""
        await self.grace_over()
        raise shutting_down_error()


def chain_signal_handlers(shutdown: Shutdown) -> Callable[[], None]:
    """Put `shutdown.begin` in front of the server's SIGTERM/SIGINT handlers; returns the undo.

    Only in the main thread (where signals are delivered) and only in front of a server's own
    handler: without one (tests serving from a thread) nothing changes.
    """
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    loop = asyncio.get_running_loop()
    previous: dict[signal.Signals, Any] = {}

    def handle(signum: int, frame: FrameType | None) -> None:
        loop.call_soon_threadsafe(shutdown.begin)
        handler = previous.get(signal.Signals(signum))
        if callable(handler):
            handler(signum, frame)

    for sig in SHUTDOWN_SIGNALS:
        current = signal.getsignal(sig)
        if callable(current) and current is not signal.default_int_handler:
            previous[sig] = current
            signal.signal(sig, handle)

    def undo() -> None:
        for sig, handler in previous.items():
            if signal.getsignal(sig) is handle:
                signal.signal(sig, handler)

    return undo

"""Wake-ups for readers of the replay log and idle queue workers.

A waiter watches a key (`replay:<run_id>`, `queue`) and is woken when someone notifies it: in
this process directly, and on Postgres from every process through `LISTEN`/`NOTIFY` on one
channel. Wake-ups only shorten waits: every waiter also re-reads on a timer, so a lost
notification (a dropped listener connection, SQLite shared by two processes) costs latency,
never correctness.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator
from typing import Any

logger = logging.getLogger("stemgraph.wakeups")

CHANNEL = "stemgraph_wakeups"
_RECONNECT_SECONDS = 1.0


class Wakeups:
    """Per-key events: `watch` a key, `notify` it; `listen_postgres` adds other processes."""

    def __init__(self) -> None:
        self._waiters: dict[str, set[asyncio.Event]] = {}
        self._listener: asyncio.Task[None] | None = None

    @contextlib.contextmanager
    def watch(self, key: str) -> Iterator[asyncio.Event]:
        """An event set by every `notify(key)` while the block runs. Clear it before reading,
        then wait on it: a notification between the read and the wait is not lost."""
        event = asyncio.Event()
        self._waiters.setdefault(key, set()).add(event)
        try:
            yield event
        finally:
            waiters = self._waiters.get(key)
            if waiters is not None:
                waiters.discard(event)
                if not waiters:
                    del self._waiters[key]

    def notify(self, key: str) -> None:
        for event in self._waiters.get(key, ()):
            event.set()

    async def listen_postgres(self, url: str) -> None:
        """Deliver `NOTIFY stemgraph_wakeups, '<key>'` from any process to this one's waiters.
        Returns once listening; the listener reconnects by itself until `aclose`."""
        from psycopg import AsyncConnection

        ready = asyncio.Event()

        async def listen() -> None:
            while True:
                try:
                    async with await AsyncConnection.connect(url, autocommit=True) as conn:
                        await conn.execute(f"LISTEN {CHANNEL}")
                        ready.set()
                        async for note in conn.notifies():
                            self.notify(note.payload)
                except asyncio.CancelledError:
                    raise
                except Exception:  # noqa: BLE001 - waiters fall back to their timers meanwhile
                    logger.warning("wake-up listener lost its connection", exc_info=True)
                    ready.set()
                await asyncio.sleep(_RECONNECT_SECONDS)

        self._listener = asyncio.create_task(listen(), name="stemgraph-wakeups")
        await ready.wait()

    async def aclose(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            await asyncio.gather(self._listener, return_exceptions=True)
            self._listener = None


async def wait(event: asyncio.Event, timeout: float) -> bool:
    """Wait for `event` up to `timeout` seconds; whether it was set."""
    # `asyncio.timeout`, not `wait_for`: on Python 3.11 the latter drops a cancel that comes as
    # the event is set (see tools/store/pool.py).
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(timeout):
            await event.wait()
    return event.is_set()


def notify_sql(key: str) -> tuple[str, dict[str, Any]]:
    """The statement that wakes `key` in every listening process once the transaction commits."""
    return "SELECT pg_notify(:channel, :key) AS sent", {"channel": CHANNEL, "key": key}

"""A psycopg connection pool that never loses a cancellation while it hands out a connection.

On Python 3.11, `asyncio.wait_for` returns the inner result instead of raising when the caller
is cancelled in the same loop iteration as the inner wait completes. psycopg_pool waits for a
connection that way, so a task cancelled just as a connection is handed to it went on as if it
had never been cancelled: a protocol run stopped by its client's disconnect kept running its
graph until the model answered. This pool notices the lost request (the task's `cancelling()`
count went up during the wait), puts the connection back and raises `CancelledError`.
"""

from __future__ import annotations

import asyncio
from typing import Any, TypeVar

from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

Conn = TypeVar("Conn", bound=AsyncConnection[Any])


class CancelSafePool(AsyncConnectionPool[Conn]):
    """`AsyncConnectionPool` whose `getconn` (and so `connection()`) honours every cancel."""

    async def getconn(self, timeout: float | None = None) -> Conn:
        task = asyncio.current_task()
        requested = task.cancelling() if task is not None else 0
        conn = await super().getconn(timeout=timeout)
        if task is not None and task.cancelling() > requested:
            # Cancelled while waiting, but the wait returned the connection: give it back.
            await self.putconn(conn)
            raise asyncio.CancelledError
        return conn

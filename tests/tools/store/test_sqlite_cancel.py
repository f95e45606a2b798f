"""A task cancelled while SQLite waits for its write lock leaves the connection usable.

aiosqlite runs `BEGIN IMMEDIATE` on its own thread, so cancelling the awaiting task does not
stop the statement: once the other writer lets go, the connection is inside a transaction that
nobody will end, and every later transaction fails ("cannot start a transaction within a
transaction").
"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from tools.store.sqlite import SqliteStore


async def test_a_transaction_cancelled_while_waiting_for_the_lock_leaves_no_transaction_open(
    tmp_path: Path,
) -> None:
    path = str(tmp_path / "store.sqlite3")
    store = await SqliteStore.open(path)
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    try:
        other.execute("BEGIN IMMEDIATE")  # another writer holds the database

        async def write() -> None:
            async with store.transaction() as db:
                await db.execute("CREATE TABLE never (x INTEGER)")

        waiting = asyncio.create_task(write())
        await asyncio.sleep(0.3)  # the BEGIN is now blocked on the busy timeout
        waiting.cancel()
        await asyncio.gather(waiting, return_exceptions=True)
        other.execute("ROLLBACK")  # the blocked BEGIN can now go through on aiosqlite's thread

        async with asyncio.timeout(10):
            async with store.transaction() as db:
                await db.execute("CREATE TABLE later (x INTEGER)")
        async with store.session() as db:
            rows = await db.query("SELECT name FROM sqlite_master WHERE name IN ('never', 'later')")
        assert [row["name"] for row in rows] == ["later"]
    finally:
        other.close()
        await store.close()

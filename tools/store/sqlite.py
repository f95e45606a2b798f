"""The embedded default: one SQLite file, WAL mode, FTS5 for lexical search."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Literal

import aiosqlite

from tools.store.base import Claims, Params, Row, Session
from tools.store.composed import SqlStore
from tools.store.migrations import migrate_sqlite


class _SqliteSession:
    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn

    async def query(self, sql: str, params: Params | None = None) -> Sequence[Row]:
        # One trip to aiosqlite's thread (execute, fetch, close there), not three.
        rows: Iterable[Any] = await self._conn.execute_fetchall(sql, dict(params or {}))
        return list(rows)

    async def execute(self, sql: str, params: Params | None = None) -> None:
        await self._conn.execute(sql, dict(params or {}))


def _dict_row(cursor: sqlite3.Cursor, row: tuple[Any, ...]) -> Row:
    """Rows as `{column: value}` (a repeated column name: the last one's value)."""
    return dict(zip([column[0] for column in cursor.description], row, strict=True))


class SqliteStore(SqlStore):
    """A store on one aiosqlite connection; a lock keeps transactions from interleaving."""

    backend: Literal["sqlite", "postgres"] = "sqlite"
    platform_database = False

    def __init__(self, conn: aiosqlite.Connection, path: str) -> None:
        super().__init__()
        self._conn = conn
        self._lock = asyncio.Lock()
        self.path = path

    @classmethod
    async def open(cls, path: str) -> SqliteStore:
        """Open (creating if needed) the database file and apply the migrations."""
        if path != ":memory:":
            # Off the event loop (file system calls block it; `langgraph dev` refuses them).
            await asyncio.to_thread(Path(path).parent.mkdir, parents=True, exist_ok=True)
        conn = await aiosqlite.connect(path, isolation_level=None)
        try:
            await conn.execute("PRAGMA journal_mode = WAL")
            await conn.execute("PRAGMA busy_timeout = 5000")
            await conn.execute("PRAGMA foreign_keys = ON")
            await migrate_sqlite(conn)
            # aiosqlite types the factory as a class; sqlite3 takes any callable.
            conn.row_factory = _dict_row  # type: ignore[assignment]
        except BaseException:
            await conn.close()
            raise
        return cls(conn, path)

    async def close(self) -> None:
        await self._conn.close()

    @asynccontextmanager
    async def session(self) -> AsyncIterator[Session]:
        async with self._lock:
            yield _SqliteSession(self._conn)

    @asynccontextmanager
    async def transaction(self, *, claims: Claims | None = None) -> AsyncIterator[Session]:
        # SQLite has no JWT-reading SQL functions: `claims` concern only Postgres.
        del claims
        async with self._lock:
            await self._begin()
            try:
                yield _SqliteSession(self._conn)
            except BaseException:
                await self._conn.execute("ROLLBACK")
                raise
            await self._conn.execute("COMMIT")

    async def _begin(self) -> None:
        """`BEGIN IMMEDIATE`, undone if this task is cancelled while it waits for the write lock.

        The statement runs on aiosqlite's thread and goes through once the other writer lets go,
        whatever happens to the awaiting task; left alone it would leave the connection inside a
        transaction that nobody ends.
        """
        begin = asyncio.ensure_future(self._conn.execute("BEGIN IMMEDIATE"))
        try:
            await asyncio.shield(begin)
        except asyncio.CancelledError:
            with contextlib.suppress(Exception):
                await begin
                await self._conn.execute("ROLLBACK")
            raise

"""The embedded default: one SQLite file, WAL mode, FTS5 for lexical search."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Literal, TypeVar, cast

import aiosqlite

from tools.store.base import Claims, Params, Row, Session
from tools.store.composed import SqlStore
from tools.store.migrations import migrate_sqlite

T = TypeVar("T")


class _SqliteSession:
    def __init__(self, conn: aiosqlite.Connection, *, begin: bool = False) -> None:
        self._conn = conn
        # A transaction's `BEGIN IMMEDIATE` goes with its first statement, in the same trip.
        self._begin = begin

    async def query(self, sql: str, params: Params | None = None) -> Sequence[Row]:
        # One trip to aiosqlite's thread (execute, fetch, close there), not three.
        bound = dict(params or {})
        if self._begin:
            self._begin = False
            return await _in_thread(self._conn, lambda raw: _begin_then(raw, sql, bound))
        rows: Iterable[Any] = await self._conn.execute_fetchall(sql, bound)
        return list(rows)

    async def execute(self, sql: str, params: Params | None = None) -> None:
        if self._begin:
            await self.query(sql, params)
            return
        await self._conn.execute(sql, dict(params or {}))


def _in_thread(conn: aiosqlite.Connection, fn: Callable[[sqlite3.Connection], T]) -> Awaitable[T]:
    """`fn(connection)` on aiosqlite's thread, in one trip however many statements it runs."""
    execute = cast(Callable[[Callable[[], T]], Awaitable[T]], conn._execute)
    return execute(lambda: fn(conn._conn))


def _begin_then(raw: sqlite3.Connection, sql: str, params: dict[str, Any]) -> list[Row]:
    raw.execute("BEGIN IMMEDIATE")
    cursor = raw.execute(sql, params)
    try:
        return list(cursor.fetchall())
    finally:
        cursor.close()


def _batch(
    raw: sqlite3.Connection, statements: Sequence[tuple[str, dict[str, Any]]]
) -> list[Sequence[Row]]:
    raw.execute("BEGIN IMMEDIATE")
    try:
        results: list[Sequence[Row]] = []
        for sql, params in statements:
            cursor = raw.execute(sql, params)
            try:
                results.append(list(cursor.fetchall()))
            finally:
                cursor.close()
    except BaseException:
        raw.execute("ROLLBACK")
        raise
    raw.execute("COMMIT")
    return results


def _end(raw: sqlite3.Connection, statement: str) -> None:
    """COMMIT or ROLLBACK if a transaction is open: the first statement (and its BEGIN) may
    never have been sent, or been refused."""
    if raw.in_transaction:
        raw.execute(statement)


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
            try:
                yield _SqliteSession(self._conn, begin=True)
            except BaseException:
                # Queued behind any statement still running on the thread (a cancelled
                # caller's BEGIN goes through once the other writer lets go): whatever that
                # opened is undone, and nothing is left inside a transaction nobody ends.
                await asyncio.shield(_in_thread(self._conn, lambda raw: _end(raw, "ROLLBACK")))
                raise
            await _in_thread(self._conn, lambda raw: _end(raw, "COMMIT"))

    async def batch(self, statements: Sequence[tuple[str, Params | None]]) -> list[Sequence[Row]]:
        # BEGIN, every statement and COMMIT (or ROLLBACK) in one trip to aiosqlite's thread,
        # which finishes it whatever happens to the awaiting task: it lands whole or not at all.
        bound = [(sql, dict(params or {})) for sql, params in statements]
        async with self._lock:
            return await asyncio.shield(_in_thread(self._conn, lambda raw: _batch(raw, bound)))

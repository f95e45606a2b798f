"""The embedded default: one SQLite file, WAL mode, FTS5 for lexical search."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Literal

import aiosqlite

from tools.store.sql import Params, Row, Session, SqlStore

# Numbered scripts, applied in order and recorded in `PRAGMA user_version`; a later change adds
# a new file (e.g. `0002_….sql` with ALTER TABLE) rather than editing an applied one.
MIGRATIONS_DIR = Path(__file__).with_name("sqlite_migrations")
_MIGRATIONS = sorted(MIGRATIONS_DIR.glob("[0-9][0-9][0-9][0-9]_*.sql"))


async def _migrate(conn: aiosqlite.Connection) -> None:
    async with conn.execute("PRAGMA user_version") as cursor:
        row = await cursor.fetchone()
    current = int(row[0]) if row else 0
    for path in _MIGRATIONS:
        version = int(path.name[:4])
        if version <= current:
            continue
        # executescript commits first; the version bump rides in the same script.
        script = path.read_text(encoding="utf-8")
        await conn.executescript(f"BEGIN;\n{script}\nPRAGMA user_version = {version};\nCOMMIT;")


class _SqliteSession:
    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn

    async def query(self, sql: str, params: Params | None = None) -> Sequence[Row]:
        async with self._conn.execute(sql, dict(params or {})) as cursor:
            columns = [column[0] for column in cursor.description or ()]
            return [dict(zip(columns, row, strict=True)) for row in await cursor.fetchall()]

    async def execute(self, sql: str, params: Params | None = None) -> None:
        await self._conn.execute(sql, dict(params or {}))


class SqliteStore(SqlStore):
    """A store on one aiosqlite connection; a lock keeps transactions from interleaving."""

    backend: Literal["sqlite", "postgres"] = "sqlite"

    def __init__(self, conn: aiosqlite.Connection, path: str) -> None:
        super().__init__()
        self._conn = conn
        self._lock = asyncio.Lock()
        self.path = path

    @classmethod
    async def open(cls, path: str) -> SqliteStore:
        """Open (creating if needed) the database file and apply the schema."""
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        conn = await aiosqlite.connect(path, isolation_level=None)
        await conn.execute("PRAGMA journal_mode = WAL")
        await conn.execute("PRAGMA busy_timeout = 5000")
        await conn.execute("PRAGMA foreign_keys = ON")
        await _migrate(conn)
        return cls(conn, path)

    async def close(self) -> None:
        await self._conn.close()

    @asynccontextmanager
    async def session(self) -> AsyncIterator[Session]:
        async with self._lock:
            yield _SqliteSession(self._conn)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Session]:
        async with self._lock:
            await self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield _SqliteSession(self._conn)
            except BaseException:
                await self._conn.execute("ROLLBACK")
                raise
            await self._conn.execute("COMMIT")

    async def _search(
        self, db: Session, class_id: str, terms: list[str], limit: int
    ) -> Sequence[Row]:
        # Quoted terms OR-ed together: FTS5 syntax characters in the query stay literal.
        match = " OR ".join('"' + term.replace('"', '""') + '"' for term in terms)
        return await db.query(
            "SELECT ch.material_id, m.title, m.source_type, ch.chunk_index, ch.section,"
            " ch.content, -bm25(material_chunks_fts, 2.0, 1.0) AS score"
            " FROM material_chunks_fts"
            " JOIN material_chunks ch ON ch.id = material_chunks_fts.rowid"
            " JOIN materials m ON m.id = ch.material_id"
            " WHERE material_chunks_fts MATCH :match AND ch.class_id = :c"
            " ORDER BY score DESC, ch.material_id, ch.chunk_index LIMIT :n",
            {"match": match, "c": class_id, "n": limit},
        )

"""Production persistence: Postgres (Supabase's database) through a psycopg connection pool."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Literal

from psycopg import AsyncConnection
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from tools.store.sql import Params, Row, Session, SqlStore

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "supabase" / "migrations"
_NAMED = re.compile(r"(?<![:\w]):([a-z_][a-z0-9_]*)")


def _to_psycopg(sql: str) -> str:
    return _NAMED.sub(r"%(\1)s", sql)


def connection_kwargs(schema: str | None) -> dict[str, Any]:
    """Connection options that pin the search path (a test run's private schema)."""
    kwargs: dict[str, Any] = {"autocommit": True}
    if schema:
        kwargs["options"] = f"-c search_path={schema}"
    return kwargs


class _PgSession:
    def __init__(self, conn: AsyncConnection[Any]) -> None:
        self._conn = conn

    async def query(self, sql: str, params: Params | None = None) -> Sequence[Row]:
        async with self._conn.cursor(row_factory=dict_row) as cursor:
            await cursor.execute(_to_psycopg(sql), dict(params or {}))
            return await cursor.fetchall()

    async def execute(self, sql: str, params: Params | None = None) -> None:
        await self._conn.execute(_to_psycopg(sql), dict(params or {}))


class PostgresStore(SqlStore):
    """A store over an async connection pool; migrations are applied on open."""

    backend: Literal["sqlite", "postgres"] = "postgres"
    # Concurrent workers skip rows another worker has locked instead of waiting or doubling up.
    _skip_locked = " FOR UPDATE SKIP LOCKED"

    def __init__(self, pool: AsyncConnectionPool[AsyncConnection[Any]]) -> None:
        super().__init__()
        self._pool = pool

    @classmethod
    async def open(
        cls, url: str, *, schema: str | None = None, max_size: int = 10
    ) -> PostgresStore:
        """Connect, create `schema` when given, and apply pending migrations."""
        if schema:
            async with await AsyncConnection.connect(url, autocommit=True) as conn:
                # IF NOT EXISTS still races between two creators; take the migration lock first.
                await conn.execute("SELECT pg_advisory_lock(hashtext('stemgraph_migrations'))")
                await conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
                await conn.execute("SELECT pg_advisory_unlock(hashtext('stemgraph_migrations'))")
        pool: AsyncConnectionPool[AsyncConnection[Any]] = AsyncConnectionPool(
            url, min_size=1, max_size=max_size, kwargs=connection_kwargs(schema), open=False
        )
        await pool.open(wait=True)
        store = cls(pool)
        try:
            await store.migrate()
        except BaseException:
            await pool.close()
            raise
        return store

    async def close(self) -> None:
        await self._pool.close()

    async def migrate(self) -> list[str]:
        """Apply every migration file not applied yet, each in its own transaction."""
        applied: list[str] = []
        async with self._pool.connection() as conn:
            # One migrator at a time, across processes.
            await conn.execute("SELECT pg_advisory_lock(hashtext('stemgraph_migrations'))")
            try:
                await conn.execute(
                    "CREATE TABLE IF NOT EXISTS stemgraph_migrations ("
                    " name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
                )
                for path in sorted(MIGRATIONS_DIR.glob("*.sql")):
                    cursor = await conn.execute(
                        "SELECT 1 FROM stemgraph_migrations WHERE name = %s", (path.name,)
                    )
                    if await cursor.fetchone():
                        continue
                    async with conn.transaction():
                        await conn.execute(path.read_text(encoding="utf-8").encode())
                        await conn.execute(
                            "INSERT INTO stemgraph_migrations (name) VALUES (%s)", (path.name,)
                        )
                    applied.append(path.name)
            finally:
                await conn.execute("SELECT pg_advisory_unlock(hashtext('stemgraph_migrations'))")
        return applied

    @asynccontextmanager
    async def session(self) -> AsyncIterator[Session]:
        async with self._pool.connection() as conn:
            yield _PgSession(conn)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Session]:
        async with self._pool.connection() as conn, conn.transaction():
            yield _PgSession(conn)

    async def _search(
        self, db: Session, class_id: str, terms: list[str], limit: int
    ) -> Sequence[Row]:
        # Each term goes through plainto_tsquery so no user text is parsed as tsquery syntax.
        params: dict[str, Any] = {"c": class_id, "n": limit}
        parts = []
        for i, term in enumerate(terms):
            params[f"t{i}"] = term
            parts.append(f"plainto_tsquery('english', :t{i})")
        tsquery = " || ".join(parts)
        return await db.query(
            "SELECT ch.material_id, m.title, m.source_type, ch.chunk_index, ch.section,"
            f" ch.content, ts_rank_cd(ch.search, q) AS score"
            f" FROM material_chunks ch JOIN materials m ON m.id = ch.material_id,"
            f" ({'SELECT ' + tsquery + ' AS q'}) query"
            " WHERE ch.class_id = :c AND ch.search @@ q"
            " ORDER BY score DESC, ch.material_id, ch.chunk_index LIMIT :n",
            params,
        )

"""Production persistence: Postgres (Supabase's database) through a psycopg connection pool."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any, Literal

from psycopg import AsyncConnection
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from tools.store.base import Claims, Params, Row, Session
from tools.store.composed import SqlStore
from tools.store.migrations import migrate_postgres
from tools.store.platform import check_platform_schema
from tools.store.pool import CancelSafePool

_NAMED = re.compile(r"(?<![:\w]):([a-z_][a-z0-9_]*)")


def _to_psycopg(sql: str) -> str:
    return _NAMED.sub(r"%(\1)s", sql)


def connection_kwargs(schema: str | None, search_path: str | None = None) -> dict[str, Any]:
    """Connection options that pin the search path: `search_path` when given, else a test
    run's private `schema`."""
    kwargs: dict[str, Any] = {"autocommit": True}
    path = search_path or schema
    if path:
        kwargs["options"] = f"-c search_path={path}"
    return kwargs


async def search_path_for(conn: AsyncConnection[Any], schema: str | None) -> str | None:
    """The search path the pool should use so pgvector's `vector` type and `<=>` resolve:
    `schema` (or the server's default path) plus the schema the `vector` extension lives in
    (`public` on a plain install, `extensions` on Supabase) when that is not already on it.
    None: the default path will do."""
    cursor = await conn.execute(
        "SELECT n.nspname, current_setting('search_path')"
        " FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace"
        " WHERE e.extname = 'vector'"
    )
    row = await cursor.fetchone()
    base = schema
    if row is None:
        return base
    extension_schema, default_path = str(row[0]), str(row[1])
    if schema == extension_schema:
        return base
    if base is None:
        cursor = await conn.execute("SELECT %s = ANY(current_schemas(false))", (extension_schema,))
        on_path = await cursor.fetchone()
        if on_path and on_path[0]:
            return None
        base = default_path
    # Without spaces: the path travels in the connection's `options`.
    parts = [part.strip() for part in f"{base},{extension_schema}".split(",") if part.strip()]
    return ",".join(parts)


class _PgSession:
    def __init__(self, conn: AsyncConnection[Any]) -> None:
        self._conn = conn

    async def query(self, sql: str, params: Params | None = None) -> Sequence[Row]:
        async with self._conn.cursor(row_factory=dict_row) as cursor:
            await cursor.execute(_to_psycopg(sql), dict(params or {}))
            # A statement without rows (no RETURNING) reads as none, as on SQLite.
            return await cursor.fetchall() if cursor.description is not None else []

    async def execute(self, sql: str, params: Params | None = None) -> None:
        await self._conn.execute(_to_psycopg(sql), dict(params or {}))


async def set_claims(conn: AsyncConnection[Any], claims: Claims) -> None:
    """Make `claims` the transaction's JWT claims, as PostgREST does for each request:
    `request.jwt.claims` (read by `auth.uid()`, `auth.role()`, `auth.jwt()`) and the older
    per-claim settings (`request.jwt.claim.sub`, `.role`) some functions still read. Local to
    the transaction (`set_config(..., true)`), so a pooled connection never keeps them."""
    await conn.execute(
        "SELECT set_config('request.jwt.claims', %s, true),"
        " set_config('request.jwt.claim.sub', %s, true),"
        " set_config('request.jwt.claim.role', %s, true)",
        (json.dumps(dict(claims)), str(claims.get("sub") or ""), str(claims.get("role") or "")),
    )


class PostgresStore(SqlStore):
    """A store over an async connection pool; migrations are applied on open."""

    backend: Literal["sqlite", "postgres"] = "postgres"

    def __init__(
        self, pool: AsyncConnectionPool[AsyncConnection[Any]], *, platform_database: bool = False
    ) -> None:
        super().__init__()
        self._pool = pool
        self.platform_database = platform_database

    @classmethod
    async def open(
        cls,
        url: str,
        *,
        schema: str | None = None,
        max_size: int = 10,
        platform_database: bool = False,
    ) -> PostgresStore:
        """Connect, create `schema` when given, and apply pending migrations (on the
        platform's own database only stemgraph's, after checking the platform's tables)."""
        async with await AsyncConnection.connect(url, autocommit=True) as conn:
            if schema:
                # IF NOT EXISTS still races between two creators; take the migration lock first.
                await conn.execute("SELECT pg_advisory_lock(hashtext('stemgraph_schema_versions'))")
                await conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
                await conn.execute(
                    "SELECT pg_advisory_unlock(hashtext('stemgraph_schema_versions'))"
                )
            search_path = await search_path_for(conn, schema)
        pool: AsyncConnectionPool[AsyncConnection[Any]] = CancelSafePool(
            url,
            min_size=1,
            max_size=max_size,
            kwargs=connection_kwargs(schema, search_path),
            open=False,
        )
        await pool.open(wait=True)
        store = cls(pool, platform_database=platform_database)
        try:
            await store.migrate()
            await store.prepare_retrieval()
        except BaseException:
            await pool.close()
            raise
        return store

    async def close(self) -> None:
        await self._pool.close()

    async def migrate(self) -> list[str]:
        """Apply every migration not applied yet; returns the files applied. On the platform's
        database, first check that every platform table and column stemgraph uses is there
        (`PlatformSchemaMissing` lists what is not)."""
        async with self._pool.connection() as conn:
            if self.platform_database:
                await check_platform_schema(conn)
            return await migrate_postgres(conn, platform_database=self.platform_database)

    @asynccontextmanager
    async def session(self) -> AsyncIterator[Session]:
        async with self._pool.connection() as conn:
            yield _PgSession(conn)

    @asynccontextmanager
    async def transaction(self, *, claims: Claims | None = None) -> AsyncIterator[Session]:
        async with self._pool.connection() as conn, conn.transaction():
            if claims is not None:
                await set_claims(conn, claims)
            yield _PgSession(conn)

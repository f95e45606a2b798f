"""Analytics tests read the platform's tables: until the stores migrate to them (i12-core), this
directory's `store` is a plain store opened on those tables, on both backends."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiosqlite
import pytest

from tests.conftest import drop_schema, fresh_schema_name, postgres_url_or_skip
from tools.store.migrations import migrate_postgres, migrate_sqlite
from tools.store.postgres import PostgresStore
from tools.store.sqlite import SqliteStore


class _PlatformPostgres(PostgresStore):
    async def migrate(self) -> list[str]:
        async with self._pool.connection() as conn:
            return await migrate_postgres(conn, platform_database=False)


@pytest.fixture
async def store(backend: str, tmp_path: Path) -> AsyncIterator[Any]:
    """A fresh database holding the platform's tables and stemgraph's own."""
    if backend == "sqlite":
        path = str(tmp_path / "platform.sqlite3")
        conn = await aiosqlite.connect(path, isolation_level=None)
        await conn.execute("PRAGMA foreign_keys = ON")
        await migrate_sqlite(conn)
        yield SqliteStore(conn, path)
        await conn.close()
        return
    url = postgres_url_or_skip()
    schema = fresh_schema_name()
    store = await _PlatformPostgres.open(url, schema=schema)
    try:
        yield store
    finally:
        await store.close()
        await drop_schema(url, schema)

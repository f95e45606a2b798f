"""Replay log and run queue fixtures: a fresh SQLite file or Postgres schema per test (and more
connections to the same database, as other processes would have), a fresh Redis key prefix."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from redis.asyncio import Redis

from server.protocol.replay import ensure_run_tables
from server.protocol.wakeups import Wakeups
from tests.conftest import drop_schema, fresh_schema_name, postgres_url_or_skip
from tools.store import Store, open_store
from tools.store.composed import SqlStore


@dataclass
class Database:
    """One test database: `open()` makes another store (its own connections) on it, as a
    second server process would; every store opened is closed at the end."""

    backend: str
    location: str
    schema: str | None
    opened: list[Store] = field(default_factory=list)
    listeners: list[Wakeups] = field(default_factory=list)

    async def open(self) -> SqlStore:
        opened = await open_store(self.location, schema=self.schema)
        self.opened.append(opened)
        assert isinstance(opened, SqlStore)
        await ensure_run_tables(opened)
        return opened

    async def wakeups(self) -> Wakeups:
        """Wake-ups as a server process has them: on Postgres, fed by LISTEN."""
        wakeups = Wakeups()
        if self.backend == "postgres":
            await wakeups.listen_postgres(self.location)
        self.listeners.append(wakeups)
        return wakeups

    async def close(self) -> None:
        for wakeups in self.listeners:
            await wakeups.aclose()
        for store in self.opened:
            await store.close()


@asynccontextmanager
async def open_database(backend: str, tmp_path: Path) -> AsyncIterator[Database]:
    """A fresh database on `backend`, removed (Postgres schema) or left in `tmp_path` after."""
    if backend == "sqlite":
        db = Database("sqlite", str(tmp_path / "runs.sqlite3"), None)
        try:
            yield db
        finally:
            await db.close()
        return
    url = postgres_url_or_skip()
    db = Database("postgres", url, fresh_schema_name())
    try:
        yield db
    finally:
        await db.close()
        await drop_schema(url, db.schema or "")


@pytest.fixture(params=["sqlite", "postgres"])
async def database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    async with open_database(str(request.param), tmp_path) as db:
        yield db


def fresh_redis_prefix() -> str:
    return f"stemgraph:replay:test:{uuid.uuid4().hex[:12]}"


async def delete_redis_prefix(url: str, prefix: str) -> None:
    client = Redis.from_url(url)
    try:
        keys = [key async for key in client.scan_iter(match=f"{prefix}:*")]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()

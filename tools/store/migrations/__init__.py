"""One migration source per backend, shipped in the package: `postgres/*.sql`, `sqlite/*.sql`.

Files are `NNNN_name.sql`. Versions below `FIRST_CORE_VERSION` are the platform's own tables
(profiles, classes, materials, blueprints, chat, snapshots, guest sandboxes…), created only in
standalone mode; from `FIRST_CORE_VERSION` on they are stemgraph's own tables, applied in both
modes. Each database records what it applied in `stemgraph_schema_versions`; a file is applied
once, in its own transaction, and a change adds a new file rather than editing an applied one.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import aiosqlite
from psycopg import AsyncConnection

Backend = Literal["postgres", "sqlite"]
ROOT = Path(__file__).resolve().parent
FIRST_CORE_VERSION = 100
VERSIONS_TABLE = "stemgraph_schema_versions"
_FILE = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")
# The island schema stemgraph had before it used the platform's tables recorded itself here.
LEGACY_TABLE = "stemgraph_migrations"


class LegacySchema(RuntimeError):
    """The database holds stemgraph's pre-platform tables, which these migrations cannot adopt."""


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    path: Path

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def platform(self) -> bool:
        """One of the platform's own tables' files (applied only in standalone mode)."""
        return self.version < FIRST_CORE_VERSION

    def sql(self) -> str:
        return self.path.read_text(encoding="utf-8")


def migrations(backend: Backend, directory: Path | None = None) -> list[Migration]:
    """The backend's migrations in version order (`directory` overrides the shipped folder)."""
    found = []
    for path in (directory or ROOT / backend).glob("*.sql"):
        match = _FILE.match(path.name)
        if not match:
            raise ValueError(f"migration file name not NNNN_name.sql: {path.name}")
        found.append(Migration(int(match.group(1)), path))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise ValueError(f"two {backend} migrations share a version number")
    return found


def to_apply(
    available: Iterable[Migration], applied: set[int], *, platform_database: bool
) -> list[Migration]:
    """What is still to run: never the platform's files on the platform's own database."""
    return [
        m for m in available if m.version not in applied and not (platform_database and m.platform)
    ]


_LOCK = "SELECT pg_advisory_lock(hashtext('stemgraph_schema_versions'))"
_UNLOCK = "SELECT pg_advisory_unlock(hashtext('stemgraph_schema_versions'))"


async def migrate_postgres(
    conn: AsyncConnection[Any],
    *,
    platform_database: bool,
    directory: Path | None = None,
) -> list[str]:
    """Apply pending Postgres migrations on an autocommit connection; returns the files run.

    An advisory lock keeps concurrent starters from applying the same file twice.
    """
    applied_now: list[str] = []
    await conn.execute(_LOCK)
    try:
        legacy = await conn.execute("SELECT to_regclass(%s) IS NOT NULL", (LEGACY_TABLE,))
        if (row := await legacy.fetchone()) and row[0]:
            raise LegacySchema(
                "this Postgres schema holds stemgraph's pre-platform tables"
                f" ({LEGACY_TABLE}); point stemgraph at a fresh schema or database"
            )
        await conn.execute(
            f"CREATE TABLE IF NOT EXISTS {VERSIONS_TABLE} (version integer PRIMARY KEY,"
            " name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        cursor = await conn.execute(f"SELECT version FROM {VERSIONS_TABLE}")
        applied = {int(r[0]) for r in await cursor.fetchall()}
        # File system reads go off the event loop (`langgraph dev` refuses blocking calls).
        available = await asyncio.to_thread(migrations, "postgres", directory)
        pending = to_apply(available, applied, platform_database=platform_database)
        for migration in pending:
            async with conn.transaction():
                # A file that must not touch the platform's tables on its database reads this.
                await conn.execute(
                    "SELECT set_config('stemgraph.platform_database', %s, true)",
                    ("true" if platform_database else "false",),
                )
                await conn.execute((await asyncio.to_thread(migration.sql)).encode())
                await conn.execute(
                    f"INSERT INTO {VERSIONS_TABLE} (version, name) VALUES (%s, %s)",
                    (migration.version, migration.name),
                )
            applied_now.append(migration.name)
    finally:
        await conn.execute(_UNLOCK)
    return applied_now


async def migrate_sqlite(conn: aiosqlite.Connection, *, directory: Path | None = None) -> list[str]:
    """Apply pending SQLite migrations (SQLite is always standalone: every file applies)."""
    async with conn.execute("PRAGMA user_version") as cursor:
        row = await cursor.fetchone()
    async with conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (VERSIONS_TABLE,)
    ) as cursor:
        tracked = await cursor.fetchone() is not None
    if not tracked and row and int(row[0]) > 0:
        raise LegacySchema(
            "this SQLite file holds stemgraph's pre-platform tables; move it aside and start"
            " with a new file (the demo class is seeded again)"
        )
    await conn.execute(
        f"CREATE TABLE IF NOT EXISTS {VERSIONS_TABLE} (version INTEGER PRIMARY KEY,"
        " name TEXT NOT NULL,"
        " applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')))"
    )
    applied_now: list[str] = []
    # File system reads go off the event loop (`langgraph dev` refuses blocking calls).
    for migration in await asyncio.to_thread(migrations, "sqlite", directory):
        # BEGIN IMMEDIATE takes the write lock before the check, so two processes opening the
        # same file apply each file once; statements run one by one inside that transaction.
        await conn.execute("BEGIN IMMEDIATE")
        try:
            async with conn.execute(
                f"SELECT 1 FROM {VERSIONS_TABLE} WHERE version = ?", (migration.version,)
            ) as cursor:
                done = await cursor.fetchone() is not None
            if not done:
                for statement in sql_statements(await asyncio.to_thread(migration.sql)):
                    await conn.execute(statement)
                await conn.execute(
                    f"INSERT INTO {VERSIONS_TABLE} (version, name) VALUES (?, ?)",
                    (migration.version, migration.name),
                )
                applied_now.append(migration.name)
        except BaseException:
            await conn.execute("ROLLBACK")
            raise
        await conn.execute("COMMIT")
    return applied_now


def sql_statements(script: str) -> list[str]:
    """A SQLite script split into complete statements (trigger bodies stay whole)."""
    statements: list[str] = []
    pending = ""
    for line in script.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            if _strip_comments(pending):
                statements.append(pending.strip())
            pending = ""
    if _strip_comments(pending):
        raise ValueError(f"incomplete SQL statement at the end of a migration: {pending!r}")
    return statements


def _strip_comments(sql: str) -> str:
    return "\n".join(line.split("--", 1)[0] for line in sql.splitlines()).strip()

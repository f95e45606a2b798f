"""The migrations of both backends: the same tables and columns, the platform's constraints,
applied once, the platform's files skipped on the platform's own database."""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import aiosqlite
import psycopg
import pytest
from psycopg import AsyncConnection

from tests.conftest import drop_schema, fresh_schema_name, postgres_url_or_skip
from tools.store.migrations import (
    FIRST_CORE_VERSION,
    LegacySchema,
    migrate_postgres,
    migrate_sqlite,
    migrations,
    sql_statements,
    to_apply,
)

# SQLite's full-text index and its shadow tables exist only there (Postgres uses to_tsvector).
SQLITE_ONLY_PREFIX = "material_chunks_fts"
# Postgres's full-text table (retrieval in SQL); SQLite keeps FTS5 above instead.
POSTGRES_ONLY = {"stemgraph_chunk_search"}
PLATFORM_TABLES = {
    "profiles",
    "classes",
    "enrollments",
    "materials",
    "material_processing_jobs",
    "material_chunks",
    "blueprints",
    "topics",
    "objectives",
    "activities",
    "assignments",
    "assignment_recipients",
    "submissions",
    "class_chat_sessions",
    "class_chat_messages",
    "class_chat_session_compactions",
    "class_insights_snapshots",
    "class_teaching_brief_snapshots",
    "guest_sandboxes",
}
# How each Postgres type is stored on SQLite (declared type there).
SQLITE_TYPE_OF = {
    "uuid": "TEXT",
    "text": "TEXT",
    "timestamp with time zone": "TEXT",
    "jsonb": "TEXT",
    "boolean": "INTEGER",
    "integer": "INTEGER",
    "bigint": "INTEGER",
    "numeric": "REAL",
    "real": "REAL",
    "bytea": "BLOB",
}
ENUMS = {"enrollment_role", "blueprint_status", "activity_type", "account_type"}

Columns = dict[str, dict[str, tuple[str, bool]]]  # table -> column -> (type, nullable)


async def sqlite_catalog(conn: aiosqlite.Connection) -> Columns:
    catalog: Columns = {}
    async with conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
    ) as cursor:
        tables = [row[0] for row in await cursor.fetchall()]
    for table in tables:
        if table.startswith(SQLITE_ONLY_PREFIX):
            continue
        async with conn.execute(f"PRAGMA table_info({table})") as cursor:
            rows = await cursor.fetchall()
        # A PRIMARY KEY column is never null even where SQLite's catalog does not say NOT NULL.
        catalog[table] = {row[1]: (row[2], not row[3] and not row[5]) for row in rows}
    return catalog


async def postgres_catalog(conn: AsyncConnection[Any], schema: str) -> Columns:
    cursor = await conn.execute(
        "SELECT table_name, column_name, data_type, udt_name, is_nullable"
        " FROM information_schema.columns WHERE table_schema = %s",
        (schema,),
    )
    catalog: Columns = {}
    for table, column, data_type, udt, nullable in await cursor.fetchall():
        if table in POSTGRES_ONLY:
            continue
        kind = udt if data_type in ("USER-DEFINED", "ARRAY") else data_type
        catalog.setdefault(table, {})[column] = (kind, nullable == "YES")
    return catalog


@pytest.fixture
async def sqlite_db(tmp_path: Path) -> AsyncIterator[aiosqlite.Connection]:
    conn = await aiosqlite.connect(str(tmp_path / "m.sqlite3"), isolation_level=None)
    await conn.execute("PRAGMA foreign_keys = ON")
    try:
        yield conn
    finally:
        await conn.close()


@pytest.fixture
async def pg_db() -> AsyncIterator[tuple[AsyncConnection[Any], str]]:
    url = postgres_url_or_skip()
    schema = fresh_schema_name()
    async with await AsyncConnection.connect(url, autocommit=True) as admin:
        await admin.execute(f'CREATE SCHEMA "{schema}"')
    conn = await AsyncConnection.connect(url, autocommit=True, options=f"-c search_path={schema}")
    try:
        yield conn, schema
    finally:
        await conn.close()
        await drop_schema(url, schema)


def test_both_backends_ship_the_same_migration_files() -> None:
    postgres = [m.name for m in migrations("postgres")]
    sqlite = [m.name for m in migrations("sqlite")]
    assert postgres == sqlite
    assert any(m.platform for m in migrations("postgres"))
    assert any(m.version >= FIRST_CORE_VERSION for m in migrations("postgres"))


def test_the_platforms_files_are_skipped_on_the_platforms_database() -> None:
    available = migrations("postgres")
    standalone = to_apply(available, set(), platform_database=False)
    platform = to_apply(available, set(), platform_database=True)
    assert standalone == available
    assert platform == [m for m in available if m.version >= FIRST_CORE_VERSION]
    assert to_apply(available, {m.version for m in available}, platform_database=False) == []


def test_scripts_split_into_whole_statements() -> None:
    script = (
        "-- a comment; with a semicolon\nCREATE TABLE t (x TEXT);\n"
        "CREATE TRIGGER g AFTER INSERT ON t BEGIN\n  UPDATE t SET x = 'a;b';\nEND;\n"
    )
    statements = sql_statements(script)
    assert len(statements) == 2
    assert statements[1].startswith("CREATE TRIGGER") and statements[1].endswith("END;")
    with pytest.raises(ValueError):
        sql_statements("CREATE TABLE t (x TEXT)")


@pytest.mark.postgres
async def test_both_backends_define_the_same_tables_and_columns(
    sqlite_db: aiosqlite.Connection, pg_db: tuple[AsyncConnection[Any], str]
) -> None:
    pg, schema = pg_db
    await migrate_sqlite(sqlite_db)
    await migrate_postgres(pg, platform_database=False)
    lite = await sqlite_catalog(sqlite_db)
    postgres = await postgres_catalog(pg, schema)

    assert set(postgres) >= PLATFORM_TABLES
    assert set(lite) == set(postgres)
    for table, columns in postgres.items():
        assert set(lite[table]) == set(columns), table
        for column, (kind, nullable) in columns.items():
            lite_kind, lite_nullable = lite[table][column]
            assert lite_nullable == nullable, (table, column)
            if kind in ENUMS:
                expected = "TEXT"
            elif column == "embedding":
                expected = "BLOB"  # vector(1536) or real[] there, float32 bytes here
            elif kind == "_uuid":
                expected = "TEXT"  # a JSON array of ids
            else:
                expected = SQLITE_TYPE_OF[kind]
            assert lite_kind == expected, (table, column, kind)


@pytest.mark.postgres
async def test_postgres_migrations_apply_once_and_record_their_versions(
    pg_db: tuple[AsyncConnection[Any], str],
) -> None:
    pg, _ = pg_db
    names = [m.name for m in migrations("postgres")]
    assert await migrate_postgres(pg, platform_database=False) == names
    assert await migrate_postgres(pg, platform_database=False) == []
    cursor = await pg.execute("SELECT version, name FROM stemgraph_schema_versions ORDER BY 1")
    assert [row[1] for row in await cursor.fetchall()] == names


async def test_sqlite_migrations_apply_once_and_record_their_versions(
    sqlite_db: aiosqlite.Connection,
) -> None:
    names = [m.name for m in migrations("sqlite")]
    assert await migrate_sqlite(sqlite_db) == names
    assert await migrate_sqlite(sqlite_db) == []
    async with sqlite_db.execute(
        "SELECT name FROM stemgraph_schema_versions ORDER BY version"
    ) as c:
        assert [row[0] for row in await c.fetchall()] == names


async def test_a_later_sqlite_migration_runs_on_an_existing_database(
    sqlite_db: aiosqlite.Connection, tmp_path: Path
) -> None:
    await migrate_sqlite(sqlite_db)
    extra = tmp_path / "more"
    extra.mkdir()
    for m in migrations("sqlite"):
        (extra / m.name).write_text(m.sql())
    (extra / "0102_nickname.sql").write_text(
        "CREATE TABLE stemgraph_nicknames (user_id TEXT PRIMARY KEY, nickname TEXT);\n"
    )
    assert await migrate_sqlite(sqlite_db, directory=extra) == ["0102_nickname.sql"]


async def test_a_failed_sqlite_migration_leaves_nothing_behind(
    sqlite_db: aiosqlite.Connection, tmp_path: Path
) -> None:
    await migrate_sqlite(sqlite_db)
    extra = tmp_path / "more"
    extra.mkdir()
    for m in migrations("sqlite"):
        (extra / m.name).write_text(m.sql())
    (extra / "0102_broken.sql").write_text(
        "CREATE TABLE stemgraph_half (x TEXT);\nINSERT INTO no_such_table VALUES (1);\n"
    )
    with pytest.raises(sqlite3.OperationalError):
        await migrate_sqlite(sqlite_db, directory=extra)
    async with sqlite_db.execute(
        "SELECT count(*) FROM sqlite_master WHERE name = 'stemgraph_half'"
    ) as cursor:
        assert (await cursor.fetchone()) == (0,)
    async with sqlite_db.execute("SELECT max(version) FROM stemgraph_schema_versions") as c:
        assert (await c.fetchone()) == (migrations("sqlite")[-1].version,)


async def test_a_pre_platform_sqlite_file_is_refused(sqlite_db: aiosqlite.Connection) -> None:
    await sqlite_db.execute("CREATE TABLE chat_sessions (id TEXT)")
    await sqlite_db.execute("PRAGMA user_version = 2")
    with pytest.raises(LegacySchema, match="pre-platform"):
        await migrate_sqlite(sqlite_db)


@pytest.mark.postgres
async def test_a_pre_platform_postgres_schema_is_refused(
    pg_db: tuple[AsyncConnection[Any], str],
) -> None:
    pg, _ = pg_db
    await pg.execute("CREATE TABLE stemgraph_migrations (name text PRIMARY KEY)")
    with pytest.raises(LegacySchema, match="pre-platform"):
        await migrate_postgres(pg, platform_database=False)


@pytest.mark.postgres
async def test_platform_mode_creates_only_stemgraphs_tables(
    pg_db: tuple[AsyncConnection[Any], str],
) -> None:
    pg, schema = pg_db
    # The platform's tables as the platform made them, then stemgraph in platform mode.
    for migration in migrations("postgres"):
        if migration.platform:
            await pg.execute(migration.sql().encode())
    before = await postgres_catalog(pg, schema)
    applied = await migrate_postgres(pg, platform_database=True)
    assert applied == [m.name for m in migrations("postgres") if not m.platform]
    after = await postgres_catalog(pg, schema)
    assert {t: after[t] for t in before} == before  # no platform table changed
    assert set(after) - set(before) == {t for t in after if t.startswith("stemgraph_")}


# The platform's constraints hold on both backends.


class Db:
    """`%s`-parameter SQL on either backend's raw connection."""

    def __init__(self, backend: str, conn: Any) -> None:
        self.backend = backend
        self.conn = conn

    async def run(self, sql: str, *params: Any) -> Sequence[Any]:
        if self.backend == "sqlite":
            async with self.conn.execute(sql.replace("%s", "?"), params) as cursor:
                return list(await cursor.fetchall())
        cursor = await self.conn.execute(sql, params)
        return list(await cursor.fetchall()) if cursor.description else []


@pytest.fixture(params=["sqlite", "postgres"])
async def db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Db]:
    if request.param == "sqlite":
        conn = await aiosqlite.connect(str(tmp_path / "c.sqlite3"), isolation_level=None)
        await conn.execute("PRAGMA foreign_keys = ON")
        await migrate_sqlite(conn)
        try:
            yield Db("sqlite", conn)
        finally:
            await conn.close()
        return
    url = postgres_url_or_skip()
    schema = fresh_schema_name()
    async with await AsyncConnection.connect(url, autocommit=True) as admin:
        await admin.execute(f'CREATE SCHEMA "{schema}"')
    pg = await AsyncConnection.connect(url, autocommit=True, options=f"-c search_path={schema}")
    try:
        await migrate_postgres(pg, platform_database=False)
        yield Db("postgres", pg)
    finally:
        await pg.close()
        await drop_schema(url, schema)


INTEGRITY = (sqlite3.IntegrityError, psycopg.IntegrityError, psycopg.errors.RaiseException)


def new_id() -> str:
    return str(uuid.uuid4())


async def a_class(db: Db) -> tuple[str, str]:
    teacher, class_id = new_id(), new_id()
    await db.run("INSERT INTO profiles (id, account_type) VALUES (%s, 'teacher')", teacher)
    await db.run(
        "INSERT INTO classes (id, owner_id, title, join_code) VALUES (%s, %s, 'Physics', %s)",
        class_id,
        teacher,
        uuid.uuid4().hex[:6].upper(),
    )
    return class_id, teacher


async def test_one_draft_and_one_published_blueprint_per_class(db: Db) -> None:
    class_id, teacher = await a_class(db)
    insert = "INSERT INTO blueprints (id, class_id, status, created_by) VALUES (%s, %s, %s, %s)"
    await db.run(insert, new_id(), class_id, "draft", teacher)
    await db.run(insert, new_id(), class_id, "published", teacher)
    await db.run(insert, new_id(), class_id, "archived", teacher)
    await db.run(insert, new_id(), class_id, "archived", teacher)
    for status in ("draft", "published"):
        with pytest.raises(INTEGRITY):
            await db.run(insert, new_id(), class_id, status, teacher)
    with pytest.raises(INTEGRITY + (psycopg.errors.InvalidTextRepresentation,)):
        await db.run(insert, new_id(), class_id, "live", teacher)


async def test_enrollment_roles_follow_the_account_type(db: Db) -> None:
    class_id, teacher = await a_class(db)
    student = new_id()
    await db.run("INSERT INTO profiles (id, account_type) VALUES (%s, 'student')", student)
    enroll = "INSERT INTO enrollments (class_id, user_id, role) VALUES (%s, %s, %s)"
    await db.run(enroll, class_id, teacher, "teacher")
    await db.run(enroll, class_id, student, "student")
    rows = await db.run("SELECT role FROM enrollments WHERE user_id = %s", student)
    assert [r[0] for r in rows] == ["student"]
    other_class, _ = await a_class(db)
    with pytest.raises(INTEGRITY):
        await db.run(enroll, other_class, student, "teacher")  # a student account never teaches
    with pytest.raises(INTEGRITY):
        await db.run(enroll, other_class, teacher, "student")  # a teacher account never learns
    with pytest.raises(INTEGRITY):
        await db.run(enroll, other_class, new_id(), "student")  # no profile
    with pytest.raises(INTEGRITY):
        await db.run(enroll, class_id, student, "student")  # one enrollment per class and user


async def test_submission_scores_are_percentages_and_attempt_numbers_unique(db: Db) -> None:
    class_id, teacher = await a_class(db)
    activity, assignment, student = new_id(), new_id(), new_id()
    await db.run(
        "INSERT INTO activities (id, class_id, type, title, status, created_by)"
        " VALUES (%s, %s, 'quiz', 'Forces', 'published', %s)",
        activity,
        class_id,
        teacher,
    )
    await db.run(
        "INSERT INTO assignments (id, class_id, activity_id, assigned_by) VALUES (%s, %s, %s, %s)",
        assignment,
        class_id,
        activity,
        teacher,
    )
    insert = (
        "INSERT INTO submissions (id, assignment_id, student_id, content, score)"
        f" VALUES (%s, %s, %s, {'%s' if db.backend == 'sqlite' else '%s::jsonb'}, %s)"
    )

    def attempt(n: int) -> str:
        return json.dumps({"mode": "quiz_attempt", "attemptNumber": n, "scorePercent": 80})

    await db.run(insert, new_id(), assignment, student, attempt(1), 80)
    await db.run(insert, new_id(), assignment, student, attempt(2), 100)
    with pytest.raises(INTEGRITY):
        await db.run(insert, new_id(), assignment, student, attempt(2), 90)
    with pytest.raises(INTEGRITY):
        await db.run(insert, new_id(), assignment, student, attempt(3), 100.5)
    # Other modes are not numbered attempts.
    chat = json.dumps({"mode": "chat_assignment", "transcript": []})
    await db.run(insert, new_id(), assignment, student, chat, None)
    await db.run(insert, new_id(), assignment, student, chat, None)
    rows = await db.run("SELECT max(score) FROM submissions WHERE student_id = %s", student)
    assert float(rows[0][0]) == 100.0


async def test_defaults_fill_what_the_web_app_leaves_out(db: Db) -> None:
    class_id, teacher = await a_class(db)
    await db.run(
        "INSERT INTO class_chat_sessions (class_id, owner_user_id) VALUES (%s, %s)",
        class_id,
        teacher,
    )
    rows = await db.run(
        "SELECT id, title, is_pinned, last_message_at FROM class_chat_sessions WHERE class_id = %s",
        class_id,
    )
    (session_id, title, pinned, last) = rows[0]
    assert uuid.UUID(str(session_id)).version == 4
    assert (title, bool(pinned)) == ("New chat", False)
    assert last is not None
    rows = await db.run(
        "SELECT join_code, ai_provider, archived FROM classes WHERE id = %s", class_id
    )
    assert rows[0][1:] == ("openrouter", False) or rows[0][1:] == ("openrouter", 0)

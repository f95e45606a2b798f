"""Platform mode on Postgres: the platform's tables are checked, never created or altered;
classes and enrollments stemgraph writes read as the web app reads them; transactions can
carry the caller's JWT claims for the platform's SQL functions."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import AsyncConnection

from tests.conftest import drop_schema, fresh_schema_name, postgres_url_or_skip
from tools.store import open_store
from tools.store.migrations import migrations
from tools.store.platform import USED, PlatformSchemaMissing, missing_platform_columns
from tools.store.postgres import PostgresStore

pytestmark = pytest.mark.postgres


def new_id() -> str:
    return str(uuid.uuid4())


@pytest.fixture
async def platform_schema() -> AsyncIterator[tuple[str, str]]:
    """A fresh schema holding the platform's tables as the platform made them (stemgraph's
    standalone files stand in for the platform's own migrations), and nothing of stemgraph's."""
    url = postgres_url_or_skip()
    schema = fresh_schema_name()
    async with await AsyncConnection.connect(
        url, autocommit=True, options=f"-c search_path={schema}"
    ) as conn:
        await conn.execute(f'CREATE SCHEMA "{schema}"')
        for migration in migrations("postgres"):
            if migration.platform:
                await conn.execute(migration.sql().encode())
    try:
        yield url, schema
    finally:
        await drop_schema(url, schema)


async def tables(url: str, schema: str) -> set[str]:
    async with await AsyncConnection.connect(url, autocommit=True) as conn:
        cursor = await conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s", (schema,)
        )
        return {str(row[0]) for row in await cursor.fetchall()}


async def test_standalone_schema_has_everything_stemgraph_uses() -> None:
    url = postgres_url_or_skip()
    schema = fresh_schema_name()
    store = await PostgresStore.open(url, schema=schema, max_size=1)
    try:
        async with await AsyncConnection.connect(
            url, autocommit=True, options=f"-c search_path={schema}"
        ) as conn:
            assert await missing_platform_columns(conn) == []
    finally:
        await store.close()
        await drop_schema(url, schema)


async def test_a_missing_column_or_table_refuses_to_start_with_the_list(
    platform_schema: tuple[str, str],
) -> None:
    url, schema = platform_schema
    async with await AsyncConnection.connect(
        url, autocommit=True, options=f"-c search_path={schema}"
    ) as conn:
        await conn.execute("ALTER TABLE materials DROP COLUMN storage_path")
        await conn.execute("ALTER TABLE class_chat_messages DROP COLUMN citations")
        await conn.execute("DROP TABLE class_insights_snapshots")
    before = await tables(url, schema)
    with pytest.raises(PlatformSchemaMissing) as refused:
        await open_store(url, schema=schema, platform_database=True)
    assert refused.value.missing == [
        "materials.storage_path",
        "class_chat_messages.citations",
        "class_insights_snapshots",
    ]
    assert "materials.storage_path" in str(refused.value)
    # Nothing was created: stemgraph stopped before its own migrations.
    assert await tables(url, schema) == before


async def test_platform_mode_leaves_the_platforms_tables_as_they_are(
    platform_schema: tuple[str, str],
) -> None:
    url, schema = platform_schema

    async def columns() -> dict[str, list[tuple[str, str]]]:
        async with await AsyncConnection.connect(url, autocommit=True) as conn:
            cursor = await conn.execute(
                "SELECT table_name, column_name, data_type FROM information_schema.columns"
                " WHERE table_schema = %s AND table_name = ANY(%s)"
                " ORDER BY table_name, ordinal_position",
                (schema, list(USED)),
            )
            found: dict[str, list[tuple[str, str]]] = {}
            for table, column, kind in await cursor.fetchall():
                found.setdefault(table, []).append((column, kind))
            return found

    before_columns, before_tables = await columns(), await tables(url, schema)
    store = await open_store(url, schema=schema, platform_database=True)
    try:
        assert await columns() == before_columns
        added = await tables(url, schema) - before_tables
        assert added and all(name.startswith("stemgraph_") for name in added)
        applied = await store.migrate()  # type: ignore[attr-defined]
        assert applied == []
    finally:
        await store.close()


async def test_classes_and_enrollments_read_as_the_web_app_reads_them(
    platform_schema: tuple[str, str],
) -> None:
    url, schema = platform_schema
    teacher, student, class_id = new_id(), new_id(), new_id()
    store = await open_store(url, schema=schema, platform_database=True)
    try:
        # Profiles are the platform's (its auth trigger makes them); stemgraph only reads them.
        async with store.transaction() as db:
            await db.execute(
                "INSERT INTO profiles (id, account_type, display_name)"
                " VALUES (:t, 'teacher', 'Ada Okafor'), (:s, 'student', 'Lena Park')",
                {"t": teacher, "s": student},
            )
        await store.create_class(
            class_id=class_id,
            owner_id=teacher,
            title="Optics",
            join_code="K7QX2M",
            subject="Physics",
            level="Year 10",
            description="Light and lenses.",
        )
        klass = await store.find_class_by_code(" k7qx2m ")
        assert klass is not None and klass.id == class_id
        await store.enroll(class_id, student, "student")
        await store.enroll(class_id, teacher, "student")  # a teacher never becomes a student
    finally:
        await store.close()
    # The web app's reads, over its own connection.
    async with await AsyncConnection.connect(
        url, autocommit=True, options=f"-c search_path={schema}"
    ) as conn:
        cursor = await conn.execute(
            "SELECT owner_id, title, subject, level, description, join_code, ai_provider,"
            " archived FROM classes WHERE id = %s",
            (class_id,),
        )
        assert await cursor.fetchone() == (
            uuid.UUID(teacher),
            "Optics",
            "Physics",
            "Year 10",
            "Light and lenses.",
            "K7QX2M",
            "openrouter",
            False,
        )
        cursor = await conn.execute(
            "SELECT user_id, role::text FROM enrollments WHERE class_id = %s ORDER BY role",
            (class_id,),
        )
        assert await cursor.fetchall() == [
            (uuid.UUID(student), "student"),
            (uuid.UUID(teacher), "teacher"),
        ]


async def test_the_embedded_default_cannot_be_the_platforms_database(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="Postgres"):
        await open_store(str(tmp_path / "s.sqlite3"), platform_database=True)


# Identity for the platform's SQL functions: `transaction(claims=...)` sets the JWT claims the
# way PostgREST does, so a function reading `auth.uid()` sees the caller.


def auth_functions(auth: str) -> str:
    """`auth.uid()` and `auth.role()` as Supabase defines them (claims from PostgREST's
    settings, the newer JSON one or the older per-claim ones), in schema `auth`."""
    return f"""
CREATE SCHEMA "{auth}";
CREATE FUNCTION "{auth}".uid() RETURNS uuid LANGUAGE sql STABLE AS $$
  SELECT coalesce(
    nullif(current_setting('request.jwt.claim.sub', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')
  )::uuid
$$;
CREATE FUNCTION "{auth}".role() RETURNS text LANGUAGE sql STABLE AS $$
  SELECT coalesce(
    nullif(current_setting('request.jwt.claim.role', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'role')
  )::text
$$;
"""


def publish_function(auth: str) -> str:
    """A `publish_blueprint` like the platform's: the caller (from the claims) must own the
    class; the approved blueprint is published by the caller, the others archived."""
    return f"""
CREATE FUNCTION publish_blueprint(p_class_id uuid, p_blueprint_id uuid) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
  caller uuid := "{auth}".uid();
BEGIN
  IF caller IS NULL THEN
    RAISE EXCEPTION 'Not authenticated' USING ERRCODE = '42501';
  END IF;
  IF NOT EXISTS (SELECT 1 FROM classes WHERE id = p_class_id AND owner_id = caller) THEN
    RAISE EXCEPTION 'Only the class owner can publish' USING ERRCODE = '42501';
  END IF;
  PERFORM pg_advisory_xact_lock(hashtext(p_class_id::text));
  UPDATE blueprints SET status = 'archived'
    WHERE class_id = p_class_id AND id <> p_blueprint_id AND status IN ('approved', 'published');
  UPDATE blueprints SET status = 'published', published_by = caller, published_at = now()
    WHERE id = p_blueprint_id AND class_id = p_class_id AND status = 'approved';
END;
$$;
"""


@pytest.fixture
async def claims_store() -> AsyncIterator[tuple[Any, str, str, str, str]]:
    url = postgres_url_or_skip()
    schema = fresh_schema_name()
    auth = f"{schema}_auth"
    # One connection, so a later transaction would see anything a former one left behind.
    store = await PostgresStore.open(url, schema=schema, max_size=1)
    teacher, class_id, blueprint_id = new_id(), new_id(), new_id()
    try:
        async with await AsyncConnection.connect(
            url, autocommit=True, options=f"-c search_path={schema}"
        ) as conn:
            await conn.execute(auth_functions(auth).encode())
            await conn.execute(publish_function(auth).encode())
        await store.upsert_profile(teacher, "teacher", "Ada")
        await store.create_class(
            class_id=class_id, owner_id=teacher, title="Optics", join_code=new_id()[:8]
        )
        async with store.transaction() as db:
            await db.execute(
                "INSERT INTO blueprints (id, class_id, status, created_by, approved_by)"
                " VALUES (:b, :c, 'approved', :t, :t)",
                {"b": blueprint_id, "c": class_id, "t": teacher},
            )
        yield store, teacher, class_id, blueprint_id, auth
    finally:
        await store.close()
        await drop_schema(url, schema)
        await drop_schema(url, auth)


async def test_claims_make_the_caller_visible_to_auth_uid(
    claims_store: tuple[Any, str, str, str, str],
) -> None:
    store, teacher, class_id, blueprint_id, auth = claims_store
    params = {"c": class_id, "b": blueprint_id}
    call = "SELECT publish_blueprint(CAST(:c AS uuid), CAST(:b AS uuid))"

    # Over a plain connection there is no caller: the function refuses, as on the platform.
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match="Not authenticated"):
        async with store.transaction() as db:
            await db.query(call, params)
    # Another user's claims: refused as not the owner.
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match="owner"):
        async with store.transaction(claims={"sub": new_id(), "role": "authenticated"}) as db:
            await db.query(call, params)
    # The owner's claims: published by the owner.
    async with store.transaction(claims={"sub": teacher, "role": "authenticated"}) as db:
        who = await db.query(
            "SELECT current_setting('request.jwt.claims', true) AS claims,"
            f' "{auth}".role() AS role'
        )
        assert who[0]["role"] == "authenticated"
        await db.query(call, params)
    async with store.session() as db:
        rows = await db.query(
            "SELECT status::text AS status, published_by FROM blueprints WHERE id = :b", params
        )
        # The claims were local to that transaction: the pooled connection kept nothing.
        left = await db.query(
            "SELECT coalesce(current_setting('request.jwt.claims', true), '') AS claims,"
            " coalesce(current_setting('request.jwt.claim.sub', true), '') AS sub"
        )
    assert (rows[0]["status"], str(rows[0]["published_by"])) == ("published", teacher)
    assert (left[0]["claims"], left[0]["sub"]) == ("", "")

"""The store wired to retrieval in SQL: migrations, the chunk writer, start-up, the search path.

On the pgvector server (`.ci/pgvector.sh`) and the machine's plain PostgreSQL; the one-space
write rule on both backends.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from psycopg import AsyncConnection

from tests.conftest import drop_schema, fresh_schema_name, postgres_url_or_skip
from tests.tools.store.test_pgvector import OPENAI, near, pgvector_url_or_skip, unit
from tools.models.embeddings import hashed_model
from tools.retrieval import hybrid_search
from tools.store import Store, open_store
from tools.store.base import ChunkInput
from tools.store.migrations import migrations
from tools.store.retrieval import vector_literal

FORCE = "The newton is the SI unit of force: one kilogram metre per second squared."
WAVES = "A wave carries energy; its frequency times its wavelength gives its speed."


async def new_class(store: Store) -> str:
    owner = str(uuid.uuid4())
    await store.upsert_profile(owner, "teacher", "Teacher")
    class_id = str(uuid.uuid4())
    await store.create_class(
        class_id=class_id, owner_id=owner, title="Physics", join_code=uuid.uuid4().hex[:8]
    )
    return class_id


def chunk(index: int, text: str, vector: list[float] | None, model: str | None) -> ChunkInput:
    return ChunkInput(
        index=index,
        content=text,
        section=None,
        token_count=len(text) // 4,
        embedding=tuple(vector) if vector else None,
        embedding_model=model,
        embedding_provider="openai" if model == OPENAI.model else None,
    )


async def indexes(store: Store) -> set[str]:
    async with store.session() as db:
        rows = await db.query(
            "SELECT indexname FROM pg_indexes WHERE tablename = 'material_chunks'"
            " AND schemaname = current_schema()"
        )
    return {str(row["indexname"]) for row in rows}


async def searchable(store: Store) -> int:
    async with store.session() as db:
        rows = await db.query("SELECT count(*) AS n FROM stemgraph_chunk_search")
    return int(rows[0]["n"])


@pytest.fixture
async def vstore() -> AsyncIterator[Store]:
    """A standalone store on the pgvector server, in a fresh schema."""
    url = pgvector_url_or_skip()
    schema = fresh_schema_name()
    async with await AsyncConnection.connect(url, autocommit=True) as conn:
        await conn.execute("CREATE EXTENSION IF NOT EXISTS vector")  # in public
    opened = await open_store(url, schema=schema)
    try:
        yield opened
    finally:
        await opened.close()
        await drop_schema(url, schema)


async def test_on_pgvector_the_store_ranks_by_cosine_in_sql(vstore: Store) -> None:
    # The schema's path reaches pgvector in `public`: the store sees it and says so.
    assert vstore.pgvector is True
    # Standalone: HNSW (0110) in place of the ivfflat index 0002 builds on an empty table.
    found = await indexes(vstore)
    assert "material_chunks_embedding_hnsw_idx" in found
    assert "material_chunks_embedding_idx" not in found
    class_id = await new_class(vstore)
    force, waves = unit(1), unit(2)
    await vstore.save_material(
        material_id=str(uuid.uuid4()),
        class_id=class_id,
        title="Notes",
        source_type="pdf",
        chunks=[chunk(0, FORCE, force, OPENAI.model), chunk(1, WAVES, waves, OPENAI.model)],
    )
    # The writer indexed both chunks for full text in its transaction.
    assert await searchable(vstore) == 2
    asked: list[str] = []

    async def embed(text: str, model: str) -> list[float] | None:
        asked.append(model)
        return near(waves, 7)

    # No word of the query is in either chunk: only the dense half can rank WAVES first.
    hits = await hybrid_search(vstore, class_id, "oscillation", query_embedding=embed)
    assert asked == [OPENAI.model]
    assert [hit.content for hit in hits][:1] == [WAVES]
    assert hits[0].score > 0


async def test_platform_mode_adds_no_index_and_indexes_rows_others_wrote(
    caplog: pytest.LogCaptureFixture,
) -> None:
    url = pgvector_url_or_skip()
    schema = fresh_schema_name()
    class_id, material_id = str(uuid.uuid4()), str(uuid.uuid4())
    async with await AsyncConnection.connect(url, autocommit=True) as conn:
        await conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
        await conn.execute(f'CREATE SCHEMA "{schema}"')
        await conn.execute(f'SET search_path = "{schema}", public')
        # The platform's tables as the platform has them, and a chunk its worker wrote.
        for migration in migrations("postgres"):
            if migration.platform:
                await conn.execute(migration.sql().encode())
        await conn.execute(
            "INSERT INTO classes (id, owner_id, title, join_code) VALUES (%s, %s, 'C', %s)",
            (class_id, str(uuid.uuid4()), class_id[:8]),
        )
        await conn.execute(
            "INSERT INTO materials (id, class_id, title, storage_path, status)"
            " VALUES (%s, %s, 'Forces', 'classes/x/forces.pdf', 'ready')",
            (material_id, class_id),
        )
        await conn.execute(
            "INSERT INTO material_chunks (material_id, class_id, source_type, source_index,"
            " text, token_count, embedding, embedding_provider, embedding_model)"
            " VALUES (%s, %s, 'page', 1, %s, 20, %s::vector, 'openai', %s)",
            (material_id, class_id, FORCE, vector_literal(unit(1)), OPENAI.model),
        )
    caplog.set_level(logging.INFO)
    store = await open_store(url, schema=schema, platform_database=True)
    try:
        assert store.pgvector is True
        found = await indexes(store)
        assert "material_chunks_embedding_idx" in found  # the platform's ivfflat
        assert "material_chunks_embedding_hnsw_idx" not in found  # stemgraph added none
        # Start-up indexed the worker's chunk for full text.
        assert await searchable(store) == 1
        hits = await hybrid_search(store, class_id, "newton force")
        assert [hit.content for hit in hits] == [FORCE]
        assert "pgvector unavailable" not in caplog.text
    finally:
        await store.close()
        await drop_schema(url, schema)


async def test_without_pgvector_the_store_says_so_once_and_uses_full_text(
    caplog: pytest.LogCaptureFixture,
) -> None:
    url = postgres_url_or_skip()
    schema = fresh_schema_name()
    store = await open_store(url, schema=schema)
    try:
        assert store.pgvector is False
        message = "pgvector unavailable: retrieval by full text alone"
        assert caplog.text.count(message) == 1
        class_id = await new_class(store)
        await store.save_material(
            material_id=str(uuid.uuid4()),
            class_id=class_id,
            title="Notes",
            source_type="text",
            chunks=[chunk(0, FORCE, unit(1), OPENAI.model), chunk(1, WAVES, None, None)],
        )
        calls: list[str] = []

        async def embed(text: str, model: str) -> list[float] | None:
            calls.append(model)
            return unit(1)

        hits = await hybrid_search(store, class_id, "wavelength", query_embedding=embed)
        assert [hit.content for hit in hits][:1] == [WAVES]
        assert calls == []  # no dense half without pgvector: the query is not embedded
    finally:
        await store.close()
        await drop_schema(url, schema)


async def test_a_real_model_s_vectors_clear_the_class_s_hashed_ones(store: Store) -> None:
    class_id = await new_class(store)
    hashed = hashed_model()
    await store.save_material(
        material_id=str(uuid.uuid4()),
        class_id=class_id,
        title="Offline",
        source_type="text",
        chunks=[chunk(0, FORCE, unit(3), hashed)],
    )
    assert {e.model for e in await store.class_embeddings(class_id)} == {hashed}
    await store.save_material(
        material_id=str(uuid.uuid4()),
        class_id=class_id,
        title="Provider",
        source_type="text",
        chunks=[chunk(0, WAVES, unit(4), OPENAI.model)],
    )
    assert {e.model for e in await store.class_embeddings(class_id)} == {OPENAI.model}
    # And hashed vectors are never stored beside a real model's.
    await store.save_material(
        material_id=str(uuid.uuid4()),
        class_id=class_id,
        title="Offline again",
        source_type="text",
        chunks=[chunk(0, "Energy is conserved.", unit(5), hashed)],
    )
    stored: list[Any] = await store.class_embeddings(class_id)
    assert {e.model for e in stored} == {OPENAI.model} and len(stored) == 1


async def test_chunks_others_write_later_are_indexed_at_the_class_s_first_search(
    vstore: Store,
) -> None:
    """As after the platform's `clone_guest_sandbox`: rows written behind stemgraph's back
    while it runs are searchable in a class it has not searched yet."""
    class_id = await new_class(vstore)
    material_id = str(uuid.uuid4())
    async with vstore.transaction() as db:
        await db.execute(
            "INSERT INTO materials (id, class_id, title, storage_path, status)"
            " VALUES (:m, :c, 'Waves', 'classes/x/waves.pdf', 'ready')",
            {"m": material_id, "c": class_id},
        )
        await db.execute(
            "INSERT INTO material_chunks (material_id, class_id, source_type, source_index,"
            " text, token_count) VALUES (:m, :c, 'page', 1, :t, 20)",
            {"m": material_id, "c": class_id, "t": WAVES},
        )
    assert await searchable(vstore) == 0
    hits = await hybrid_search(vstore, class_id, "wavelength frequency")
    assert [hit.content for hit in hits] == [WAVES] and hits[0].score > 0
    assert await searchable(vstore) == 1

"""Retrieval in SQL: pgvector cosine + full text fused by reciprocal rank, on real servers.

The pgvector tests run against the server `.ci/pgvector.sh` starts
(STEMGRAPH_TEST_PGVECTOR_URL); the fallback tests against the machine's plain PostgreSQL,
which has no pgvector. Each test builds its tables with stemgraph's own Postgres migrations
(standalone: the platform's tables, `stemgraph_chunk_search`, the HNSW index) in a fresh schema
and drops it afterwards.
"""

from __future__ import annotations

import math
import os
import random
import re
import subprocess
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
from psycopg import AsyncConnection
from psycopg.rows import dict_row

from tests.conftest import IN_CI, postgres_url_or_skip
from tools.models.embeddings import EMBEDDING_DIMENSIONS, hashed_model
from tools.retrieval import RRF_K
from tools.store.migrations import migrate_postgres
from tools.store.retrieval import (
    EmbeddingSpace,
    QueryVector,
    VectorWrite,
    class_embedding_spaces,
    hybrid_search_sql,
    index_chunks,
    index_missing_chunks,
    pgvector_available,
    search_chunks_sql,
    vector_literal,
    vector_write,
)

OPENAI = EmbeddingSpace("openai", "text-embedding-3-small")
GEMINI = EmbeddingSpace("gemini", "gemini-embedding-001")
HASHED = EmbeddingSpace("offline", hashed_model())
_NAMED = re.compile(r"(?<![:\w]):([a-z_][a-z0-9_]*)")


def pgvector_url_or_skip() -> str:
    """The pgvector server's URL; outside CI tests skip without it, under CI they fail."""
    url = os.environ.get("STEMGRAPH_TEST_PGVECTOR_URL")
    if url:
        return url
    if IN_CI:
        pytest.fail("STEMGRAPH_TEST_PGVECTOR_URL is unset under CI (.ci/run starts the server)")
    pytest.skip("STEMGRAPH_TEST_PGVECTOR_URL is not set (start one: bash .ci/pgvector.sh start)")


class Db:
    """The store's `:name` session over one psycopg connection."""

    def __init__(self, conn: AsyncConnection[Any]) -> None:
        self.conn = conn

    async def query(self, sql: str, params: Mapping[str, Any] | None = None) -> Sequence[Any]:
        async with self.conn.cursor(row_factory=dict_row) as cursor:
            await cursor.execute(_NAMED.sub(r"%(\1)s", sql), dict(params or {}))
            return await cursor.fetchall() if cursor.description else []

    async def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> None:
        await self.query(sql, params)


async def _schema(url: str, *, pgvector: bool) -> AsyncIterator[Db]:
    schema = f"sg_test_pgvector_{uuid.uuid4().hex[:10]}"
    async with await AsyncConnection.connect(url, autocommit=True) as conn:
        if pgvector:
            await conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
        await conn.execute(f'CREATE SCHEMA "{schema}"')
        # pgvector's type and operators live in public, as on a plain install.
        await conn.execute(f'SET search_path = "{schema}", public')
        try:
            await migrate_postgres(conn, platform_database=False)
            yield Db(conn)
        finally:
            await conn.execute("RESET search_path")
            await conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture
async def vdb() -> AsyncIterator[Db]:
    """A fresh schema on the pgvector server."""
    async for db in _schema(pgvector_url_or_skip(), pgvector=True):
        yield db


@pytest.fixture
async def plain_db() -> AsyncIterator[Db]:
    """A fresh schema on the machine's PostgreSQL (no pgvector)."""
    async for db in _schema(postgres_url_or_skip(), pgvector=False):
        yield db


def unit(seed: int) -> list[float]:
    rng = random.Random(seed)
    values = [rng.gauss(0.0, 1.0) for _ in range(EMBEDDING_DIMENSIONS)]
    norm = math.sqrt(sum(v * v for v in values))
    return [v / norm for v in values]


def near(vector: list[float], seed: int, noise: float = 0.1) -> list[float]:
    return [v + noise * n for v, n in zip(vector, unit(seed), strict=True)]


class ClassData:
    """Writes a class's materials and chunks the way the platform's worker does."""

    def __init__(self, db: Db, *, pgvector: bool = True) -> None:
        self.db = db
        self.pgvector = pgvector
        self.class_id = str(uuid.uuid4())
        self.created = False

    async def material(self, title: str) -> str:
        if not self.created:
            await self.db.execute(
                "INSERT INTO classes (id, owner_id, title, join_code) VALUES (:c, :o, 'C', :j)",
                {"c": self.class_id, "o": str(uuid.uuid4()), "j": self.class_id[:8]},
            )
            self.created = True
        material_id = str(uuid.uuid4())
        await self.db.execute(
            "INSERT INTO materials (id, class_id, title, storage_path, status)"
            " VALUES (:id, :c, :t, :p, 'ready')",
            {"id": material_id, "c": self.class_id, "t": title, "p": f"{self.class_id}/{title}"},
        )
        return material_id

    async def chunk(
        self,
        material_id: str,
        index: int,
        text: str,
        vector: list[float] | None = None,
        space: EmbeddingSpace | None = OPENAI,
        *,
        indexed: bool = True,
    ) -> str:
        chunk_id = str(uuid.uuid4())
        has_vector = vector is not None and self.pgvector
        await self.db.execute(
            "INSERT INTO material_chunks (id, material_id, class_id, source_type, source_index,"
            " text, token_count, embedding, embedding_provider, embedding_model)"
            " VALUES (:id, :m, :c, 'page', :i, :text, :tokens,"
            + (" CAST(:v AS vector)," if has_vector else " NULL,")
            + " :provider, :model)",
            {
                "id": chunk_id,
                "m": material_id,
                "c": self.class_id,
                "i": index,
                "text": text,
                "tokens": math.ceil(len(text) / 4),
                "v": vector_literal(vector) if vector is not None else None,
                "provider": space.provider if space and has_vector else None,
                "model": space.model if space and has_vector else None,
            },
        )
        if indexed:
            await index_chunks(self.db, material_id)
        return chunk_id


FORCE = "The newton is the SI unit of force: one kilogram metre per second squared."
WAVES = "A wave carries energy; its frequency times its wavelength gives its speed."
CELLS = "Osmosis moves water across a membrane towards the higher solute concentration."
CENTRIFUGE = "An ultracentrifuge separates particles by sedimentation at high rotor speeds."


async def _in_transaction(db: Db, coro: Any) -> Any:
    async with db.conn.transaction():
        return await coro


def test_the_ci_script_starts_one_server_and_says_where() -> None:
    """`.ci/pgvector.sh start` is idempotent: run again, it prints the running server's URL."""
    url = pgvector_url_or_skip()
    port_file = Path(os.environ.get("STEMGRAPH_PGVECTOR_ROOT", "/opt/stemgraph-pgvector")) / "port"
    if not port_file.exists() or f":{port_file.read_text().strip()}/" not in url:
        pytest.skip("STEMGRAPH_TEST_PGVECTOR_URL points at a server the script did not start")
    script = Path(__file__).resolve().parents[3] / ".ci" / "pgvector.sh"
    done = subprocess.run(
        ["bash", str(script), "start"], capture_output=True, text=True, timeout=120, check=False
    )
    assert (done.returncode, done.stdout, done.stderr) == (
        0,
        f"export STEMGRAPH_TEST_PGVECTOR_URL={url}\n",
        "",
    )


async def test_pgvector_is_reported_where_it_is_installed(vdb: Db) -> None:
    assert await pgvector_available(vdb) is True


async def test_pgvector_is_reported_absent_on_plain_postgres(plain_db: Db) -> None:
    assert await pgvector_available(plain_db) is False


async def test_a_query_near_a_chunk_ranks_it_first_by_cosine_alone(vdb: Db) -> None:
    data = ClassData(vdb)
    physics = await data.material("Physics notes")
    vectors = {text: unit(i) for i, text in enumerate((FORCE, WAVES, CELLS))}
    for i, (text, vector) in enumerate(vectors.items(), start=1):
        await data.chunk(physics, i, text, vector)
    # No word of the query is in any chunk: only the dense ranking can place WAVES first.
    query = QueryVector(OPENAI, near(vectors[WAVES], seed=99))
    hits = await _in_transaction(
        vdb,
        search_chunks_sql(
            vdb, data.class_id, "zzyzx quokka", query_vector=query, pgvector=True, limit=10
        ),
    )
    assert hits[0].content == WAVES and {hit.content for hit in hits} == set(vectors)
    assert hits[0].score == round(1 / (RRF_K + 1), 6)
    assert hits[0].material_title == "Physics notes"
    # `source_index` 2 (1-based, the platform's) is `chunk_index` 1, as the store's own hits say.
    assert (hits[0].source_type, hits[0].chunk_index) == ("page", 1)
    assert hits[0].chunk_id


async def test_fusion_adds_both_rankings_and_keeps_full_text_only_hits(vdb: Db) -> None:
    data = ClassData(vdb)
    material = await data.material("Lab methods")
    vectors = [unit(10 + i) for i in range(3)]
    await data.chunk(material, 1, FORCE, vectors[0])
    await data.chunk(material, 2, WAVES, vectors[1])
    await data.chunk(material, 3, CELLS, vectors[2])
    # No vector at all: reachable by its words only.
    await data.chunk(material, 4, CENTRIFUGE, None, None)
    query = QueryVector(OPENAI, near(vectors[0], seed=7))
    hits = await _in_transaction(
        vdb,
        search_chunks_sql(
            vdb,
            data.class_id,
            "What unit is force measured in, and how does an ultracentrifuge work?",
            query_vector=query,
            pgvector=True,
        ),
    )
    by_text = {hit.content: hit.score for hit in hits}
    # FORCE: first in both rankings; the centrifuge chunk: in the full-text ranking only.
    assert hits[0].content == FORCE
    assert by_text[FORCE] == round(2 / (RRF_K + 1), 6)
    assert CENTRIFUGE in by_text
    assert by_text[CENTRIFUGE] == round(1 / (RRF_K + 2), 6)


async def test_another_class_is_never_returned(vdb: Db) -> None:
    mine, other = ClassData(vdb), ClassData(vdb)
    vector = unit(5)
    ours = await mine.material("Ours")
    theirs = await other.material("Theirs")
    await mine.chunk(ours, 1, WAVES, unit(6))
    # The other class's chunk matches the query exactly, by vector and by words.
    await other.chunk(theirs, 1, FORCE, vector)
    hits = await _in_transaction(
        vdb,
        search_chunks_sql(
            vdb, mine.class_id, FORCE, query_vector=QueryVector(OPENAI, vector), pgvector=True
        ),
    )
    assert [hit.content for hit in hits] == [WAVES]
    assert {hit.material_title for hit in hits} == {"Ours"}


async def test_chunks_of_another_model_get_no_dense_score(vdb: Db) -> None:
    data = ClassData(vdb)
    material = await data.material("Mixed")
    vector = unit(21)
    await data.chunk(material, 1, WAVES, unit(22), OPENAI)
    # Embedded by Gemini, identical to the query's numbers, no word in common with the query.
    await data.chunk(material, 2, CELLS, vector, GEMINI)
    # A legacy row that recorded only the model is still in the OpenAI model's space.
    await data.chunk(material, 3, FORCE, unit(23), EmbeddingSpace(None, OPENAI.model))

    async def texts(space: EmbeddingSpace) -> list[str]:
        hits = await _in_transaction(
            vdb,
            search_chunks_sql(
                vdb,
                data.class_id,
                "zzyzx",
                query_vector=QueryVector(space, vector),
                pgvector=True,
            ),
        )
        return [hit.content for hit in hits]

    assert set(await texts(OPENAI)) == {WAVES, FORCE}
    assert await texts(GEMINI) == [CELLS]
    # No chunk in the query's space and no word in common: the class in reading order.
    assert await texts(EmbeddingSpace("openrouter", "openai/text-embedding-3-small")) == [
        WAVES,
        CELLS,
        FORCE,
    ]


async def test_a_vector_that_is_not_1536_finite_numbers_leaves_full_text(vdb: Db) -> None:
    data = ClassData(vdb)
    material = await data.material("Waves")
    await data.chunk(material, 1, WAVES, unit(1))
    await data.chunk(material, 2, FORCE, unit(2))
    for bad in ([0.1] * 3, [math.nan] * EMBEDDING_DIMENSIONS, [0.0] * EMBEDDING_DIMENSIONS):
        hits = await _in_transaction(
            vdb,
            search_chunks_sql(
                vdb,
                data.class_id,
                "frequency",
                query_vector=QueryVector(OPENAI, bad),
                pgvector=True,
            ),
        )
        assert [(hit.content, hit.score) for hit in hits] == [(WAVES, round(1 / (RRF_K + 1), 6))]


async def test_query_syntax_is_only_words(vdb: Db) -> None:
    data = ClassData(vdb)
    material = await data.material("Force")
    await data.chunk(material, 1, FORCE, unit(1))
    hits = await _in_transaction(
        vdb,
        search_chunks_sql(vdb, data.class_id, "newton & !(force) | ':*' <-> \\ \"", pgvector=True),
    )
    assert [hit.content for hit in hits] == [FORCE] and hits[0].score > 0


async def test_the_platform_ivfflat_index_still_finds_a_small_class_beside_a_large_one(
    vdb: Db,
) -> None:
    """The platform's index is ivfflat, which filters by class after its approximate scan;
    a small class next to a large one must still get its nearest chunks."""
    big, small = ClassData(vdb), ClassData(vdb)
    # The platform's index instead of HNSW, built after the rows are in (as ivfflat needs).
    await vdb.execute("DROP INDEX material_chunks_embedding_hnsw_idx")
    crowd = await big.material("Crowd")
    await vdb.execute(
        "INSERT INTO material_chunks (material_id, class_id, source_type, source_index, text,"
        " token_count, embedding, embedding_provider, embedding_model)"
        " SELECT :m, :c, 'page', g, 'filler text ' || g, 3,"
        " (SELECT array_agg(random() - 0.5) FROM generate_series(1, 1536) x WHERE g > 0)::vector,"
        " 'openai', 'text-embedding-3-small' FROM generate_series(1, 3000) g",
        {"m": crowd, "c": big.class_id},
    )
    mine = await small.material("Mine")
    vectors = [unit(40 + i) for i in range(5)]
    for i, vector in enumerate(vectors, start=1):
        await small.chunk(mine, i, f"note {i}", vector)
    await vdb.execute(
        "CREATE INDEX ON material_chunks USING ivfflat (embedding vector_cosine_ops)"
        " WITH (lists = 100)"
    )
    await vdb.execute("ANALYZE material_chunks")
    hits = await _in_transaction(
        vdb,
        search_chunks_sql(
            vdb,
            small.class_id,
            "zzyzx",
            query_vector=QueryVector(OPENAI, near(vectors[3], seed=3)),
            pgvector=True,
        ),
    )
    assert hits[0].content == "note 4"
    assert len(hits) == 5


async def test_hybrid_search_embeds_the_query_with_the_class_model(vdb: Db) -> None:
    data = ClassData(vdb)
    material = await data.material("Physics")
    vectors = [unit(60 + i) for i in range(3)]
    for i, (text, vector) in enumerate(zip((FORCE, WAVES, CELLS), vectors, strict=True), 1):
        await data.chunk(material, i, text, vector)
    # One hashed-vector chunk (written before the rule existed) must not pick the space.
    await data.chunk(material, 4, CENTRIFUGE, unit(64), HASHED)
    await data.chunk(material, 5, CENTRIFUGE, unit(65), HASHED)
    asked: list[str] = []

    async def embed(text: str, model: str) -> list[float] | None:
        asked.append(model)
        return near(vectors[2], seed=1)

    assert await class_embedding_spaces(vdb, data.class_id) == [OPENAI, HASHED]
    hits = await _in_transaction(
        vdb, hybrid_search_sql(vdb, data.class_id, "zzyzx", pgvector=True, query_embedding=embed)
    )
    assert asked == [OPENAI.model]
    assert hits[0].content == CELLS and hits[0].score == round(1 / (RRF_K + 1), 6)

    async def failing(text: str, model: str) -> list[float] | None:
        raise TimeoutError("provider down")

    hits = await _in_transaction(
        vdb,
        hybrid_search_sql(vdb, data.class_id, "osmosis", pgvector=True, query_embedding=failing),
    )
    assert [hit.content for hit in hits] == [CELLS]


async def test_without_pgvector_retrieval_is_full_text_alone(plain_db: Db) -> None:
    data = ClassData(plain_db, pgvector=False)
    material = await data.material("Notes")
    await data.chunk(material, 1, FORCE, unit(1))
    await data.chunk(material, 2, WAVES, unit(2))
    await data.chunk(material, 3, CELLS, unit(3))
    available = await pgvector_available(plain_db)
    asked: list[str] = []

    async def embed(text: str, model: str) -> list[float] | None:
        asked.append(model)
        return unit(2)

    hits = await _in_transaction(
        plain_db,
        hybrid_search_sql(
            plain_db,
            data.class_id,
            "wavelength and frequency",
            pgvector=available,
            query_embedding=embed,
        ),
    )
    assert asked == []
    assert [(hit.content, hit.score) for hit in hits] == [(WAVES, round(1 / (RRF_K + 1), 6))]
    direct = await search_chunks_sql(
        plain_db,
        data.class_id,
        "membrane",
        query_vector=QueryVector(OPENAI, unit(1)),
        pgvector=available,
    )
    assert [hit.content for hit in direct] == [CELLS]
    # Nothing to rank by: the class in reading order, so a generator still has material.
    fallback = await search_chunks_sql(plain_db, data.class_id, "the of and", pgvector=False)
    assert [(hit.content, hit.score) for hit in fallback] == [
        (FORCE, 0.0),
        (WAVES, 0.0),
        (CELLS, 0.0),
    ]


async def test_chunks_written_elsewhere_are_indexed_and_deleted_ones_leave(plain_db: Db) -> None:
    data = ClassData(plain_db, pgvector=False)
    material = await data.material("Seeded")
    await data.chunk(material, 1, FORCE, indexed=False)
    await data.chunk(material, 2, CENTRIFUGE, indexed=False)
    unindexed = await search_chunks_sql(plain_db, data.class_id, "ultracentrifuge", pgvector=False)
    assert [hit.score for hit in unindexed] == [0.0, 0.0]  # not found: reading order
    assert await index_missing_chunks(plain_db, data.class_id) == 2
    assert await index_missing_chunks(plain_db) == 0
    hits = await search_chunks_sql(plain_db, data.class_id, "ultracentrifuge", pgvector=False)
    assert [hit.content for hit in hits] == [CENTRIFUGE]
    await plain_db.execute("DELETE FROM material_chunks WHERE class_id = :c", {"c": data.class_id})
    rows = await plain_db.query("SELECT count(*) AS n FROM stemgraph_chunk_search")
    assert rows[0]["n"] == 0


# --- the one-embedding-space rule (pure) --------------------------------------------------------


def test_hashed_vectors_are_never_written_beside_a_real_models() -> None:
    decision = vector_write(HASHED, {OPENAI})
    assert decision.store is False and decision.warning and OPENAI.model in decision.warning
    assert vector_write(HASHED, set()) == VectorWrite(store=True)
    assert vector_write(HASHED, {HASHED}) == VectorWrite(store=True)


def test_a_real_model_replaces_hashed_vectors() -> None:
    decision = vector_write(OPENAI, {HASHED, OPENAI})
    assert decision == VectorWrite(store=True, clear=frozenset({HASHED}))


def test_a_second_real_model_is_stored_with_a_warning() -> None:
    decision = vector_write(GEMINI, [OPENAI])
    assert decision.store is True and decision.clear == frozenset()
    assert decision.warning and "full text only" in decision.warning
    assert vector_write(None, [OPENAI]) == VectorWrite(store=False)
    # A row that recorded only the model is the same space.
    assert vector_write(OPENAI, [EmbeddingSpace(None, OPENAI.model)]).warning is None


def test_spaces_match_on_model_and_recorded_provider() -> None:
    assert OPENAI.admits(EmbeddingSpace(None, OPENAI.model))
    assert not OPENAI.admits(EmbeddingSpace("openrouter", OPENAI.model))
    assert not OPENAI.admits(GEMINI)
    assert HASHED.hashed and EmbeddingSpace("openai", hashed_model()).hashed
    assert not OPENAI.hashed


def test_vector_literal_accepts_only_1536_finite_numbers() -> None:
    literal = vector_literal([0.5] * EMBEDDING_DIMENSIONS)
    assert literal is not None and literal.startswith("[0.5,0.5,") and literal.count(",") == 1535
    assert vector_literal([0.5] * 1535) is None
    assert vector_literal([math.inf] + [0.5] * 1535) is None
    assert vector_literal([0.0] * EMBEDDING_DIMENSIONS) is None

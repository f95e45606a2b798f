"""Retrieval latency at 10k and 100k chunks: pgvector + full text in SQL beside a Python scan.

    python -m bench.retrieval [--quick] [--index ivfflat|hnsw] [--pgvector-url URL]

Each size gets a fresh schema on the pgvector server (STEMGRAPH_TEST_PGVECTOR_URL, started by
`.ci/pgvector.sh`) holding the platform's `materials` and `material_chunks` with one class of N
chunks: 1536-dim vectors clustered around topics (a topic centre plus two noise vectors, summed
by the server so the 100k build stays quick) and text drawn from the topic's words. Both sides
answer the same queries (a topic's words, and its centre plus noise as the query vector):

- sql: `tools.store.retrieval.hybrid_search_sql` (the class's embedding space looked up, then
  cosine on an HNSW index, or the platform's ivfflat with `--index ivfflat`, and GIN full
  text, fused by reciprocal rank in one statement), in a transaction as the server would.
- scan: today's shape (`tools.retrieval`): the full-text ranking from SQL, then every chunk
  with its vector loaded and its cosine computed in Python, fused by reciprocal rank. Rows are
  streamed in batches, so 100k chunks fit in memory: a lower bound on today's cost (today also
  builds hashed vectors for each chunk and keeps every vector in memory at once).
"""

from __future__ import annotations

import argparse
import asyncio
import heapq
import math
import operator
import os
import random
import re
import struct
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass, replace
from functools import partial
from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import dict_row

from bench.load import percentile
from tools.models.embeddings import EMBEDDING_DIMENSIONS
from tools.retrieval import DENSE_CANDIDATES, LEXICAL_CANDIDATES, RRF_K
from tools.store.migrations import migrate_postgres
from tools.store.retrieval import (
    VECTOR_INDEX_DDL,
    EmbeddingSpace,
    hybrid_search_sql,
    index_missing_chunks,
    tsquery_text,
)

MODEL = EmbeddingSpace("openai", "text-embedding-3-small")

# The platform's own dense index (`--index ivfflat`), built after the load like HNSW.
PLATFORM_IVFFLAT_DDL = (
    "CREATE INDEX material_chunks_embedding_ivfflat_idx ON material_chunks"
    " USING ivfflat (embedding vector_cosine_ops) WITH (lists = 100)"
)


@dataclass(frozen=True, slots=True)
class Config:
    sizes: tuple[int, ...] = (10_000, 100_000)
    sql_queries: int = 50
    # The scan costs seconds per query at 100k: fewer queries, same topics as the first SQL ones.
    scan_queries: tuple[int, ...] = (9, 3)
    topics: int = 200
    chunks_per_material: int = 40
    seed: int = 12
    # "hnsw": what stemgraph's standalone tables get (~3 min to build at 100k on a busy 2 vCPU).
    # "ivfflat": the platform's own index (lists = 100), built in ~30 s, but pgvector 0.6's
    # planner then prefers an exact scan of the class (p50 ~1.9 s at 100k, see ARCHITECTURE.md).
    index: str = "hnsw"


FULL = Config()
QUICK = Config(sizes=(2_000,), sql_queries=10, scan_queries=(3,), topics=20)


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


_WORDS = _words(
    "force mass acceleration velocity momentum energy power work pressure density volume "
    "temperature heat entropy enthalpy reaction equilibrium catalyst acid base buffer salt ion "
    "electron proton neutron nucleus isotope orbital bond covalent ionic metallic lattice crystal "
    "solution solvent solute concentration molarity titration indicator oxidation reduction "
    "electrode anode cathode current voltage resistance circuit capacitor inductor magnet field "
    "flux charge coulomb ampere ohm watt joule newton pascal kelvin mole avogadro gas ideal "
    "pendulum spring oscillation frequency wavelength amplitude wave sound light refraction "
    "reflection lens mirror prism spectrum photon quantum atom molecule compound mixture element "
    "periodic group period valence gravity orbit planet satellite friction torque lever pulley "
    "inclined plane projectile trajectory vector scalar displacement speed graph gradient area "
    "integral derivative function equation variable constant ratio proportion unit dimension "
    "measurement uncertainty error precision accuracy experiment hypothesis variable control "
    "enzyme protein cell membrane diffusion osmosis respiration photosynthesis glucose carbon "
    "oxygen hydrogen nitrogen chlorine sodium potassium calcium iron copper zinc polymer alkane "
    "alkene alcohol ester amine benzene combustion fuel radiation decay halflife fission fusion"
)
# Function words and general academic words: the body of every chunk, whatever its topic.
_COMMON = _words(
    "the a of and to in is that it for as with on by this be are from at an which when we can "
    "its so if then there more than each one two also shows how what where both these "
    "describe explain compare observe result table figure section example question answer "
    "method approach model theory law principle process change increase decrease remain "
    "important simple complex small large first second next final part whole case value "
    "student teacher lesson chapter page note summary review practice problem solution step"
)


def _gauss_vector(rng: random.Random, scale: float) -> list[float]:
    return [rng.gauss(0.0, scale) for _ in range(EMBEDDING_DIMENSIONS)]


def _literal(values: Sequence[float]) -> str:
    return "[" + ",".join(f"{v:.5f}" for v in values) + "]"


@dataclass(frozen=True, slots=True)
class Topic:
    words: tuple[str, ...]
    centre: tuple[float, ...]


def _topics(config: Config) -> list[Topic]:
    rng = random.Random(config.seed)
    return [
        Topic(tuple(rng.sample(_WORDS, 12)), tuple(_gauss_vector(rng, 1.0)))
        for _ in range(config.topics)
    ]


def _chunk_text(rng: random.Random, topic: Topic) -> str:
    words = [
        rng.choice(topic.words) if rng.random() < 0.3 else rng.choice(_COMMON)
        for _ in range(rng.randint(90, 160))
    ]
    sentences = [" ".join(words[i : i + 14]).capitalize() + "." for i in range(0, len(words), 14)]
    return " ".join(sentences)


def noise_pools(size: int) -> tuple[int, int]:
    """Two coprime pool sizes whose product covers `size`: chunk g gets noise_a[g % A] +
    noise_b[g % B], distinct for every g below A * B (the Chinese remainder theorem), so no two
    chunks share a vector. Small classes get small pools (each noise vector costs Python time)."""
    return (101, 103) if size <= 101 * 103 else (1009, 1013)


async def build(conn: AsyncConnection[Any], size: int, config: Config) -> dict[str, Any]:
    """One class of `size` chunks in the current (fresh) schema, indexed; timings in seconds."""
    rng = random.Random(config.seed + size)
    topics = _topics(config)
    began = time.perf_counter()
    # stemgraph's own migrations (standalone); the vector index is built after the load, timed.
    await migrate_postgres(conn, platform_database=False)
    await conn.execute("DROP INDEX IF EXISTS material_chunks_embedding_hnsw_idx")
    await conn.execute(
        "CREATE TEMP TABLE noise (pool int, id int, v vector); CREATE TEMP TABLE centres"
        " (id int, v vector); CREATE TEMP TABLE staged (g int, topic int, text text)"
    )
    async with conn.cursor().copy("COPY centres (id, v) FROM STDIN") as copy:
        for i, topic in enumerate(topics):
            await copy.write_row((i, _literal(topic.centre)))
    pool_a, pool_b = noise_pools(size)
    async with conn.cursor().copy("COPY noise (pool, id, v) FROM STDIN") as copy:
        for pool, count in ((0, pool_a), (1, pool_b)):
            for i in range(count):
                await copy.write_row((pool, i, _literal(_gauss_vector(rng, 0.45))))
    async with conn.cursor().copy("COPY staged (g, topic, text) FROM STDIN") as copy:
        for g in range(size):
            which = rng.randrange(len(topics))
            await copy.write_row((g, which, _chunk_text(rng, topics[which])))
    class_id = str(uuid.uuid4())
    await conn.execute(
        "INSERT INTO classes (id, owner_id, title, join_code) VALUES (%s, %s, 'Bench', %s)",
        (class_id, str(uuid.uuid4()), class_id[:8]),
    )
    materials = math.ceil(size / config.chunks_per_material)
    await conn.execute(
        "INSERT INTO materials (id, class_id, title, storage_path, status)"
        " SELECT ('00000000-0000-4000-8000-' || lpad(to_hex(i), 12, '0'))::uuid, %s,"
        " 'Material ' || i, 'bench/' || i || '.pdf', 'ready' FROM generate_series(0, %s) i",
        (class_id, materials - 1),
    )
    await conn.execute(
        "INSERT INTO material_chunks (material_id, class_id, source_type, source_index, text,"
        " token_count, embedding, embedding_provider, embedding_model, extraction_method,"
        " metadata)"
        " SELECT ('00000000-0000-4000-8000-' || lpad(to_hex(s.g / %s), 12, '0'))::uuid, %s,"
        " 'page', s.g %% %s + 1, s.text, ceil(length(s.text) / 4.0), c.v + a.v + b.v, %s, %s,"
        " 'text', jsonb_build_object('bench_topic', s.topic)"
        " FROM staged s JOIN centres c ON c.id = s.topic"
        " JOIN noise a ON a.pool = 0 AND a.id = s.g %% %s"
        " JOIN noise b ON b.pool = 1 AND b.id = s.g %% %s",
        (
            config.chunks_per_material,
            class_id,
            config.chunks_per_material,
            MODEL.provider,
            MODEL.model,
            pool_a,
            pool_b,
        ),
    )
    await conn.execute("DROP TABLE staged, noise, centres")
    loaded = time.perf_counter()
    await conn.execute("SET maintenance_work_mem = '1GB'")
    await conn.execute(VECTOR_INDEX_DDL if config.index == "hnsw" else PLATFORM_IVFFLAT_DDL)
    vector_indexed = time.perf_counter()
    await index_missing_chunks(_Session(conn), class_id)
    await conn.execute("ANALYZE stemgraph_chunk_search,  materials, material_chunks")
    done = time.perf_counter()
    return {
        "class_id": class_id,
        "load_s": round(loaded - began, 2),
        "vector_index_s": round(vector_indexed - loaded, 2),
        "search_index_s": round(done - vector_indexed, 2),
    }


def queries(config: Config, count: int) -> list[tuple[str, list[float]]]:
    """`count` (text, vector) queries, each about one topic."""
    rng = random.Random(config.seed * 7)
    topics = _topics(config)
    out = []
    for i in range(count):
        topic = topics[i % len(topics)]
        words = " ".join(rng.sample(topic.words, 4))
        noise = _gauss_vector(rng, 0.3)
        out.append(
            (f"How does {words} work?", [c + n for c, n in zip(topic.centre, noise, strict=True)])
        )
    return out


_NAMED = re.compile(r"(?<![:\w]):([a-z_][a-z0-9_]*)")


class _Session:
    """The store's `:name` session over one psycopg connection (the bench owns its own)."""

    def __init__(self, conn: AsyncConnection[Any]) -> None:
        self._conn = conn

    async def query(self, sql: str, params: Mapping[str, Any] | None = None) -> Sequence[Any]:
        async with self._conn.cursor(row_factory=dict_row) as cursor:
            await cursor.execute(_NAMED.sub(r"%(\1)s", sql), dict(params or {}))
            return await cursor.fetchall()

    async def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> None:
        await self.query(sql, params)


async def sql_search(
    conn: AsyncConnection[Any], class_id: str, text: str, vector: list[float]
) -> list[str]:
    """One retrieval the way the server would run it: the class's embedding space looked up,
    the query embedded in it (here: the vector at hand), then SQL, in one transaction."""

    async def embedded(_text: str, model: str) -> list[float] | None:
        return vector if model == MODEL.model else None

    async with conn.transaction():
        hits = await hybrid_search_sql(
            _Session(conn), class_id, text, pgvector=True, limit=40, query_embedding=embedded
        )
    return [h.chunk_id for h in hits]


def _cosine(query: Sequence[float], query_norm: float, vector: Sequence[float]) -> float:
    norm = math.hypot(*vector)
    return sum(map(operator.mul, query, vector)) / (query_norm * norm) if norm else 0.0


async def scan_search(
    conn: AsyncConnection[Any], class_id: str, text: str, vector: list[float]
) -> list[str]:
    """Today's shape: full text in SQL, every vector loaded and scored in Python, RRF."""
    async with conn.cursor() as cursor:
        await cursor.execute(
            "SELECT ch.id::text FROM stemgraph_chunk_search s"
            " JOIN material_chunks ch ON ch.id = s.chunk_id,"
            " websearch_to_tsquery('english', %s) q WHERE s.class_id = %s AND s.document @@ q"
            " ORDER BY ts_rank(s.document, q) DESC, s.chunk_id LIMIT %s",
            (tsquery_text(text), class_id, LEXICAL_CANDIDATES),
        )
        lexical = [str(row[0]) for row in await cursor.fetchall()]
    norm = math.hypot(*vector)
    best: list[tuple[float, str]] = []
    # Binary rows: pgvector's wire form is a 4-byte header and big-endian float32s.
    unpack = struct.Struct(f">{EMBEDDING_DIMENSIONS}f").unpack_from
    async with conn.transaction(), conn.cursor(name="scan", binary=True) as cursor:
        await cursor.execute(
            "SELECT id::text, embedding FROM material_chunks"
            " WHERE class_id = %s AND embedding IS NOT NULL",
            (class_id,),
        )
        while rows := await cursor.fetchmany(2000):
            for chunk_id, blob in rows:
                score = _cosine(vector, norm, unpack(blob, 4))
                if len(best) < DENSE_CANDIDATES:
                    heapq.heappush(best, (score, chunk_id))
                else:
                    heapq.heappushpop(best, (score, chunk_id))
    dense = [chunk_id for _, chunk_id in sorted(best, reverse=True)]
    fused: dict[str, float] = {}
    for ranking in (lexical, dense):
        for rank, key in enumerate(ranking, start=1):
            fused[key] = fused.get(key, 0.0) + 1.0 / (RRF_K + rank)
    return sorted(fused, key=lambda key: (-fused[key], key))[:40]


async def chunk_topics(conn: AsyncConnection[Any], keys: Sequence[str]) -> list[int]:
    """The topic each chunk (by id: `source_index` is shared within a page) was made from."""
    topics = []
    for key in keys:
        cursor = await conn.execute(
            "SELECT (metadata->>'bench_topic')::int FROM material_chunks WHERE id = %s",
            (key,),
        )
        row = await cursor.fetchone()
        topics.append(row[0] if row else -1)
    return topics


async def _timed(calls: Sequence[Callable[[], Awaitable[list[str]]]]) -> dict[str, Any]:
    latencies: list[float] = []
    for call in calls:
        began = time.perf_counter()
        hits = await call()
        latencies.append((time.perf_counter() - began) * 1000)
        if not hits:
            raise RuntimeError("a bench query found nothing")
    return {
        "queries": len(latencies),
        "p50_ms": round(percentile(latencies, 50) or 0.0, 2),
        "p95_ms": round(percentile(latencies, 95) or 0.0, 2),
    }


@asynccontextmanager
async def schema(url: str) -> AsyncIterator[AsyncConnection[Any]]:
    """A connection whose search path is a fresh schema (dropped afterwards), then public."""
    name = f"sg_bench_retrieval_{uuid.uuid4().hex[:10]}"
    async with await AsyncConnection.connect(url, autocommit=True) as conn:
        await conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
        await conn.execute(f'CREATE SCHEMA "{name}"')
        # The extension's type and operators live in public.
        await conn.execute(f'SET search_path = "{name}", public')
        try:
            yield conn
        finally:
            await conn.execute("RESET search_path")
            await conn.execute(f'DROP SCHEMA "{name}" CASCADE')


async def run(url: str, config: Config) -> dict[str, Any]:
    """Every size: build, then the same queries through both sides."""
    rows = []
    for size, scan_count in zip(config.sizes, config.scan_queries, strict=True):
        async with schema(url) as conn:
            built = await build(conn, size, config)
            class_id = built.pop("class_id")
            asked = queries(config, config.sql_queries)
            # One untimed query each warms the plan cache and the buffer cache alike.
            await sql_search(conn, class_id, *asked[-1])
            sql = await _timed([partial(sql_search, conn, class_id, *q) for q in asked])
            scan = await _timed(
                [partial(scan_search, conn, class_id, *q) for q in asked[:scan_count]]
            )
            rows.append(
                {
                    "chunks": size,
                    "build": built,
                    "sql": sql,
                    "scan": scan,
                    "scan_over_sql_p50": round(scan["p50_ms"] / sql["p50_ms"], 1)
                    if sql["p50_ms"]
                    else None,
                }
            )
    return {
        "rows": rows,
        "config": asdict(config),
        "note": f"sql = pgvector {config.index} cosine + GIN full text fused by RRF in one"
        " statement;"
        " scan = full text in SQL, every vector scored in Python (today's retrieval shape)",
    }


def format_rows(results: dict[str, Any]) -> str:
    lines = [
        "retrieval: pgvector + full text in SQL vs a Python scan (one class, 1536-dim vectors)",
        f"{'chunks':>8}{'sql p50':>10}{'sql p95':>10}{'scan p50':>11}{'scan p95':>11}"
        f"{'scan/sql':>10}{'load s':>8}{'index s':>8}",
    ]
    for row in results["rows"]:
        lines.append(
            f"{row['chunks']:>8,}{row['sql']['p50_ms']:>10.1f}{row['sql']['p95_ms']:>10.1f}"
            f"{row['scan']['p50_ms']:>11.1f}{row['scan']['p95_ms']:>11.1f}"
            f"{row['scan_over_sql_p50'] or 0:>10.1f}{row['build']['load_s']:>8.1f}"
            f"{row['build']['vector_index_s']:>8.1f}"
        )
    return "\n".join(lines)


def add_to(results: dict[str, Any], *, quick: bool) -> None:
    """`python -m bench`'s hook: rows into `results["retrieval"]`, printed; skipped without a
    pgvector server (STEMGRAPH_TEST_PGVECTOR_URL)."""
    url = os.environ.get("STEMGRAPH_TEST_PGVECTOR_URL")
    if not url:
        print("\nretrieval: skipped (STEMGRAPH_TEST_PGVECTOR_URL unset; see .ci/pgvector.sh)")
        return
    results["retrieval"] = asyncio.run(run(url, QUICK if quick else FULL))
    print()
    print(format_rows(results["retrieval"]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.retrieval",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--quick", action="store_true", help="one small class")
    parser.add_argument("--pgvector-url", default=os.environ.get("STEMGRAPH_TEST_PGVECTOR_URL"))
    parser.add_argument("--index", choices=("ivfflat", "hnsw"), default=FULL.index)
    args = parser.parse_args(argv)
    if not args.pgvector_url:
        parser.error("needs --pgvector-url or STEMGRAPH_TEST_PGVECTOR_URL")
    config = replace(QUICK if args.quick else FULL, index=args.index)
    results = asyncio.run(run(args.pgvector_url, config))
    print(format_rows(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

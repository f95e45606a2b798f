"""Retrieval in SQL on Postgres: pgvector cosine and full text, fused by reciprocal rank.

Runs on the platform's `material_chunks` (`text`, `source_type`, `source_index`,
`section_title`, `embedding vector(1536)`, `embedding_provider`, `embedding_model`) joined to
`materials.title`. Nothing is scanned in Python: each ranking is one ordered, limited SQL query
over the class's rows, and the fusion happens in the same statement.

- Dense: `embedding <=> query` (cosine distance), only over chunks embedded in the query's
  embedding space (same model; the same provider when the chunk recorded one). Chunks of any
  other space get no dense rank, so distances from two models are never compared.
- Lexical: the chunk's stored tsvector (`stemgraph_chunk_search`, stemgraph's own table) against
  `websearch_to_tsquery` of the query's content words joined by `or`, ranked by `ts_rank`
  (`ts_rank_cd`'s cover density costs 5x as much on an `or` query matching a third of a class).
- Without pgvector (`pgvector_available` false) or without a query vector: full text alone.

The ranking knobs (RRF_K, candidate counts) are the in-process retrieval's (`tools.retrieval`).
Run a search inside a transaction (`store.transaction()`): the approximate index's recall
settings are set for that transaction only (`SET LOCAL` semantics).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Protocol

from tools.models.embeddings import EMBEDDING_DIMENSIONS, is_hashed_model
from tools.models.offline import OFFLINE_PROVIDER
from tools.retrieval import (
    DENSE_CANDIDATES,
    LEXICAL_CANDIDATES,
    MAX_QUERY_TERMS,
    RRF_K,
    normalise_query,
)
from tools.store.base import ChunkHit
from tools.text.words import query_terms

logger = logging.getLogger(__name__)

# The chunk's searchable text, weighted like the in-process retrieval's (section title above
# body). Ranking needs each matching chunk's tsvector, and computing it per query costs ~0.4 ms
# a chunk, so it is stored: in stemgraph's own table beside the platform's `material_chunks`
# (the platform's tables get no new columns), filled by the chunk writer (`index_chunks`).
FTS_DOCUMENT: Final = (
    "setweight(to_tsvector('english', coalesce(ch.section_title, '')), 'A')"
    " || setweight(to_tsvector('english', ch.text), 'B')"
)
SEARCH_TABLE_DDL: Final = """
CREATE TABLE IF NOT EXISTS stemgraph_chunk_search (
    chunk_id uuid PRIMARY KEY REFERENCES material_chunks (id) ON DELETE CASCADE,
    class_id uuid NOT NULL,
    document tsvector NOT NULL
);
CREATE INDEX IF NOT EXISTS stemgraph_chunk_search_document_idx
    ON stemgraph_chunk_search USING gin (document);
CREATE INDEX IF NOT EXISTS stemgraph_chunk_search_class_idx ON stemgraph_chunk_search (class_id);
"""
# HNSW rather than the platform's ivfflat for the tables stemgraph creates: ivfflat's lists
# are trained on the rows present when the index is built, and a migration builds it on an
# empty table; HNSW needs no training. The platform's own ivfflat index serves the same queries.
VECTOR_INDEX_DDL: Final = (
    "CREATE INDEX IF NOT EXISTS material_chunks_embedding_hnsw_idx"
    " ON material_chunks USING hnsw (embedding vector_cosine_ops)"
)

# Recall of the approximate indexes: the class filter is applied to what the index returns, so
# each scan must look further than the candidates it has to yield.
IVFFLAT_PROBES: Final = 10
HNSW_EF_SEARCH: Final = 200


class Session(Protocol):
    """The store's session: one connection speaking `:name` parameters."""

    async def query(self, sql: str, params: Mapping[str, Any] | None = None) -> Sequence[Any]: ...

    async def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> None: ...


@dataclass(frozen=True, slots=True)
class EmbeddingSpace:
    """Who made a vector: vectors are comparable only within one space."""

    provider: str | None
    model: str

    @property
    def hashed(self) -> bool:
        """Offline hashed vectors (no model behind them)."""
        return self.provider == OFFLINE_PROVIDER or is_hashed_model(self.model)

    def admits(self, chunk: EmbeddingSpace) -> bool:
        """Whether a query embedded in this space may be compared with `chunk`'s vector.

        The same model; a chunk that recorded no provider is matched on the model alone.
        """
        return chunk.model == self.model and chunk.provider in (None, self.provider)


@dataclass(frozen=True, slots=True)
class QueryVector:
    space: EmbeddingSpace
    values: Sequence[float]


QueryEmbedding = Callable[[str, str], Awaitable[list[float] | None]]
"""`await query_embedding(text, model)`: the query embedded by `model`, or None."""


# --- availability -------------------------------------------------------------------------------


async def pgvector_available(db: Session) -> bool:
    """Whether this database has pgvector's `vector` type and `<=>` reachable from the search
    path. The server checks it once at start-up (logging when it is absent) and reports it in
    `/healthz`; every search takes the answer as `pgvector=`."""
    rows = await db.query(
        "SELECT to_regtype('vector') IS NOT NULL"
        " AND to_regoperator('<=>(vector,vector)') IS NOT NULL AS ok"
    )
    return bool(rows and rows[0]["ok"])


# --- the write rule -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class VectorWrite:
    """What the chunk writer does with a material's vectors."""

    store: bool
    # Spaces whose vectors already in the class must be dropped (set to null) in the same write.
    clear: frozenset[EmbeddingSpace] = frozenset()
    warning: str | None = None


def vector_write(
    incoming: EmbeddingSpace | None, existing: Collection[EmbeddingSpace]
) -> VectorWrite:
    """The one-embedding-space rule for writing a material's vectors into a class that already
    holds vectors of `existing` spaces.

    - Hashed (offline) vectors are never stored beside a real model's: they are skipped.
    - A real model's vectors replace the class's hashed ones (those are cleared).
    - Two real models may share a class (each chunk records its own; a query is compared only
      with its own model's chunks), but that is worth a warning: the other model's chunks are
      then reachable by full text only.
    """
    if incoming is None:
        return VectorWrite(store=False)
    real = sorted((s for s in existing if not s.hashed), key=lambda s: (s.model, s.provider or ""))
    if incoming.hashed:
        if real:
            return VectorWrite(
                store=False,
                warning=f"offline hashed vectors are not stored beside {real[0].model}'s;"
                " the material's chunks are stored without vectors",
            )
        return VectorWrite(store=True)
    hashed = frozenset(s for s in existing if s.hashed)
    others = [s for s in real if not incoming.admits(s) and not s.admits(incoming)]
    warning = None
    if others:
        warning = (
            f"the class already holds vectors of {others[0].model}; queries embedded with one"
            " model rank the other's chunks by full text only"
        )
    return VectorWrite(store=True, clear=hashed, warning=warning)


# How many of a class's vectors `class_embedding_spaces` looks at: counting every row costs
# ~140 ms at 100k chunks, a sample through the class index a few ms, and the space most of
# the sample comes from is the one the class's vectors are mostly in.
SPACE_SAMPLE: Final = 2000


async def class_embedding_spaces(db: Session, class_id: str) -> list[EmbeddingSpace]:
    """The spaces of the class's stored vectors (a sample of SPACE_SAMPLE), the most used first."""
    rows = await db.query(
        "SELECT embedding_provider, embedding_model, count(*) AS n FROM ("
        " SELECT embedding_provider, embedding_model FROM material_chunks"
        " WHERE class_id = :c AND embedding IS NOT NULL AND embedding_model IS NOT NULL"
        " LIMIT :sample) sampled"
        " GROUP BY embedding_provider, embedding_model"
        " ORDER BY n DESC, embedding_model, embedding_provider",
        {"c": class_id, "sample": SPACE_SAMPLE},
    )
    return [EmbeddingSpace(row["embedding_provider"], row["embedding_model"]) for row in rows]


# --- the full-text table -----------------------------------------------------------------------


async def index_chunks(db: Session, material_id: str) -> None:
    """(Re)index a material's chunks for full text: the chunk writer calls it after writing
    them, in the same transaction. Deleted chunks leave the table by cascade."""
    await db.execute(
        "INSERT INTO stemgraph_chunk_search (chunk_id, class_id, document)"
        f" SELECT ch.id, ch.class_id, {FTS_DOCUMENT} FROM material_chunks ch"
        " WHERE ch.material_id = :m ON CONFLICT (chunk_id) DO UPDATE"
        " SET class_id = EXCLUDED.class_id, document = EXCLUDED.document",
        {"m": material_id},
    )


async def index_missing_chunks(db: Session, class_id: str | None = None) -> int:
    """Index chunks someone else wrote (the platform's seed, a cloned guest sandbox), in one
    class or all; how many were added. For start-up and after a sandbox is cloned."""
    rows = await db.query(
        "WITH added AS (INSERT INTO stemgraph_chunk_search (chunk_id, class_id, document)"
        f" SELECT ch.id, ch.class_id, {FTS_DOCUMENT} FROM material_chunks ch"
        " WHERE (CAST(:c AS uuid) IS NULL OR ch.class_id = CAST(:c AS uuid))"
        " AND NOT EXISTS (SELECT 1 FROM stemgraph_chunk_search s WHERE s.chunk_id = ch.id)"
        " ON CONFLICT (chunk_id) DO NOTHING RETURNING 1)"
        " SELECT count(*) AS n FROM added",
        {"c": class_id},
    )
    return int(rows[0]["n"])


# --- search -------------------------------------------------------------------------------------


def vector_literal(values: Sequence[float]) -> str | None:
    """`values` as pgvector's text form, or None unless they are EMBEDDING_DIMENSIONS finite
    numbers, not all zero (cosine distance to a zero vector is undefined)."""
    if len(values) != EMBEDDING_DIMENSIONS:
        return None
    try:
        numbers = [float(v) for v in values]
    except (TypeError, ValueError):
        return None
    if not all(math.isfinite(v) for v in numbers) or not any(numbers):
        return None
    return "[" + ",".join(repr(v) for v in numbers) + "]"


def tsquery_text(query: str, terms: Sequence[str] | None = None) -> str:
    """The query's content words (or `terms`) joined by `or`, for `websearch_to_tsquery`
    (which never rejects its input): any word may match, and chunks matching more rank
    higher."""
    chosen = query_terms(normalise_query(query)) if terms is None else list(terms)
    return " or ".join(chosen[:MAX_QUERY_TERMS])


async def class_terms(db: Session, class_id: str, query: str) -> list[str]:
    """At most MAX_QUERY_TERMS of the query's terms: when there are more, those some chunk of
    the class matches come first (as the in-process retrieval prefers the class's words)."""
    terms = query_terms(normalise_query(query))
    if len(terms) <= MAX_QUERY_TERMS:
        return terms
    rows = await db.query(
        "SELECT t.term FROM unnest(CAST(:terms AS text[])) WITH ORDINALITY AS t(term, i)"
        " WHERE EXISTS (SELECT 1 FROM stemgraph_chunk_search s WHERE s.class_id = :c"
        " AND s.document @@ plainto_tsquery('english', t.term))"
        " ORDER BY t.i LIMIT :n",
        {"terms": terms, "c": class_id, "n": MAX_QUERY_TERMS},
    )
    present = [str(row["term"]) for row in rows]
    absent = [term for term in terms if term not in set(present)]
    return (present + absent)[:MAX_QUERY_TERMS]


_HIT_COLUMNS: Final = (
    "ch.id::text AS chunk_id, ch.material_id::text AS material_id,"
    " m.title AS material_title, ch.source_type, ch.source_index, ch.section_title, ch.text"
)

_LEXICAL: Final = """
    SELECT id, row_number() OVER (ORDER BY rank DESC, id) AS r FROM (
        SELECT s.chunk_id AS id, ts_rank(s.document, q) AS rank
        FROM stemgraph_chunk_search s, websearch_to_tsquery('english', :terms) q
        WHERE s.class_id = :c AND s.document @@ q
        ORDER BY rank DESC, s.chunk_id LIMIT :lexical_k
    ) ranked"""

# The ORDER BY is exactly `embedding <=> vector` so an HNSW/ivfflat index can serve it; the
# planner falls back to the class index and an exact sort when the class is small. The filters
# are plain column comparisons (no coalesce) so the planner's row estimates hold.
_DENSE: Final = """
    SELECT id, row_number() OVER (ORDER BY distance, id) AS r FROM (
        SELECT ch.id, ch.embedding <=> :vector::vector AS distance
        FROM material_chunks ch
        WHERE ch.class_id = :c AND ch.embedding IS NOT NULL
          AND ch.embedding_model = :model
          AND (ch.embedding_provider = :provider OR ch.embedding_provider IS NULL)
        ORDER BY ch.embedding <=> :vector::vector LIMIT :dense_k
    ) ranked"""


def _fused_sql(rankings: Sequence[str]) -> str:
    union = " UNION ALL ".join(f"({ranking})" for ranking in rankings)
    return f"""
    WITH ranks AS ({union}),
    fused AS (SELECT id, sum(1.0 / (:rrf_k + r)) AS score FROM ranks GROUP BY id)
    SELECT {_HIT_COLUMNS}, fused.score::float8 AS score
    FROM fused JOIN material_chunks ch ON ch.id = fused.id
    JOIN materials m ON m.id = ch.material_id
    ORDER BY fused.score DESC, ch.material_id, ch.source_index, ch.created_at, ch.id
    LIMIT :n"""


def _hit(row: Mapping[str, Any]) -> ChunkHit:
    return ChunkHit(
        material_id=str(row["material_id"]),
        material_title=row["material_title"],
        source_type=row["source_type"],
        chunk_index=int(row["source_index"]) - 1,
        section=row["section_title"],
        content=row["text"],
        score=round(float(row["score"]), 6),
        chunk_id=row["chunk_id"],
    )


async def _reading_order(db: Session, class_id: str, limit: int) -> list[ChunkHit]:
    rows = await db.query(
        f"SELECT {_HIT_COLUMNS}, 0.0::float8 AS score FROM material_chunks ch"
        " JOIN materials m ON m.id = ch.material_id WHERE ch.class_id = :c"
        " ORDER BY m.created_at, m.id, ch.source_index, ch.created_at, ch.id LIMIT :n",
        {"c": class_id, "n": limit},
    )
    return [_hit(row) for row in rows]


async def search_chunks_sql(
    db: Session,
    class_id: str,
    query: str,
    *,
    query_vector: QueryVector | None = None,
    pgvector: bool,
    limit: int = 40,
) -> list[ChunkHit]:
    """The class's chunks ranked by reciprocal-rank fusion of full text and (with pgvector and a
    usable query vector) cosine similarity in the query's embedding space.

    A query with nothing to rank by gets the class's chunks in reading order with score 0, as
    the in-process retrieval does, so a generator still has material to ground on.
    """
    if limit <= 0:
        return []
    params: dict[str, Any] = {"c": class_id, "n": limit, "rrf_k": RRF_K}
    rankings: list[str] = []
    terms = tsquery_text(query, await class_terms(db, class_id, query))
    if terms:
        rankings.append(_LEXICAL)
        params |= {"terms": terms, "lexical_k": LEXICAL_CANDIDATES}
    literal = vector_literal(query_vector.values) if query_vector and pgvector else None
    if query_vector is not None and literal is not None:
        rankings.append(_DENSE)
        params |= {
            "vector": literal,
            "model": query_vector.space.model,
            "provider": query_vector.space.provider or "",
            "dense_k": DENSE_CANDIDATES,
        }
        await db.query(
            "SELECT set_config('ivfflat.probes', :probes, true) AS probes,"
            " set_config('hnsw.ef_search', :ef, true) AS ef",
            {"probes": str(IVFFLAT_PROBES), "ef": str(HNSW_EF_SEARCH)},
        )
    if not rankings:
        return await _reading_order(db, class_id, limit)
    rows = await db.query(_fused_sql(rankings), params)
    if not rows:
        return await _reading_order(db, class_id, limit)
    return [_hit(row) for row in rows]


async def hybrid_search_sql(
    db: Session,
    class_id: str,
    query: str,
    *,
    pgvector: bool,
    limit: int = 40,
    query_embedding: QueryEmbedding | None = None,
) -> list[ChunkHit]:
    """`search_chunks_sql` with the query embedded in the class's main embedding space.

    The drop-in for `tools.retrieval.hybrid_search` on Postgres: `query_embedding(text, model)`
    is asked for the model most of the class's vectors come from; None (or a failure, or a
    hashed space) leaves full text alone.
    """
    vector: QueryVector | None = None
    if pgvector and query_embedding is not None:
        spaces = [s for s in await class_embedding_spaces(db, class_id) if not s.hashed]
        if spaces:
            space = spaces[0]
            try:
                values = await query_embedding(normalise_query(query), space.model)
            except Exception:  # noqa: BLE001 - a provider failure leaves full-text retrieval
                logger.warning("embedding the query with %s failed; full text only", space.model)
                values = None
            if values is not None:
                vector = QueryVector(space, values)
    return await search_chunks_sql(
        db, class_id, query, query_vector=vector, pgvector=pgvector, limit=limit
    )

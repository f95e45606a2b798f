"""Hybrid retrieval over a class's material chunks: lexical and dense, fused by reciprocal rank.

- Lexical: the store's full-text search (SQLite FTS5 bm25, Postgres ts_rank_cd) on the query's
  content words.
- Dense: when the class has vectors a provider stored at ingest and the caller can embed the
  query with the same model, exact cosine against those vectors, in process. Every other chunk is
  scored with hashed embeddings (`tools.models.embeddings`) of its stemmed content words (section
  title included), each query dimension weighted by its rarity in the class. Those vectors are
  computed here and kept in a bounded LRU cache.
- Fusion: reciprocal rank, `sum(weight / (RRF_K + rank))` over the two rankings.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import math
import operator
import re
import statistics
import unicodedata
from array import array
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Final

from tools.models.embeddings import (
    EMBEDDING_DIMENSIONS,
    hash_features,
    hashed_model,
    is_hashed_model,
)
from tools.store.base import ChunkHit, Store, StoredEmbedding
from tools.text import strip_invisible
from tools.text.words import STOPWORDS, query_terms, stem, tokens

logger = logging.getLogger(__name__)

QueryEmbedding = Callable[[str, str], Awaitable[list[float] | None]]
"""`await query_embedding(text, model)`: the query embedded by `model`, or None when it can't be."""

ChunkKey = tuple[str, int, str]

RRF_K: Final = 60
LEXICAL_WEIGHT = 1.0
DENSE_WEIGHT = 1.0
LEXICAL_CANDIDATES: Final = 40
DENSE_CANDIDATES: Final = 40
MAX_QUERY_CHARS: Final = 2000
MAX_QUERY_TERMS: Final = 24  # the store searches at most 24 terms too

# The LRU cache of offline chunk vectors (float32 arrays, 6 KB each), bounded in count and bytes.
CACHE_MAX_VECTORS = 20_000
HASHED_SPACE: Final = hashed_model()
CACHE_MAX_BYTES = 64 * 1024 * 1024
_vectors: OrderedDict[bytes, array[float]] = OrderedDict()
_cached_bytes = 0

_CONTROL: Final = re.compile(r"[\x00-\x1f\x7f-\x9f]")


# --- text ---------------------------------------------------------------------------------------


def normalise_query(query: str) -> str:
    """The query as searched: NFKC, no invisible or control characters, single-spaced, capped."""
    text = unicodedata.normalize("NFKC", query[: MAX_QUERY_CHARS * 4])
    text = _CONTROL.sub(" ", strip_invisible(text))
    return " ".join(text.split())[:MAX_QUERY_CHARS].strip()


def content_text(text: str) -> str:
    """What offline vectors embed: content words, accents folded, stemmed, in their order.

    Without function words, word pairs span them: "speed of sound" in a chunk and "the sound's
    speed" in a question stop sharing only the word "the".
    """
    folded = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", text).casefold())
    folded = "".join(c for c in folded if not unicodedata.combining(c))
    return " ".join(stem(w) for w in tokens(folded) if w not in STOPWORDS)


def _embed(text: str) -> dict[int, float]:
    """The hashed sparse embedding of content text (`content_text`); {} when it has no word."""
    return hash_features(text.split())


def _dense(sparse: dict[int, float]) -> array[float]:
    """A sparse vector as a float32 array (empty for no words): long chunks fill a third of the
    hashed space, where an array is several times smaller than a dict and faster to index."""
    if not sparse:
        return array("f")
    vector = array("f", bytes(4 * EMBEDDING_DIMENSIONS))
    for bucket, value in sparse.items():
        vector[bucket] = value
    return vector


# --- offline vectors ----------------------------------------------------------------------------


def _chunk_vector(hit: ChunkHit) -> array[float]:
    """A chunk's offline vector (its section title is part of what it is about), cached."""
    global _cached_bytes
    text = f"{hit.section}\n{hit.content}" if hit.section else hit.content
    key = hashlib.blake2b(text.encode("utf-8"), digest_size=16).digest()
    cached = _vectors.get(key)
    if cached is not None:
        _vectors.move_to_end(key)
        return cached
    vector = _dense(_embed(content_text(text)))
    _vectors[key] = vector
    _cached_bytes += _size(vector)
    while _vectors and (len(_vectors) > CACHE_MAX_VECTORS or _cached_bytes > CACHE_MAX_BYTES):
        _, evicted = _vectors.popitem(last=False)
        _cached_bytes -= _size(evicted)
    return vector


def _size(vector: array[float]) -> int:
    return len(vector) * vector.itemsize


def cache_stats() -> tuple[int, int]:
    """(vectors, bytes of vector data) in the in-process cache of offline chunk vectors."""
    return len(_vectors), _cached_bytes


def clear_cache() -> None:
    global _cached_bytes
    _vectors.clear()
    _cached_bytes = 0


def _idf(bucket: int, vectors: Sequence[array[float]]) -> float:
    df = sum(1 for v in vectors if v and v[bucket])
    return math.log(1.0 + (len(vectors) - df + 0.5) / (df + 0.5)) if df else 0.0


def _cap_terms(terms: list[str], vectors: Sequence[array[float]]) -> list[str]:
    """At most MAX_QUERY_TERMS terms: the rarest in the class win (absent ones come last)."""
    if len(terms) <= MAX_QUERY_TERMS:
        return terms

    def rarity(term: str) -> float:
        buckets = list(_embed(content_text(term)))
        return -_idf(buckets[0], vectors) if len(buckets) == 1 else 0.0

    keep = set(sorted(terms, key=rarity)[:MAX_QUERY_TERMS])
    return [term for term in terms if term in keep]


def _offline_scores(query: str, vectors: Sequence[array[float]]) -> list[float]:
    """Hashed-embedding similarity, each query dimension weighted by its rarity in the class."""
    weighted = [(b, v * _idf(b, vectors)) for b, v in _embed(content_text(query)).items()]
    weights = [(b, w) for b, w in weighted if w]
    return [sum(w * v[b] for b, w in weights) if v else 0.0 for v in vectors]


# --- provider vectors ---------------------------------------------------------------------------


def _usable(vector: object) -> list[float] | None:
    if not isinstance(vector, list | tuple) or not vector:
        return None
    try:
        values = [float(x) for x in vector]
    except (TypeError, ValueError):
        return None
    if not all(math.isfinite(x) for x in values) or not any(values):
        return None
    return values


def _cosine(query: Sequence[float], query_norm: float, vector: Sequence[float]) -> float:
    norm = math.hypot(*vector)
    if not norm or not math.isfinite(norm):
        return 0.0
    return float(sum(map(operator.mul, query, vector))) / (query_norm * norm)


async def _provider_scores(
    stored: Iterable[StoredEmbedding], query: str, query_embedding: QueryEmbedding
) -> dict[ChunkKey, tuple[str, float, ChunkHit]]:
    """Chunk key -> (model, cosine, chunk) for chunks whose model embedded the query."""
    by_model: dict[str, list[StoredEmbedding]] = {}
    for row in stored:
        # Hashed vectors are scored in process (with class IDF) anyway.
        if not is_hashed_model(row.model):
            by_model.setdefault(row.model, []).append(row)
    scores: dict[ChunkKey, tuple[str, float, ChunkHit]] = {}
    for model, rows in sorted(by_model.items()):
        try:
            vector = _usable(await query_embedding(query, model))
        except Exception:  # noqa: BLE001 - a provider failure falls back to offline vectors
            logger.warning("embedding the query with %s failed; using offline vectors", model)
            vector = None
        if vector is None:
            continue
        norm = math.hypot(*vector)
        for row in rows:
            if len(row.vector) == len(vector):
                scores[_key(row.chunk)] = (model, _cosine(vector, norm, row.vector), row.chunk)
    return scores


def _comparable(scores: dict[ChunkKey, tuple[str, float]]) -> dict[ChunkKey, float]:
    """One dense ranking from several embedding spaces: z-scores within each space.

    Cosines from different models (or from the hashed space) are on different scales; a chunk is
    ranked by how far it stands above its own space's average. One space keeps its raw scores.
    """
    spaces: dict[str, list[float]] = {}
    for space, value in scores.values():
        spaces.setdefault(space, []).append(value)
    if len(spaces) == 1:
        return {key: value for key, (_, value) in scores.items()}
    moments = {
        space: (statistics.fmean(values), statistics.pstdev(values))
        for space, values in spaces.items()
    }

    def z(space: str, value: float) -> float:
        mean, deviation = moments[space]
        return (value - mean) / deviation if deviation else 0.0

    return {key: z(space, value) for key, (space, value) in scores.items()}


# --- search -------------------------------------------------------------------------------------


def _key(hit: ChunkHit) -> ChunkKey:
    # With the row's id: the chunks of one page share its `source_index`.
    return hit.material_id, hit.chunk_index, hit.chunk_id


def _reading_order(chunks: Sequence[ChunkHit], limit: int) -> list[ChunkHit]:
    return [dataclasses.replace(hit, score=0.0) for hit in chunks[:limit]]


def _ranked(scores: dict[ChunkKey, float], limit: int) -> list[ChunkKey]:
    return sorted(scores, key=lambda key: (-scores[key], key))[:limit]


async def hybrid_search(
    store: Store,
    class_id: str,
    query: str,
    *,
    limit: int = 40,
    query_embedding: QueryEmbedding | None = None,
) -> list[ChunkHit]:
    """The class's chunks for `query`, best first: ranked in SQL where the store can
    (`Store.ranked_chunks`: Postgres, pgvector + full text, the query embedded once in the
    class's main provider space), else in process (`hybrid_search_in_process`: SQLite)."""
    ranked = await store.ranked_chunks(
        class_id, query, limit=limit, query_embedding=query_embedding
    )
    if ranked is not None:
        return ranked
    return await hybrid_search_in_process(
        store, class_id, query, limit=limit, query_embedding=query_embedding
    )


async def hybrid_search_in_process(
    store: Store,
    class_id: str,
    query: str,
    *,
    limit: int = 40,
    query_embedding: QueryEmbedding | None = None,
) -> list[ChunkHit]:
    """The class's chunks ranked by reciprocal-rank fusion of full-text and dense similarity.

    `query_embedding(text, model)` embeds the query with a provider model. It is asked once for
    each provider model that stored vectors in this class; when it returns None (or fails), those
    chunks are scored with offline vectors like the chunks that have no stored vector.

    A query with nothing to rank by (no content words, or no word any chunk shares) gets the
    class's chunks in reading order with score 0, as the store's own fallback does, so a
    generator still has material to ground on.
    """
    if limit <= 0:
        return []
    chunks = await store.class_chunks(class_id)
    if not chunks:
        return []
    text = normalise_query(query)
    vectors = [_chunk_vector(hit) for hit in chunks]
    terms = _cap_terms(query_terms(text), vectors)
    if not terms:
        return _reading_order(chunks, limit)
    by_key = {_key(hit): hit for hit in chunks}

    lexical_hits = await store.search_chunks(class_id, " ".join(terms), limit=LEXICAL_CANDIDATES)
    # Rows with score 0 are the store's no-match fallback: they carry no ranking signal.
    lexical = [_key(hit) for hit in lexical_hits if hit.score > 0]
    for hit in lexical_hits:
        by_key.setdefault(_key(hit), hit)

    dense_scores: dict[ChunkKey, tuple[str, float]] = {}
    if query_embedding is not None:
        provider = await _provider_scores(
            await store.class_embeddings(class_id), text, query_embedding
        )
        for key, (model, score, hit) in provider.items():
            dense_scores[key] = (model, score)
            by_key.setdefault(key, hit)
    for hit, score in zip(chunks, _offline_scores(text, vectors), strict=True):
        if score > 0 and _key(hit) not in dense_scores:
            dense_scores[_key(hit)] = (HASHED_SPACE, score)
    dense = _ranked(_comparable(dense_scores), DENSE_CANDIDATES)

    fused: dict[ChunkKey, float] = {}
    for weight, ranking in ((LEXICAL_WEIGHT, lexical), (DENSE_WEIGHT, dense)):
        for rank, key in enumerate(ranking, start=1):
            fused[key] = fused.get(key, 0.0) + weight / (RRF_K + rank)
    if not fused:
        return _reading_order(chunks, limit)
    return [
        dataclasses.replace(by_key[key], score=round(fused[key], 6))
        for key in _ranked(fused, limit)
    ]

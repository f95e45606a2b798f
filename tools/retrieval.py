"""Hybrid retrieval over a class's material chunks: lexical and dense, fused by reciprocal rank."""

from __future__ import annotations

import dataclasses
from collections import OrderedDict

from tools.models.offline import offline_sparse_embedding, sparse_cosine
from tools.store.base import ChunkHit, Store

RRF_K = 60
LEXICAL_CANDIDATES = 40
DENSE_CANDIDATES = 40
_CACHE_SIZE = 20_000
_vectors: OrderedDict[str, dict[int, float]] = OrderedDict()


def _vector(text: str) -> dict[int, float]:
    # Chunks are immutable once stored; caching by content keeps repeat queries cheap.
    cached = _vectors.get(text)
    if cached is None:
        cached = offline_sparse_embedding(text)
        _vectors[text] = cached
        if len(_vectors) > _CACHE_SIZE:
            _vectors.popitem(last=False)
    else:
        _vectors.move_to_end(text)
    return cached


def _key(hit: ChunkHit) -> tuple[str, int]:
    return hit.material_id, hit.chunk_index


async def hybrid_search(
    store: Store, class_id: str, query: str, *, limit: int = 40
) -> list[ChunkHit]:
    """Chunks ranked by reciprocal-rank fusion of full-text search and embedding similarity.

    Dense scores come from the offline engine's hashed embeddings computed in process (an exact
    scan over the class's chunks), so retrieval works with no provider and no vector extension.
    """
    lexical = await store.search_chunks(class_id, query, limit=LEXICAL_CANDIDATES)
    chunks = await store.class_chunks(class_id)
    query_vector = _vector(query)
    dense = sorted(
        chunks,
        key=lambda hit: (-sparse_cosine(query_vector, _vector(hit.content)), _key(hit)),
    )[:DENSE_CANDIDATES]
    fused: dict[tuple[str, int], float] = {}
    by_key: dict[tuple[str, int], ChunkHit] = {}
    # Lexical fallback rows (no term matched) carry score 0 and no ranking signal.
    ranked_lexical = [hit for hit in lexical if hit.score > 0]
    for ranking in (ranked_lexical, dense):
        for rank, hit in enumerate(ranking, start=1):
            fused[_key(hit)] = fused.get(_key(hit), 0.0) + 1.0 / (RRF_K + rank)
            by_key.setdefault(_key(hit), hit)
    order = sorted(fused, key=lambda key: (-fused[key], key))[:limit]
    return [dataclasses.replace(by_key[key], score=round(fused[key], 6)) for key in order]

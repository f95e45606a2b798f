"""Hybrid retrieval on both backends: scoping, robustness, stored provider vectors, the cache."""

from __future__ import annotations

import math
import uuid
from collections.abc import Sequence
from typing import Any

import pytest

from tools import retrieval
from tools.demo import DEMO_CLASS_ID, seed_demo
from tools.models.offline import OFFLINE_MODEL
from tools.retrieval import (
    MAX_QUERY_CHARS,
    MAX_QUERY_TERMS,
    cache_stats,
    clear_cache,
    normalise_query,
)
from tools.retrieval import hybrid_search as sql_search  # in SQL where the store can

# The in-process ranking, on both backends (the dispatcher sends Postgres to SQL).
from tools.retrieval import hybrid_search_in_process as hybrid_search
from tools.store.base import ChunkHit, ChunkInput, Store
from tools.store.retrieval import class_terms

MODEL = "test-embed-8"

FORCE = "Newton's second law: the resultant force equals mass times acceleration, F = m × a."
PHOTO = "Photosynthesis converts light energy into chemical energy inside the chloroplasts."
CELLS = "Mitochondria release energy from glucose during aerobic respiration."
WAVES = "Sound is a longitudinal wave made of compressions and rarefactions travelling in air."
ROCKS = "Igneous rocks such as granite and basalt form when molten magma cools and solidifies."


def new_id() -> str:
    return str(uuid.uuid4())


def axis(i: int, dims: int = 8) -> tuple[float, ...]:
    return tuple(1.0 if d == i else 0.0 for d in range(dims))


async def make_class(store: Store) -> str:
    teacher = new_id()
    await store.upsert_profile(teacher, "teacher", "Teacher")
    class_id = new_id()
    await store.create_class(
        class_id=class_id, owner_id=teacher, title="Science", join_code=uuid.uuid4().hex[:8]
    )
    return class_id


async def add_material(
    store: Store,
    class_id: str,
    contents: Sequence[str],
    *,
    vectors: Sequence[tuple[float, ...] | None] | None = None,
    model: str = MODEL,
    section: str | None = "Notes",
) -> str:
    material_id = new_id()
    chunks = [
        ChunkInput(
            i,
            text,
            section,
            len(text) // 4 + 1,
            embedding=vectors[i] if vectors else None,
            embedding_model=model if vectors and vectors[i] else None,
        )
        for i, text in enumerate(contents)
    ]
    await store.save_material(
        material_id=material_id,
        class_id=class_id,
        title="Notes",
        source_type="markdown",
        chunks=chunks,
    )
    return material_id


class Embedder:
    """A query-embedding callback that records its calls and answers from a table."""

    def __init__(self, answer: Any = None, *, error: Exception | None = None) -> None:
        self.answer = answer
        self.error = error
        self.calls: list[tuple[str, str]] = []

    async def __call__(self, text: str, model: str) -> list[float] | None:
        self.calls.append((text, model))
        if self.error is not None:
            raise self.error
        answer: list[float] | None = self.answer
        return answer


def keys(hits: Sequence[ChunkHit]) -> list[tuple[str, int]]:
    return [(h.material_id, h.chunk_index) for h in hits]


@pytest.fixture(autouse=True)
def fresh_cache() -> None:
    clear_cache()


# --- helpers (no store) ---------------------------------------------------------------------


def test_normalise_query_strips_invisible_and_control_characters() -> None:
    assert normalise_query("\u200bforce\u200d and\u2060 \x00mass\t\n ") == "force and mass"
    assert normalise_query("Ｆｏｒｃｅ ＝ ｍａｓｓ") == "Force = mass"  # NFKC folds full-width
    assert normalise_query("\U000e0041\ufeff") == ""
    assert len(normalise_query("word " * 10_000)) <= MAX_QUERY_CHARS


# --- on both backends -------------------------------------------------------------------------


async def test_the_relevant_chunk_ranks_first(store: Store) -> None:
    class_id = await make_class(store)
    material = await add_material(store, class_id, [PHOTO, FORCE, CELLS, WAVES])
    hits = await hybrid_search(store, class_id, "How is force linked to acceleration?")
    assert keys(hits)[0] == (material, 1)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert all(h.score > 0 for h in hits)
    # Inflections and invisible characters do not get in the way.
    hits = await hybrid_search(store, class_id, "longitudinal\u200b waves travel")
    assert keys(hits)[0] == (material, 3)


async def test_paraphrases_find_the_demo_material(store: Store) -> None:
    await seed_demo(store)
    hits = await hybrid_search(store, DEMO_CLASS_ID, "How fast does sound move through steel?")
    assert "5000 m/s in steel" in " ".join(h.content for h in hits[:3])
    hits = await hybrid_search(store, DEMO_CLASS_ID, "steady falling speed of a parachutist")
    assert "terminal velocity" in " ".join(h.content for h in hits[:3])


async def test_results_never_leave_the_class(store: Store) -> None:
    class_a = await make_class(store)
    class_b = await make_class(store)
    material_a = await add_material(store, class_a, [PHOTO, CELLS])
    await add_material(store, class_b, [FORCE, WAVES, "force " * 50], vectors=[axis(0)] * 3)
    for query in ("force acceleration waves", "energy", "zzzz unmatched", "what is it?", ""):
        for embedder in (None, Embedder([1.0] + [0.0] * 7)):
            hits = await hybrid_search(store, class_a, query, query_embedding=embedder)
            assert hits, query
            assert {h.material_id for h in hits} == {material_a}, query


@pytest.mark.parametrize(
    "query",
    [
        'force "acceleration',
        "force AND OR NOT acceleration",
        "NEAR(force mass, 2)",
        "content: force*",
        "^force -mass +weight",
        "'; DROP TABLE material_chunks; --",
        "(((force)))",
        "force & | ! <-> :* mass",
        "%_\\",
        "{}[]@#~`",
        "\x00\x01\x7f",
    ],
)
async def test_query_syntax_characters_are_literal(store: Store, query: str) -> None:
    class_id = await make_class(store)
    material = await add_material(store, class_id, [FORCE, PHOTO])
    hits = await hybrid_search(store, class_id, query)
    assert {h.material_id for h in hits} == {material}


async def test_an_empty_class_gets_nothing(store: Store) -> None:
    class_id = await make_class(store)
    assert await hybrid_search(store, class_id, "force") == []
    assert await hybrid_search(store, class_id, "") == []
    embedder = Embedder([1.0] * 8)
    assert await hybrid_search(store, class_id, "force", query_embedding=embedder) == []
    assert embedder.calls == []


async def test_a_query_without_content_words_gets_reading_order(store: Store) -> None:
    class_id = await make_class(store)
    material = await add_material(store, class_id, [PHOTO, FORCE, CELLS])
    for query in ("", "   ", "what is it, and why?", "?!…", "\u200b\u200c"):
        hits = await hybrid_search(store, class_id, query, limit=2)
        assert keys(hits) == [(material, 0), (material, 1)], query
        assert {h.score for h in hits} == {0.0}
    assert await hybrid_search(store, class_id, "force", limit=0) == []


async def test_unicode_queries(store: Store) -> None:
    class_id = await make_class(store)
    material = await add_material(
        store, class_id, [PHOTO, "L'énergie cinétique dépend de la vitesse.", FORCE]
    )
    for query in (
        "énergie cinétique",
        "ENERGIE CINETIQUE",
        "Ｆｏｒｃｅ",
        "力 と 加速度",
        "🙂 force",
    ):
        hits = await hybrid_search(store, class_id, query)
        assert {h.material_id for h in hits} == {material}, query
    assert keys(await hybrid_search(store, class_id, "énergie cinétique"))[0] == (material, 1)
    assert keys(await hybrid_search(store, class_id, "Ｆｏｒｃｅ"))[0] == (material, 2)


async def test_postgres_ranks_in_sql_and_sqlite_in_process(store: Store) -> None:
    class_id = await make_class(store)
    await add_material(store, class_id, [PHOTO, FORCE, CELLS, ROCKS])
    query = "granite basalt magma energy"
    hits = await sql_search(store, class_id, query, limit=3)
    in_sql = await store.ranked_chunks(class_id, query, limit=3)
    if store.backend == "postgres":
        assert in_sql is not None and hits == in_sql
    else:
        assert in_sql is None
        assert hits == await hybrid_search(store, class_id, query, limit=3)
    assert hits and "granite" in hits[0].content


@pytest.mark.parametrize("backend", ["postgres"])  # ranking in SQL is Postgres's
async def test_in_sql_a_very_long_query_keeps_the_class_s_terms(store: Store) -> None:
    class_id = await make_class(store)
    material = await add_material(store, class_id, [PHOTO, FORCE, CELLS, ROCKS])
    filler = " ".join(f"word{n}" for n in range(5_000))
    async with store.transaction() as db:
        terms = await class_terms(db, class_id, f"granite basalt {filler} mitochondria")
    assert len(terms) == MAX_QUERY_TERMS and {"granite", "basalt"} <= set(terms)
    hits = await sql_search(store, class_id, f"granite basalt {filler} mitochondria")
    assert keys(hits)[0] == (material, 3)


async def test_a_very_long_query_is_capped(store: Store) -> None:
    class_id = await make_class(store)
    material = await add_material(store, class_id, [PHOTO, FORCE, CELLS, ROCKS])
    filler = " ".join(f"word{n}" for n in range(5_000))
    searched: list[str] = []
    real_search = store.search_chunks

    async def spy(class_id: str, query: str, *, limit: int) -> list[ChunkHit]:
        searched.append(query)
        return await real_search(class_id, query, limit=limit)

    store.search_chunks = spy  # type: ignore[method-assign]
    hits = await hybrid_search(store, class_id, f"{filler} energy granite basalt magma")
    assert len(searched) == 1 and len(searched[0].split()) <= MAX_QUERY_TERMS
    # Terms the class has win over terms it has never seen, even past the character cap.
    hits = await hybrid_search(store, class_id, f"granite basalt {filler} mitochondria")
    assert len(searched[1].split()) <= MAX_QUERY_TERMS
    assert {"granite", "basalt"} <= set(searched[1].split())
    assert keys(hits)[0] == (material, 3)


async def test_stored_provider_vectors_rank_the_aligned_chunk_first(store: Store) -> None:
    class_id = await make_class(store)
    contents = [PHOTO, FORCE, CELLS, WAVES]
    # No section title: in the 1536 hashed buckets, the pair "note mitochondria" of a "Notes"
    # section shares a bucket with "organelle", which would be a (spurious) offline match.
    material = await add_material(
        store, class_id, contents, vectors=[axis(i) for i in range(4)], section=None
    )
    # No word of the query is in any chunk: only the dense side can find the answer.
    embedder = Embedder([0.05, 0.0, 0.9, 0.1, 0.0, 0.0, 0.0, 0.0])
    hits = await hybrid_search(
        store, class_id, "  Which\u200b organelle powers the body? ", query_embedding=embedder
    )
    assert keys(hits)[0] == (material, 2)
    assert embedder.calls == [("Which organelle powers the body?", MODEL)]
    # Without the provider, nothing matches: the reading-order fallback, unranked.
    hits = await hybrid_search(store, class_id, "Which organelle powers the body?")
    assert keys(hits)[0] == (material, 0) and {h.score for h in hits} == {0.0}

    # With lexical evidence elsewhere, the aligned chunk still ranks on the dense side.
    embedder = Embedder(list(axis(3)))
    hits = await hybrid_search(store, class_id, "photosynthesis", query_embedding=embedder)
    assert set(keys(hits)[:2]) == {(material, 0), (material, 3)}


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        (None, None),
        (None, RuntimeError("provider down")),
        ([1.0, 0.0], None),  # wrong dimensions
        ([math.nan] * 8, None),
        ([0.0] * 8, None),
    ],
    ids=["none", "raises", "wrong-dims", "nan", "zero"],
)
async def test_an_unusable_query_vector_falls_back_to_offline(
    store: Store, answer: Any, error: Exception | None
) -> None:
    embedder = Embedder(answer, error=error)
    class_id = await make_class(store)
    contents = [PHOTO, FORCE, CELLS, WAVES]
    await add_material(store, class_id, contents, vectors=[axis(i) for i in range(4)])
    offline = await hybrid_search(store, class_id, "energy from glucose")
    hits = await hybrid_search(store, class_id, "energy from glucose", query_embedding=embedder)
    assert hits == offline
    assert embedder.calls == [("energy from glucose", MODEL)]


async def test_offline_vectors_are_not_sent_to_the_callback(store: Store) -> None:
    class_id = await make_class(store)
    vectors = [axis(i) for i in range(3)]
    await add_material(
        store, class_id, [PHOTO, FORCE, CELLS], vectors=vectors, model=f"{OFFLINE_MODEL}-hash-8"
    )
    embedder = Embedder(list(axis(0)))
    hits = await hybrid_search(store, class_id, "energy from glucose", query_embedding=embedder)
    assert embedder.calls == []
    assert hits == await hybrid_search(store, class_id, "energy from glucose")


async def test_chunks_without_stored_vectors_still_rank(store: Store) -> None:
    class_id = await make_class(store)
    embedded = await add_material(
        store, class_id, [PHOTO, FORCE, CELLS], vectors=[axis(0), axis(1), axis(2)]
    )
    plain = await add_material(store, class_id, [WAVES, ROCKS])
    other = await add_material(
        store, class_id, [CELLS], vectors=[(1.0, 0.0, 0.0)], model="another-model"
    )
    embedder = Embedder(list(axis(1)))
    hits = await hybrid_search(store, class_id, "granite magma", query_embedding=embedder)
    top = keys(hits)[:2]
    assert (plain, 1) in top  # lexical and offline dense, no stored vector
    assert (embedded, 1) in top  # the provider space's best match
    assert sorted(embedder.calls) == [("granite magma", "another-model"), ("granite magma", MODEL)]
    assert {h.material_id for h in hits} <= {embedded, plain, other}


async def test_the_cache_stays_bounded(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    class_id = await make_class(store)
    contents = [f"{PHOTO} Sample {n}: {ROCKS} {'extra ' * n}" for n in range(12)]
    await add_material(store, class_id, [*contents, FORCE])
    unbounded = await hybrid_search(store, class_id, "force granite")
    assert cache_stats()[0] == 13

    monkeypatch.setattr(retrieval, "CACHE_MAX_VECTORS", 5)
    clear_cache()
    assert await hybrid_search(store, class_id, "force granite") == unbounded
    assert cache_stats()[0] <= 5

    one_vector = cache_stats()[1] // cache_stats()[0]
    monkeypatch.setattr(retrieval, "CACHE_MAX_BYTES", 3 * one_vector)
    clear_cache()
    for _ in range(3):
        assert await hybrid_search(store, class_id, "force granite") == unbounded
        vectors, size = cache_stats()
        assert size <= 3 * one_vector and vectors <= 3

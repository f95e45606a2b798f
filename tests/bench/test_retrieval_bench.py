"""The retrieval bench on the pgvector server: both sides measured on the same queries."""

from __future__ import annotations

import json

import pytest

from bench import retrieval
from tests.tools.store.test_pgvector import pgvector_url_or_skip

TINY = retrieval.Config(sizes=(300,), sql_queries=6, scan_queries=(2,), topics=8)


async def test_the_tiny_retrieval_bench_measures_sql_and_scan_side_by_side() -> None:
    results = await retrieval.run(pgvector_url_or_skip(), TINY)
    [row] = results["rows"]
    assert row["chunks"] == 300
    assert row["sql"]["queries"] == 6 and row["scan"]["queries"] == 2
    for side in ("sql", "scan"):
        assert 0 < row[side]["p50_ms"] <= row[side]["p95_ms"], row
    assert row["scan_over_sql_p50"] > 0
    assert row["build"]["load_s"] > 0 and row["build"]["vector_index_s"] >= 0
    table = retrieval.format_rows(results)
    assert "pgvector + full text" in table and "300" in table
    json.dumps(results)  # what `python -m bench` writes


async def test_both_sides_rank_the_query_topic_first() -> None:
    """The numbers compare like with like: on the same query both sides put a chunk of the
    query's topic first (its vector sits near the topic's centre and its words are the topic's)."""
    url = pgvector_url_or_skip()
    async with retrieval.schema(url) as conn:
        built = await retrieval.build(conn, 300, TINY)
        text, vector = retrieval.queries(TINY, 1)[0]
        sql = await retrieval.sql_search(conn, built["class_id"], text, vector)
        scan = await retrieval.scan_search(conn, built["class_id"], text, vector)
        topics = await retrieval.chunk_topics(conn, [sql[0], scan[0]])
    assert topics == [0, 0]


def test_the_bench_hook_skips_without_pgvector(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("STEMGRAPH_TEST_PGVECTOR_URL", raising=False)
    results: dict[str, object] = {}
    retrieval.add_to(results, quick=True)
    assert "retrieval" not in results
    assert "skipped" in capsys.readouterr().out

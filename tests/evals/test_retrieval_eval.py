"""The retrieval eval: the dataset is well formed, retrieval meets its bar, and the bar can fail."""

from __future__ import annotations

import dataclasses
import json
import re
import uuid
from pathlib import Path

import pytest

from evals.scorers import retrieval as scorer
from evals.scorers.retrieval import (
    DEFAULT_DATASET,
    RETRIEVAL_SCORERS,
    RetrievalReport,
    RetrievalSetupError,
    evaluate_retrieval,
    load_materials,
    load_questions,
    run_retrieval_eval,
)
from tests.conftest import drop_schema, fresh_schema_name, postgres_url_or_skip
from tools import retrieval
from tools.chunking import chunk_text
from tools.demo.materials import DEMO_MATERIALS
from tools.store import open_store
from tools.store.base import ChunkHit, Store
from tools.text import fold

RECALL_AT_5 = 0.9
MRR = 0.75


def test_the_dataset_is_labelled_and_varied() -> None:
    questions = load_questions()
    materials = load_materials()
    assert len(questions) >= 30
    assert sum(q.class_name == "demo" for q in questions) >= 16
    assert sum(q.class_name == "eval" for q in questions) >= 14
    assert len({fold(q.question) for q in questions}) == len(questions)
    assert any(re.search(r"\d", q.question) for q in questions)  # numeric questions

    assert 2 <= len(materials) <= 3
    for material in materials:
        uuid.UUID(material["id"])  # Postgres stores material ids as uuid
        assert 500 <= len(material["text"].split()) <= 900
        assert material["source_type"] == "markdown" and material["text"].startswith("# ")

    # Every gold phrase names chunks of its own material only, and none of another material.
    texts = {m.id: m.text for m in DEMO_MATERIALS} | {m["id"]: m["text"] for m in materials}
    chunks = {mid: [c.content for c in chunk_text(text)] for mid, text in texts.items()}
    for q in questions:
        for gold in q.gold:
            matched = [c for c in chunks[gold.material_id] if fold(gold.must_contain) in fold(c)]
            assert matched, (q.id, gold.must_contain)
            assert len(matched) < len(chunks[gold.material_id]), (q.id, gold.must_contain)
            others = [m for m in chunks if m != gold.material_id]
            assert not any(fold(gold.must_contain) in fold(c) for m in others for c in chunks[m])


async def test_retrieval_meets_the_bar() -> None:
    report = await evaluate_retrieval()
    assert report.recall_at_5 >= RECALL_AT_5, report.ranks
    assert report.mrr >= MRR, report.ranks
    assert set(report.ranks) == {q.id for q in load_questions()}
    assert await run_retrieval_eval() == report.metrics()


async def test_the_eval_runs_on_postgres_too() -> None:
    url = postgres_url_or_skip()
    schema = fresh_schema_name()

    async def factory(_: Path) -> Store:
        return await open_store(url, schema=schema)

    try:
        metrics = await run_retrieval_eval(factory)
    finally:
        await drop_schema(url, schema)
    assert metrics["recall_at_5"] >= RECALL_AT_5 and metrics["mrr"] >= MRR


async def test_a_broken_retriever_scores_lower(monkeypatch: pytest.MonkeyPatch) -> None:
    good = await run_retrieval_eval()

    async def reading_order(store: Store, class_id: str, query: str, **_: object) -> list[ChunkHit]:
        return await store.class_chunks(class_id)

    monkeypatch.setattr(retrieval, "hybrid_search", reading_order)
    broken = await run_retrieval_eval()
    assert broken["recall_at_5"] < good["recall_at_5"] - 0.4
    assert broken["mrr"] < good["mrr"] - 0.4


async def test_a_retriever_that_ignores_the_dense_side_is_not_better(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Only the offline dense ranking: a weaker retriever, which the metrics must see.
    good = await run_retrieval_eval()
    monkeypatch.setattr(retrieval, "LEXICAL_WEIGHT", 0.0)
    dense_only = await run_retrieval_eval()
    assert dense_only["mrr"] < good["mrr"]


async def test_a_shuffled_top_five_loses_mrr_but_not_recall(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = retrieval.hybrid_search

    async def reversed_head(
        store: Store, class_id: str, query: str, **kw: object
    ) -> list[ChunkHit]:
        hits = await real(store, class_id, query, limit=40)
        return hits[:5][::-1] + hits[5:]

    good = await run_retrieval_eval()
    monkeypatch.setattr(retrieval, "hybrid_search", reversed_head)
    shuffled = await run_retrieval_eval()
    assert shuffled["recall_at_5"] == good["recall_at_5"]
    assert shuffled["mrr"] < good["mrr"] - 0.3


async def test_a_gold_phrase_that_matches_nothing_is_a_setup_error(tmp_path: Path) -> None:
    rows = [json.loads(line) for line in DEFAULT_DATASET.read_text(encoding="utf-8").splitlines()]
    rows[0]["gold"][0]["must_contain"] = "a phrase no material contains"
    path = tmp_path / "retrieval.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    with pytest.raises(RetrievalSetupError, match="a phrase no material contains"):
        await run_retrieval_eval(dataset_path=path)


@pytest.mark.parametrize(
    "line",
    ["not json", '{"id": "q1", "class": "demo", "question": "?"}', '{"id": "q", "gold": []}'],
)
def test_malformed_questions_are_setup_errors(tmp_path: Path, line: str) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(line, encoding="utf-8")
    with pytest.raises(RetrievalSetupError):
        load_questions(path)


def test_report_metrics_and_ranks() -> None:
    results = (
        scorer.QuestionResult("a", "demo", "?", 1, ()),
        scorer.QuestionResult("b", "demo", "?", 4, ()),
        scorer.QuestionResult("c", "eval", "?", 7, ()),
        scorer.QuestionResult("d", "eval", "?", None, ()),
    )
    report = RetrievalReport(results)
    assert report.recall_at_5 == 0.5
    assert report.mrr == pytest.approx((1 + 1 / 4 + 1 / 7) / 4)
    assert report.ranks == {"a": 1, "b": 4, "c": 7, "d": None}
    assert RetrievalReport(()).metrics() == {"recall_at_5": 0.0, "mrr": 0.0}
    assert dataclasses.replace(results[0], rank=2).reciprocal_rank == 0.5


def test_runner_scorers_read_the_metrics() -> None:
    payload = {"recall_at_5": 1.0, "mrr": 0.8}
    assert RETRIEVAL_SCORERS["recall_at_5"]({}, payload).value == 1.0
    assert RETRIEVAL_SCORERS["recall_at_5"]({}, payload).reasons == []
    mrr = RETRIEVAL_SCORERS["mrr"]({}, payload)
    assert mrr.value == 0.8 and mrr.reasons == ["mrr = 0.8000"]
    assert RETRIEVAL_SCORERS["mrr"]({}, None).value == 0.0
    assert RETRIEVAL_SCORERS["mrr"]({}, {"mrr": "n/a"}).value == 0.0

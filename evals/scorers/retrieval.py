"""Retrieval eval: labelled questions over real materials, scored by recall@5 and MRR.

The eval builds a fresh store (SQLite in a temporary directory unless a factory is given), seeds
the demo class with `seed_demo` and an "eval" class with the materials in
`datasets/retrieval_materials.json` (chunked with `chunk_text`), then asks every question of
`datasets/retrieval.jsonl` through the same path chat uses: `hybrid_search` then `select_chunks`.

A question's gold chunks are named by a phrase, not by index: a retrieved chunk is gold when it
belongs to the gold material and contains the phrase (case- and space-insensitively). Chunking
can change without breaking the dataset; a phrase that matches no chunk at all is a setup error.

- `recall_at_5`: share of questions with a gold chunk among the first 5 selected chunks.
- `mrr`: mean of 1 / rank of the first gold chunk (0 when none is in the first 40).

`hybrid_search` and `select_chunks` are looked up at call time, so a test can monkeypatch either
one and watch the metrics fall. Nothing here calls a model or the network.

    python -m evals.scorers.retrieval      # prints every question's rank, misses first
"""

from __future__ import annotations

import asyncio
import json
import tempfile
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from evals.scorers import Score, Scorer
from graphs.shared import sources
from tools import retrieval
from tools.chunking import chunk_text
from tools.demo import DEMO_CLASS_ID, DEMO_TEACHER_ID, seed_demo
from tools.store.base import ChunkHit, ChunkInput, Store
from tools.text import fold, normalise_text

DATASETS: Final = Path(__file__).resolve().parents[1] / "datasets"
DEFAULT_DATASET: Final = DATASETS / "retrieval.jsonl"
DEFAULT_MATERIALS: Final = DATASETS / "retrieval_materials.json"
EVAL_CLASS_ID: Final = "e7a15000-0000-4000-8000-000000000002"
EVAL_JOIN_CODE: Final = "EVALRET1"
TOP_K: Final = 5
DEPTH: Final = 40

StoreFactory = Callable[[Path], Awaitable[Store]]
"""`await factory(tmp_dir)` opens an empty store; the eval seeds it and closes it."""


class RetrievalSetupError(Exception):
    """The dataset or the materials are malformed, or a gold phrase matches no chunk."""


@dataclass(frozen=True)
class Gold:
    material_id: str
    must_contain: str

    def matches(self, hit: ChunkHit) -> bool:
        return hit.material_id == self.material_id and _key(self.must_contain) in _key(hit.content)


@dataclass(frozen=True)
class Question:
    id: str
    class_name: str
    question: str
    gold: tuple[Gold, ...]


@dataclass(frozen=True)
class QuestionResult:
    """Where one question's first gold chunk landed; `rank` is None when not in the top 40."""

    id: str
    class_name: str
    question: str
    rank: int | None
    top: tuple[str, ...]  # "title § section" of the first TOP_K selected chunks

    @property
    def reciprocal_rank(self) -> float:
        return 1.0 / self.rank if self.rank else 0.0


@dataclass(frozen=True)
class RetrievalReport:
    results: tuple[QuestionResult, ...]

    @property
    def recall_at_5(self) -> float:
        hits = sum(1 for r in self.results if r.rank is not None and r.rank <= TOP_K)
        return hits / len(self.results) if self.results else 0.0

    @property
    def mrr(self) -> float:
        total = sum(r.reciprocal_rank for r in self.results)
        return total / len(self.results) if self.results else 0.0

    @property
    def ranks(self) -> dict[str, int | None]:
        """Question id -> rank of its first gold chunk (None when absent), for debugging."""
        return {r.id: r.rank for r in self.results}

    def metrics(self) -> dict[str, float]:
        return {"recall_at_5": round(self.recall_at_5, 4), "mrr": round(self.mrr, 4)}


def _key(text: str) -> str:
    return fold(normalise_text(text))


# --- loading ------------------------------------------------------------------------------------


def load_questions(path: Path | None = None) -> list[Question]:
    """The labelled questions, one JSON object a line."""
    questions: list[Question] = []
    seen: set[str] = set()
    text = (path or DEFAULT_DATASET).read_text(encoding="utf-8")
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            gold = tuple(Gold(str(g["material_id"]), str(g["must_contain"])) for g in row["gold"])
            question = Question(str(row["id"]), str(row["class"]), str(row["question"]), gold)
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise RetrievalSetupError(f"line {number}: malformed question ({exc})") from exc
        if question.id in seen or not gold or question.class_name not in ("demo", "eval"):
            raise RetrievalSetupError(f"line {number}: duplicate id, no gold or unknown class")
        seen.add(question.id)
        questions.append(question)
    if not questions:
        raise RetrievalSetupError("the retrieval dataset has no questions")
    return questions


def load_materials(path: Path | None = None) -> list[dict[str, str]]:
    """The eval class's materials: `[{id, title, source_type, text}]`."""
    rows = json.loads((path or DEFAULT_MATERIALS).read_text(encoding="utf-8"))
    keys = ("id", "title", "source_type", "text")
    if not isinstance(rows, list) or not all(
        isinstance(row, dict) and all(isinstance(row.get(k), str) for k in keys) for row in rows
    ):
        raise RetrievalSetupError("retrieval materials must be [{id, title, source_type, text}]")
    return [{k: row[k] for k in keys} for row in rows]


# --- the store ----------------------------------------------------------------------------------


async def _sqlite_store(directory: Path) -> Store:
    from tools.store.sqlite import SqliteStore

    return await SqliteStore.open(str(directory / "retrieval-eval.sqlite3"))


async def seed_eval_store(store: Store, materials: Sequence[Mapping[str, str]]) -> dict[str, str]:
    """Seed the demo class and the eval class; returns class name -> class id."""
    await seed_demo(store)
    if await store.get_class(EVAL_CLASS_ID) is None:
        await store.create_class(
            class_id=EVAL_CLASS_ID,
            owner_id=DEMO_TEACHER_ID,
            title="Retrieval eval: biology, circuits and reactions",
            join_code=EVAL_JOIN_CODE,
        )
    for material in materials:
        chunks = [
            ChunkInput(c.index, c.content, c.section, c.token_count)
            for c in chunk_text(material["text"])
        ]
        await store.save_material(
            material_id=material["id"],
            class_id=EVAL_CLASS_ID,
            title=material["title"],
            source_type=material["source_type"],
            chunks=chunks,
        )
    return {"demo": DEMO_CLASS_ID, "eval": EVAL_CLASS_ID}


async def check_gold(
    store: Store, classes: Mapping[str, str], questions: Sequence[Question]
) -> None:
    """Every gold phrase must name at least one chunk of its material in the question's class."""
    chunks = {name: await store.class_chunks(class_id) for name, class_id in classes.items()}
    problems = [
        f"{q.id}: {g.must_contain!r} is in no chunk of {g.material_id}"
        for q in questions
        for g in q.gold
        if not any(g.matches(hit) for hit in chunks[q.class_name])
    ]
    if problems:
        raise RetrievalSetupError("; ".join(problems))


# --- running ------------------------------------------------------------------------------------


def _label(hit: ChunkHit) -> str:
    return f"{hit.material_title} § {hit.section or hit.chunk_index}"


async def rank_questions(
    store: Store, classes: Mapping[str, str], questions: Sequence[Question]
) -> list[QuestionResult]:
    """Ask every question the way chat does and find its first gold chunk."""
    results: list[QuestionResult] = []
    for q in questions:
        hits = await retrieval.hybrid_search(store, classes[q.class_name], q.question, limit=DEPTH)
        chosen = sources.select_chunks(hits)[:DEPTH]
        rank = next(
            (n for n, hit in enumerate(chosen, start=1) if any(g.matches(hit) for g in q.gold)),
            None,
        )
        top = tuple(_label(hit) for hit in chosen[:TOP_K])
        results.append(QuestionResult(q.id, q.class_name, q.question, rank, top))
    return results


async def evaluate_retrieval(
    store_factory: StoreFactory | None = None,
    *,
    dataset_path: Path | None = None,
    materials_path: Path | None = None,
) -> RetrievalReport:
    """Build and seed a fresh store, ask every question and keep each question's rank."""
    questions = load_questions(dataset_path)
    materials = load_materials(materials_path)
    with tempfile.TemporaryDirectory(prefix="stemgraph-retrieval-") as directory:
        store = await (store_factory or _sqlite_store)(Path(directory))
        try:
            classes = await seed_eval_store(store, materials)
            await check_gold(store, classes, questions)
            results = await rank_questions(store, classes, questions)
        finally:
            await store.close()
    return RetrievalReport(tuple(results))


async def run_retrieval_eval(
    store_factory: StoreFactory | None = None,
    *,
    dataset_path: Path | None = None,
    materials_path: Path | None = None,
) -> dict[str, float]:
    """Run the eval once and return `{"recall_at_5": …, "mrr": …}`."""
    report = await evaluate_retrieval(
        store_factory, dataset_path=dataset_path, materials_path=materials_path
    )
    return report.metrics()


def _metric(name: str) -> Scorer:
    def scorer(case: Mapping[str, Any], payload: Any) -> Score:
        try:
            value = float(payload[name])
        except (KeyError, TypeError, ValueError):
            return Score(0.0, [f"the payload has no {name}"])
        return Score(value, [] if value >= 1.0 else [f"{name} = {value:.4f}"])

    return scorer


RETRIEVAL_SCORERS: Final[Mapping[str, Scorer]] = {
    "recall_at_5": _metric("recall_at_5"),
    "mrr": _metric("mrr"),
}
"""Metric name -> `scorer(case, payload)`, where `payload = await run_retrieval_eval()`."""


def main() -> None:
    report = asyncio.run(evaluate_retrieval())
    ordered = sorted(report.results, key=lambda r: (r.rank is not None and r.rank <= 1, r.id))
    for r in ordered:
        rank = "-" if r.rank is None else str(r.rank)
        print(f"{r.id:8} rank {rank:>2}  {r.question}")
        if r.rank != 1:
            print(f"{'':17}top: {' | '.join(r.top[:3])}")
    print(json.dumps(report.metrics()))


if __name__ == "__main__":
    main()

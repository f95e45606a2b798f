"""How long the offline engine takes on large inputs, beside the budgets it was built to.

Each engine runs three times on a deterministic large input; the best time is reported with its
budget (the targets that used to be timed tests: they belong here, not in a test suite that
shares a busy machine).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from bench.process import REPO_ROOT
from tools.demo.materials import DEMO_MATERIALS
from tools.offline.flashcards import offline_flashcards
from tools.offline.quiz import offline_quiz
from tools.offline.tutor import Source, offline_tutor_reply
from tools.text import estimate_tokens

DATASETS = REPO_ROOT / "evals" / "datasets"
LARGE_MATERIAL_CHARS = 100_000
TUTOR_CONTEXT_TOKENS = 24_000
# Budgets per call on a laptop-class core (the anchors the engines were written against).
BUDGET_MS = {"flashcards_100k": 500.0, "quiz_100k": 1000.0, "tutor_24k_tokens": 100.0}


def _passages(name: str) -> list[str]:
    lines = (DATASETS / name).read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["passage"] for line in lines if line.strip()]


def large_material(dataset: str) -> str:
    """About 100,000 characters of labelled material, each section's numbers made distinct."""
    passages = _passages(dataset)
    parts: list[str] = []
    while sum(map(len, parts)) < LARGE_MATERIAL_CHARS:
        i = len(parts)
        text = passages[i % len(passages)].replace(". ", f" in trial {i}. ")
        parts.append(f"Source {i + 1} | Part {i} | notes {i + 1}\n{text}")
    return "\n\n".join(parts)[:LARGE_MATERIAL_CHARS]


def tutor_sources() -> list[Source]:
    """Demo materials repeated to a 24,000-token context."""
    texts = [m.text for m in DEMO_MATERIALS]
    sources: list[Source] = []
    while sum(estimate_tokens(s.text) for s in sources) < TUTOR_CONTEXT_TOKENS:
        n = len(sources)
        sources.append(
            Source(f"Source {n + 1}", f"Title {n}", f"{texts[n % len(texts)]}\n\nChunk {n}.")
        )
    return sources


def _best_ms(call: Callable[[], Any], runs: int = 3) -> float:
    best = float("inf")
    for _ in range(runs):
        started = time.perf_counter()
        call()
        best = min(best, time.perf_counter() - started)
    return round(best * 1000, 1)


def run() -> dict[str, dict[str, float]]:
    """Best-of-three milliseconds per engine, with the budget it is compared to."""
    flashcards_material = large_material("flashcards.jsonl")
    quiz_material = large_material("quiz.jsonl")
    sources = tutor_sources()
    question = "Why does a skydiver reach terminal velocity?"
    timings = {
        "flashcards_100k": _best_ms(lambda: offline_flashcards(flashcards_material, card_count=30)),
        "quiz_100k": _best_ms(lambda: offline_quiz(quiz_material, question_count=20)),
        "tutor_24k_tokens": _best_ms(lambda: offline_tutor_reply(question, sources)),
    }
    return {
        name: {"best_ms": ms, "budget_ms": BUDGET_MS[name], "ratio": round(ms / BUDGET_MS[name], 2)}
        for name, ms in timings.items()
    }


def format_rows(results: dict[str, dict[str, float]]) -> str:
    lines = ["offline engine on large inputs (best of 3)", f"{'engine':<20}{'ms':>9}{'budget':>9}"]
    for name, row in results.items():
        lines.append(f"{name:<20}{row['best_ms']:>9.1f}{row['budget_ms']:>9.0f}")
    return "\n".join(lines)

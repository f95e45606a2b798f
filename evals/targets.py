"""What each eval suite runs: the real graphs, on the models the run chose.

Every target is `await target(case, models)` and returns an `Answer`: the payload the suite's
scorers judge, plus the provider and model that wrote it when a model did.

- `offline` (the default, and CI's): a router with no providers, so the offline engine answers
  every call and the scores reproduce exactly, with no network and no keys.
- `configured`: the providers the environment configures, built as a run without a server
  builds them (`GenerationContext()`: `ProviderSettings` → `resolve_order` → `chat_providers` /
  `embedding_providers`). The offline engine is still the router's last resort, as on the
  server, so each answer records who wrote it and a fallback shows in the scorecard.
"""

from __future__ import annotations

import asyncio
import atexit
import shutil
import tempfile
import threading
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal

from evals.scorers.blueprint import case_material, case_material_count
from evals.scorers.compaction import load_case, replay
from evals.scorers.retrieval import run_retrieval_eval
from graphs.blueprint import graph as blueprint_graph
from graphs.canvas import graph as canvas_graph
from graphs.chat import graph as chat_graph
from graphs.data_query import graph as data_query_graph
from graphs.flashcards import graph as flashcards_graph
from graphs.quiz import graph as quiz_graph
from graphs.shared.context import GenerationContext
from graphs.teaching_brief import BriefContext
from graphs.teaching_brief import graph as brief_graph
from tools.demo import DEMO_CLASS_ID, seed_demo
from tools.models.providers import EmbeddingProvider
from tools.models.router import Deadline, ModelRouter
from tools.models.settings import ProviderSettings
from tools.store import open_store
from tools.store.base import Store

ProviderMode = Literal["offline", "configured"]
PROVIDER_MODES: Final[tuple[ProviderMode, ...]] = ("offline", "configured")
OFFLINE_TIMEOUT_MS: Final = 60_000


class NoProviderConfigured(Exception):
    """`configured` was asked for but the environment configures no provider."""


@dataclass(frozen=True)
class Answer:
    """A target's result: the payload to score, and who wrote it (None when no model did)."""

    payload: Any
    provider: str | None = None
    model: str | None = None


def _answer(result: Mapping[str, Any], payload: Any) -> Answer:
    return Answer(payload, result.get("provider"), result.get("model"))


@dataclass(frozen=True)
class EvalModels:
    """The models every target of one run uses, and the mode that chose them."""

    mode: ProviderMode
    router: ModelRouter
    embedding_providers: tuple[EmbeddingProvider, ...]
    timeout_ms: int

    def context(self, *, store: Store | None = None) -> GenerationContext:
        """One case's run context: these models and a deadline starting now, as the server
        gives each request."""
        return GenerationContext(
            router=self.router,
            store=store,
            embedding_providers=self.embedding_providers,
            timeout_ms=self.timeout_ms,
            deadline=Deadline.after_ms(self.timeout_ms),
        )

    def providers(self) -> list[dict[str, str]]:
        """The providers tried in order before the offline engine (none when offline)."""
        return [{"provider": p.name, "model": p.model} for p in self.router.providers]

    async def aclose(self) -> None:
        """Close the chat clients' pooled connections, in the event loop that opened them.

        The OpenAI-compatible clients share one HTTP client per base URL for the whole process;
        its connections belong to the loop that opened them and fail (or leak) in any other,
        so a run closes them before its loop ends.
        """
        for provider in self.router.providers:
            client = getattr(provider.client, "root_async_client", None)  # ChatOpenAI's
            if client is not None:
                await client.close()


def eval_models(mode: ProviderMode, settings: ProviderSettings | None = None) -> EvalModels:
    """The models for `mode`; `configured` reads the environment unless `settings` is given."""
    if mode == "offline":
        # No providers: every call is answered by the offline engine, so scores are reproducible.
        return EvalModels("offline", ModelRouter([]), (), OFFLINE_TIMEOUT_MS)
    context = GenerationContext(settings=settings or ProviderSettings())
    router = context.model_router()
    if not router.providers:
        raise NoProviderConfigured(
            "--provider configured, but no model provider is configured (set "
            "OPENROUTER_API_KEY, OPENAI_API_KEY or GEMINI_API_KEY): there is nothing to score"
        )
    assert context.timeout_ms is not None  # filled from the settings by the context
    return EvalModels(
        "configured", router, tuple(context.embedding_providers or ()), context.timeout_ms
    )


# --- generation graphs --------------------------------------------------------------------------


async def quiz_target(case: dict[str, Any], models: EvalModels) -> Answer:
    """The quiz payload the quiz graph produces for one dataset case."""
    result = await quiz_graph.ainvoke(
        {
            "class_title": case.get("title", "Eval class"),
            "question_count": case["question_count"],
            "instructions": case.get("instructions", ""),
            "blueprint_context": "",
            "material_context": case["passage"],
        },
        context=models.context(),
    )
    return _answer(result, result["payload"])


async def flashcards_target(case: dict[str, Any], models: EvalModels) -> Answer:
    """The flashcards payload the graph produces for one dataset case."""
    result = await flashcards_graph.ainvoke(
        {
            "class_title": case.get("title", "Eval class"),
            "card_count": case["card_count"],
            "instructions": case.get("instructions", ""),
            "blueprint_context": "",
            "material_context": case["passage"],
        },
        context=models.context(),
    )
    return _answer(result, result["payload"])


async def blueprint_target(case: dict[str, Any], models: EvalModels) -> Answer:
    """The blueprint payload the graph produces for one dataset case (no approval step)."""
    result = await blueprint_graph.ainvoke(
        {
            "class_title": case.get("class_title", "Eval class"),
            "subject": case.get("subject"),
            "level": case.get("level"),
            "material_count": case_material_count(case),
            "material_text": case_material(case),
        },
        context=models.context(),
    )
    return _answer(result, result["payload"])


def _material(sources: list[dict[str, Any]]) -> str:
    return "\n\n".join(f"{s['label']} | {s['title']} | markdown 1\n{s['text']}" for s in sources)


async def chat_target(case: dict[str, Any], models: EvalModels) -> Answer:
    """The tutor's reply to one question, from the chat graph in stateless mode."""
    titles = ", ".join(dict.fromkeys(s["title"] for s in case["sources"]))
    result = await chat_graph.ainvoke(
        {
            "class_id": "eval-class",
            "class_title": case.get("class_title", "Eval class"),
            "user_message": case["question"],
            "material_context": _material(case["sources"]),
            "blueprint_context": f"Blueprint Context\nTopics: {titles}",
        },
        context=models.context(),
    )
    return _answer(result, result["reply"])


async def canvas_target(case: dict[str, Any], models: EvalModels) -> Answer:
    """The canvas spec the graph draws for one hint, question and answer."""
    result = await canvas_graph.ainvoke(
        {
            "canvas_hint": case["canvas_hint"],
            "student_question": case.get("student_question", ""),
            "ai_answer": case.get("ai_answer", ""),
        },
        context=models.context(),
    )
    return _answer(result, result["spec"])


async def brief_target(case: dict[str, Any], models: EvalModels) -> Answer:
    """The teaching brief the graph writes from a case's insights and published blueprint."""

    async def insights(class_id: str) -> dict[str, Any]:
        return dict(case["insights"])

    async def blueprint(class_id: str) -> dict[str, Any] | None:
        found = case.get("blueprint")
        return dict(found) if isinstance(found, dict) else None

    base = models.context()
    context = BriefContext(
        router=base.router,
        timeout_ms=base.timeout_ms,
        deadline=base.deadline,
        load_insights=insights,
        load_blueprint=blueprint,
    )
    result = await brief_graph.ainvoke({"class_id": "eval-class"}, context=context)
    return _answer(result, result["payload"])


_BY_GENERATOR: Final[Mapping[str, Callable[[dict[str, Any], EvalModels], Awaitable[Answer]]]] = {
    "quiz": quiz_target,
    "flashcards": flashcards_target,
    "blueprint": blueprint_target,
    "chat": chat_target,
    "canvas": canvas_target,
    "brief": brief_target,
}


async def injection_target(case: dict[str, Any], models: EvalModels) -> Answer:
    """The payload of the case's `generator` (quiz, flashcards, blueprint, chat, canvas or
    brief), run on inputs with a planted instruction."""
    return await _BY_GENERATOR[case["generator"]](case, models)


# --- data query over the seeded demo class ------------------------------------------------------

# The demo class is seeded once per process into a temporary SQLite file; each case opens its
# own connection to it, so cases run concurrently, from any event loop, and cannot change what
# another reads.
_seed_lock = threading.Lock()
_seeded: Path | None = None


async def _seed(path: Path) -> None:
    store = await open_store(str(path))
    try:
        await seed_demo(store)
    finally:
        await store.close()


def demo_database() -> Path:
    """The seeded demo store's file, created on first use (in a thread of its own)."""
    global _seeded
    with _seed_lock:
        if _seeded is None:
            folder = tempfile.mkdtemp(prefix="stemgraph-dq-eval-")
            atexit.register(shutil.rmtree, folder, ignore_errors=True)
            path = Path(folder) / "demo.sqlite3"
            asyncio.run(_seed(path))
            _seeded = path
        return _seeded


async def data_query_target(case: dict[str, Any], models: EvalModels) -> Answer:
    """The graph's `{spec, provider, model, query}` for one question about the demo class."""
    path = await asyncio.to_thread(demo_database)
    store = await open_store(str(path))
    try:
        result = await data_query_graph.ainvoke(
            {"class_id": DEMO_CLASS_ID, "query": case["question"], "as_of": case.get("as_of")},
            context=models.context(store=store),
        )
    finally:
        await store.close()
    return _answer(result, dict(result))


# --- suites that call no model ------------------------------------------------------------------


async def compaction_target(case: dict[str, Any], models: EvalModels) -> Answer:
    """Replays the 40-turn conversation through the compaction rules, turn by turn."""
    conversation = load_case(None)
    return Answer({"case": conversation, "steps": replay(conversation)})


async def retrieval_target(case: dict[str, Any], models: EvalModels) -> Answer:
    """The suite's single case runs the whole retrieval eval (FTS and offline dense scores)."""
    return Answer(await run_retrieval_eval())

"""The eval targets: which models each provider mode gives them, and what each target returns."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from evals.run import SUITES, load_dataset
from evals.targets import (
    OFFLINE_TIMEOUT_MS,
    NoProviderConfigured,
    eval_models,
    quiz_target,
)
from graphs.shared.context import GenerationContext
from tests.evals.conftest import LOOPBACK_MODEL
from tests.openai_server import OpenAIServer, reply, status
from tools.store import open_store

PROVIDER_KEYS = ("OPENROUTER_API_KEY", "OPENAI_API_KEY", "GEMINI_API_KEY")
MODEL_SUITES = (
    "quiz",
    "flashcards",
    "blueprints",
    "chat_grounded",
    "chat_safety",
    "data_query",
    "injection",
)
PASSAGE = (
    "The SI unit of force is the newton. Power is measured in watts, and one watt is one joule "
    "per second. Energy is measured in joules."
)
PROVIDER_QUIZ = {
    "questions": [
        {
            "question": "What is the SI unit of power?",
            "choices": ["watt", "newton", "joule", "pascal"],
            "answer": "watt",
            "explanation": '"Power is measured in watts".',
        }
    ]
}


def _clear_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (*PROVIDER_KEYS, "AI_PROVIDER_DEFAULT", "AI_REQUEST_TIMEOUT_MS"):
        monkeypatch.delenv(name, raising=False)


def test_offline_models_ignore_the_environment(openrouter_loopback: OpenAIServer) -> None:
    models = eval_models("offline")
    assert models.mode == "offline"
    assert models.router.providers == ()
    assert models.embedding_providers == ()
    assert models.timeout_ms == OFFLINE_TIMEOUT_MS
    assert models.providers() == []


def test_configured_models_are_the_ones_a_run_without_a_server_gets(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _clear_keys(monkeypatch)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-not-used")
    monkeypatch.setenv("OPENAI_MODEL", "gpt-eval")
    monkeypatch.setenv("GEMINI_API_KEY", "not-used")
    monkeypatch.setenv("AI_PROVIDER_DEFAULT", "gemini")
    monkeypatch.setenv("AI_REQUEST_TIMEOUT_MS", "4321")
    models = eval_models("configured")
    assert models.mode == "configured"
    # The default provider first, then the standard order, unconfigured ones skipped.
    assert models.providers() == [
        {"provider": "gemini", "model": "gemini-2.5-flash"},
        {"provider": "openai", "model": "gpt-eval"},
    ]
    assert models.timeout_ms == 4321
    defaults = GenerationContext()
    assert [(p.name, p.model) for p in models.router.providers] == [
        (p.name, p.model) for p in defaults.model_router().providers
    ]
    assert [(p.name, p.model) for p in models.embedding_providers] == [
        (p.name, p.model) for p in defaults.embedding_providers or ()
    ]


def test_configured_without_any_key_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    _clear_keys(monkeypatch)
    monkeypatch.setenv("OPENROUTER_API_KEY", "   ")  # blank means unset, as on the server
    with pytest.raises(NoProviderConfigured, match="no model provider is configured"):
        eval_models("configured")


async def test_each_case_gets_a_fresh_deadline_and_the_shared_models(tmp_path: Any) -> None:
    models = eval_models("offline")
    store = await open_store(str(tmp_path / "store.sqlite3"))
    try:
        first = models.context()
        await asyncio.sleep(0.01)
        second = models.context(store=store)
    finally:
        await store.close()
    assert first.model_router() is second.model_router() is models.router
    assert first.store is None and second.store is store
    assert first.deadline is not None and second.deadline is not None
    assert second.deadline.expires_at > first.deadline.expires_at
    assert 59 < second.deadline.remaining() <= OFFLINE_TIMEOUT_MS / 1000


@pytest.mark.parametrize("name", MODEL_SUITES)
async def test_offline_targets_say_the_offline_engine_answered(name: str) -> None:
    suite = SUITES[name]
    case = load_dataset(suite.dataset)[0]
    answer = await suite.target(dict(case), eval_models("offline"))
    assert (answer.provider, answer.model) == ("offline", "stemgraph-offline-1")
    assert answer.payload


@pytest.mark.parametrize("name", ["chat_compaction", "retrieval"])
async def test_model_free_targets_name_no_author(name: str) -> None:
    suite = SUITES[name]
    case = load_dataset(suite.dataset)[0]
    answer = await suite.target(dict(case), eval_models("offline"))
    assert (answer.provider, answer.model) == (None, None)
    assert answer.payload


async def test_a_configured_target_is_answered_by_the_provider(
    openrouter_loopback: OpenAIServer,
) -> None:
    openrouter_loopback.chat(reply(json.dumps(PROVIDER_QUIZ)))
    models = eval_models("configured")
    case: dict[str, Any] = {"id": "c", "passage": PASSAGE, "question_count": 1}
    try:
        answer = await quiz_target(case, models)
    finally:
        await models.aclose()
    assert (answer.provider, answer.model) == ("openrouter", LOOPBACK_MODEL)
    assert answer.payload == PROVIDER_QUIZ
    [request] = openrouter_loopback.chat_requests
    assert any(PASSAGE in message["content"] for message in request.json["messages"])


async def test_a_failed_provider_call_falls_back_and_says_so(
    openrouter_loopback: OpenAIServer,
) -> None:
    openrouter_loopback.chat(status(500))
    models = eval_models("configured")
    case: dict[str, Any] = {"id": "c", "passage": PASSAGE, "question_count": 1}
    try:
        answer = await quiz_target(case, models)
    finally:
        await models.aclose()
    assert len(openrouter_loopback.chat_requests) == 1
    assert (answer.provider, answer.model) == ("offline", "stemgraph-offline-1")
    assert answer.payload["questions"]

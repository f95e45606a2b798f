"""`/v1/llm/generate` and `/v1/llm/embeddings`, in-process on both backends."""

from __future__ import annotations

import math
from collections.abc import Sequence

from server.settings import ProviderName
from tests.fakes import FailingChatModel, ScriptedChatModel
from tests.server.conftest import Api, Serve
from tests.server.test_app import assert_error
from tools.models.providers import ChatProvider


def test_generate_answers_offline_without_keys(api: Api) -> None:
    response = api.post(
        "/v1/llm/generate",
        {
            "system": "Be brief.",
            "user": "Photosynthesis makes glucose. Plants need light.",
            "temperature": None,
            "max_tokens": None,
            "provider_order": None,
        },
    )
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert data["provider"] == "offline" and data["model"] == "stemgraph-offline-1"
    assert "glucose" in data["content"]
    assert all(
        isinstance(data["usage"][k], int)
        for k in ("prompt_tokens", "completion_tokens", "total_tokens")
    )
    assert isinstance(data["latency_ms"], int)


def test_generate_falls_back_in_order_and_reports_who_answered(serve: Serve) -> None:
    seen: list[list[str]] = []
    failing = FailingChatModel()

    def providers(
        order: Sequence[ProviderName], temperature: float | None, max_tokens: int | None
    ) -> list[ChatProvider]:
        seen.append(list(order))
        clients = {
            "openrouter": ChatProvider("openrouter", "router-model", failing),
            "openai": ChatProvider("openai", "gpt-fake", ScriptedChatModel.replying("from openai")),
            "gemini": ChatProvider("gemini", "gem-fake", ScriptedChatModel.replying("from gemini")),
        }
        return [clients[name] for name in order]

    with serve(chat=providers) as api:
        first = api.post("/v1/llm/generate", {"user": "hi"}).json()["data"]
        assert (first["provider"], first["model"], first["content"]) == (
            "openai",
            "gpt-fake",
            "from openai",
        )
        assert failing.calls == 1
        preferred = api.post("/v1/llm/generate", {"user": "hi", "default_provider": "gemini"})
        assert preferred.json()["data"]["provider"] == "gemini"
        only_failing = api.post(
            "/v1/llm/generate", {"user": "hi", "provider_order": ["openrouter"]}
        )
        assert only_failing.json()["data"]["provider"] == "offline"
    assert seen[0] == ["openrouter", "openai", "gemini"]
    assert seen[1] == ["gemini", "openrouter", "openai"]
    assert seen[2] == ["openrouter"]


def test_generate_validates_its_body(api: Api) -> None:
    assert_error(api.post("/v1/llm/generate", {"user": ""}), 422, "validation_error")
    assert_error(
        api.post("/v1/llm/generate", {"user": "x", "provider_order": ["acme"]}),
        422,
        "validation_error",
    )
    assert_error(
        api.post("/v1/llm/generate", {"user": "x", "timeout_ms": 0}), 422, "validation_error"
    )


def test_embeddings_are_1536_finite_numbers(api: Api) -> None:
    response = api.post(
        "/v1/llm/embeddings", {"inputs": ["Newton's second law", "", "F = ma"], "sandbox_id": None}
    )
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert data["provider"] == "offline"
    assert len(data["embeddings"]) == 3
    for vector in data["embeddings"]:
        assert len(vector) == 1536
        assert all(isinstance(x, float) and math.isfinite(x) for x in vector)
        assert any(x != 0 for x in vector)
    assert isinstance(data["usage"]["total_tokens"], int)
    assert_error(api.post("/v1/llm/embeddings", {"inputs": []}), 422, "validation_error")

"""`/v1/llm/generate` and `/v1/llm/embeddings`, in-process on both backends."""

from __future__ import annotations

import math
from collections.abc import Sequence

import pytest

from server.settings import ProviderName
from tests.fakes import FailingChatModel, ScriptedChatModel, TrickleChatModel
from tests.server.conftest import API_KEY, Api, Serve, only
from tests.server.test_app import assert_error
from tests.sse import iter_events, leave_at_first_token
from tools.models.providers import ChatProvider

STREAM = {"x-api-key": API_KEY, "accept": "text/event-stream"}


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


@pytest.mark.live
def test_generate_streams_the_model_s_tokens_then_the_json_data(serve: Serve) -> None:
    model = TrickleChatModel(reply="Force is measured in newtons.", token_delay_s=0.01)
    with serve(chat=only(model)) as api:
        body = {"system": "Be brief.", "user": "Unit of force?"}
        with api.client.stream(
            "POST", api.url + "/v1/llm/generate", json=body, headers=STREAM
        ) as response:
            assert response.headers["content-type"].startswith("text/event-stream")
            events = list(iter_events(response))
        as_json = api.post("/v1/llm/generate", body).json()["data"]
    names = [e.event for e in events]
    assert names[0] == "metadata" and names[-1] == "values"
    tokens = [e.data for e in events if e.event == "messages"]
    assert [chunk["content"] for chunk, _ in tokens if chunk["content"]] == [
        "Force ",
        "is ",
        "measured ",
        "in ",
        "newtons. ",
    ]
    assert all(metadata["langgraph_node"] == "generate" for _, metadata in tokens)
    final = events[-1].data
    assert set(final) == {"provider", "model", "content", "usage", "latency_ms"}
    assert (final["provider"], final["model"]) == ("openai", "fake-model")
    assert final["content"] == "Force is measured in newtons. " == as_json["content"]
    assert isinstance(final["latency_ms"], int)


@pytest.mark.live
def test_a_client_that_leaves_mid_stream_stops_the_model(serve: Serve) -> None:
    model = TrickleChatModel(reply=" ".join(["word"] * 200), token_delay_s=0.05)
    with serve(chat=only(model)) as api:
        leave_at_first_token(api.url + "/v1/llm/generate", {"user": "Talk."}, STREAM)
        assert model.wait_cancelled() and not model.finished


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

"""`/v1/llm/generate` and `/v1/llm/embeddings`, in-process on both backends."""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from typing import Any

import pytest

from server.settings import ProviderName
from tests.fakes import FailingChatModel, ScriptedChatModel, TrickleChatModel
from tests.openai_server import OpenAIServer, embeddings, reply, status, stream
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
        assert first["attempts"] == [
            {
                "provider": "openrouter",
                "model": "router-model",
                "error": "connection",
                "message": "ConnectionError: provider unavailable",
            }
        ]
        preferred = api.post("/v1/llm/generate", {"user": "hi", "default_provider": "gemini"})
        assert preferred.json()["data"]["provider"] == "gemini"
        assert preferred.json()["data"]["attempts"] == []
        # A configured provider failing is never answered offline on the raw route.
        only_failing = api.post(
            "/v1/llm/generate", {"user": "hi", "provider_order": ["openrouter"]}
        )
        error = assert_error(only_failing, 502, "provider_error")
        assert "openrouter (router-model): connection" in error["error"]["message"]
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
    assert set(final) == {"provider", "model", "content", "usage", "latency_ms", "attempts"}
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


# --- configured providers, over real HTTP to a loopback OpenAI-compatible server -------------


def loopback(server: OpenAIServer, **overrides: Any) -> dict[str, Any]:
    """Settings that configure OpenRouter at `server` (the app builds the real clients)."""
    return {
        "openrouter_api_key": "sk-or-test-secret",
        "openrouter_base_url": server.base_url,
        "openrouter_model": "fake-model",
        "openrouter_embedding_model": "fake-embed",
        **overrides,
    }


def test_generate_answers_502_when_the_configured_provider_fails(
    serve: Serve, openai_server: OpenAIServer, caplog: pytest.LogCaptureFixture
) -> None:
    openai_server.chat(status(401, message="Incorrect API key provided: sk-or-te*****cret"))
    caplog.set_level(logging.WARNING, logger="stemgraph.models")
    with serve(**loopback(openai_server)) as api:
        response = api.post(
            "/v1/llm/generate", {"user": "Echo me back, please."}, headers={"x-request-id": "r-1"}
        )
    error = assert_error(response, 502, "provider_error")
    message = error["error"]["message"]
    assert "openrouter (fake-model): auth" in message
    assert "Echo me back" not in message and "sk-or-test" not in message
    (record,) = [r for r in caplog.records if getattr(r, "event", None) == "provider_failed"]
    assert (record.request_id, record.error, record.http_status) == ("r-1", "auth", 401)  # type: ignore[attr-defined]


def test_generate_sends_the_callers_options_to_the_provider(
    serve: Serve, openai_server: OpenAIServer
) -> None:
    openai_server.chat(status(429, retry_after=0.1), reply("Force is mass times acceleration."))
    with serve(**loopback(openai_server)) as api:
        data = api.post(
            "/v1/llm/generate", {"user": "F?", "temperature": 0.3, "max_tokens": 40}
        ).json()["data"]
    assert (data["provider"], data["content"]) == (
        "openrouter",
        "Force is mass times acceleration.",
    )
    assert [a["error"] for a in data["attempts"]] == ["http_429"]
    sent = openai_server.chat_requests[-1]
    assert (sent.json["temperature"], sent.json["max_tokens"]) == (0.3, 40)
    assert sent.header("x-title") == "stemgraph"


@pytest.mark.live
def test_a_mid_stream_failure_streams_a_reset_then_the_error(
    serve: Serve, openai_server: OpenAIServer
) -> None:
    openai_server.chat(stream(["Momentum", " is"], then_error=True))
    with (
        serve(**loopback(openai_server)) as api,
        api.client.stream(
            "POST", api.url + "/v1/llm/generate", json={"user": "p?"}, headers=STREAM
        ) as response,
    ):
        events = list(iter_events(response))
    names = [e.event for e in events]
    first_token = next(
        i for i, e in enumerate(events) if e.event == "messages" and e.data[0]["content"]
    )
    reset = next(i for i, e in enumerate(events) if e.event == "custom" and "reset" in e.data)
    assert first_token < reset
    assert events[reset].data["provider"] == "openrouter"
    assert names[-1] == "error"
    assert events[-1].data["code"] == "provider_error"
    # No second answer followed the reset.
    assert not any(e.event == "messages" and e.data[0]["content"] for e in events[reset:])


def test_embeddings_answer_502_rather_than_vectors_of_another_model(
    serve: Serve, openai_server: OpenAIServer
) -> None:
    openai_server.embed(status(500), embeddings(dim=768))
    with serve(**loopback(openai_server)) as api:
        down = api.post("/v1/llm/embeddings", {"inputs": ["F = ma"]})
        wrong = api.post("/v1/llm/embeddings", {"inputs": ["F = ma"]})
    assert (
        "openrouter (fake-embed): http_500"
        in assert_error(down, 502, "provider_error")["error"]["message"]
    )
    assert "invalid_output" in assert_error(wrong, 502, "provider_error")["error"]["message"]


def test_embeddings_from_the_configured_provider_carry_its_model_and_headers(
    serve: Serve, openai_server: OpenAIServer
) -> None:
    openai_server.embed(embeddings())
    with serve(**loopback(openai_server, openrouter_app_name="Física & Química")) as api:
        data = api.post("/v1/llm/embeddings", {"inputs": ["F = ma", "p = mv"]}).json()["data"]
    assert (data["provider"], data["model"], data["attempts"]) == ("openrouter", "fake-embed", [])
    assert [len(v) for v in data["embeddings"]] == [1536, 1536]
    title = openai_server.embedding_requests[0].header("x-title")
    assert title == "F%C3%ADsica%20%26%20Qu%C3%ADmica"

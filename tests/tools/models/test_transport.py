"""The router and providers against a real OpenAI-compatible server on loopback.

Real `ChatOpenAI` / `OpenAIEmbeddings` clients, built by `tools.models.providers` from settings,
talk HTTP to `tests.openai_server`: each failure a provider can produce is asserted on the reply,
the log line, the stream events and the request the server received.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import unquote

import openai
import pytest
from langchain_core.messages import HumanMessage, SystemMessage
from langchain_openai import ChatOpenAI
from pydantic import SecretStr

from graphs.llm.graph import graph as llm_graph
from graphs.shared.context import GenerationContext
from tests.local_model import LocalModel
from tests.openai_server import (
    OpenAIServer,
    embeddings,
    finish_length,
    hang,
    reply,
    status,
    stream,
)
from tools.models.options import CallOptions
from tools.models.providers import (
    ChatProvider,
    app_headers,
    build_chat_provider,
    embedding_providers,
    header_value,
)
from tools.models.router import (
    Deadline,
    ModelRouter,
    ProvidersExhausted,
    embed,
    embed_query,
)
from tools.models.settings import ProviderSettings

MESSAGES = [SystemMessage("You write quizzes."), HumanMessage("Two questions on momentum.")]
APP_NAME = "Física & Química"


@pytest.fixture
async def http() -> AsyncIterator[openai.DefaultAsyncHttpxClient]:
    """The shared client the app owns, here owned by the test's event loop."""
    client = openai.DefaultAsyncHttpxClient()
    yield client
    await client.aclose()


def settings_for(server: OpenAIServer, **overrides: Any) -> ProviderSettings:
    values: dict[str, Any] = {
        "openrouter_api_key": "sk-or-test-secret",
        "openrouter_base_url": server.base_url,
        "openrouter_model": "fake-model",
        "openrouter_embedding_model": "fake-embed",
        "ai_first_token_timeout_ms": 5_000,
        "ai_idle_timeout_ms": 5_000,
        **overrides,
    }
    return ProviderSettings(**values)


def provider_for(
    server: OpenAIServer, http: Any, **overrides: Any
) -> tuple[ChatProvider, ProviderSettings]:
    settings = settings_for(server, **overrides)
    built = build_chat_provider(settings, "openrouter", http_client=http)
    assert built is not None
    return built, settings


def later(seconds: float = 10.0) -> Deadline:
    return Deadline(time.monotonic() + seconds)


def failures(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if getattr(r, "event", None) == "provider_failed"]


# --- status codes -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "kind"),
    [(500, "http_500"), (401, "auth"), (404, "not_found"), (400, "http_400")],
)
async def test_an_error_status_moves_on_at_once_and_is_logged(
    openai_server: OpenAIServer,
    http: Any,
    caplog: pytest.LogCaptureFixture,
    code: int,
    kind: str,
) -> None:
    openai_server.chat(status(code, message="Incorrect API key provided: sk-or-te*****cret"))
    provider, _ = provider_for(openai_server, http)
    caplog.set_level(logging.WARNING, logger="stemgraph.models")
    reply = await ModelRouter([provider]).ainvoke(MESSAGES, deadline=later())
    assert reply.provider == "offline"
    ((attempt),) = reply.attempts
    assert (attempt.provider, attempt.model, attempt.error) == ("openrouter", "fake-model", kind)
    assert f"Error code: {code}" in attempt.message
    assert "sk-or" not in attempt.message and "[redacted]" in attempt.message
    # Never retried: one request reached the server.
    assert len(openai_server.chat_requests) == 1
    (record,) = failures(caplog)
    assert record.levelno == logging.WARNING
    assert (record.provider, record.model, record.error, record.http_status) == (  # type: ignore[attr-defined]
        "openrouter",
        "fake-model",
        kind,
        code,
    )
    assert isinstance(record.elapsed_ms, int)  # type: ignore[attr-defined]
    logged = record.getMessage() + repr(record.__dict__)
    assert "sk-or-test-secret" not in logged and "momentum" not in logged


async def test_429_is_retried_after_retry_after(
    openai_server: OpenAIServer, http: Any, caplog: pytest.LogCaptureFixture
) -> None:
    openai_server.chat(status(429, retry_after=0.4), reply("Momentum is conserved."))
    provider, _ = provider_for(openai_server, http)
    caplog.set_level(logging.WARNING, logger="stemgraph.models")
    started = time.monotonic()
    reply_ = await ModelRouter([provider]).ainvoke(MESSAGES, deadline=later())
    elapsed = time.monotonic() - started
    assert (reply_.provider, reply_.text) == ("openrouter", "Momentum is conserved.")
    assert [a.error for a in reply_.attempts] == ["http_429"]
    assert elapsed >= 0.4
    assert reply_.latency_ms >= 400  # the wall time of the whole call, the wait included
    assert len(openai_server.chat_requests) == 2
    assert [r.http_status for r in failures(caplog)] == [429]  # type: ignore[attr-defined]


async def test_503_is_retried_with_backoff_and_gives_up_after_the_retries(
    openai_server: OpenAIServer, http: Any
) -> None:
    openai_server.chat(status(503), status(503), status(503))
    provider, _ = provider_for(openai_server, http)
    router = ModelRouter([provider], rate_limit_retries=2, backoff_s=0.05)
    reply_ = await router.ainvoke(MESSAGES, deadline=later())
    assert reply_.provider == "offline"
    assert [a.error for a in reply_.attempts] == ["http_503"] * 3
    assert len(openai_server.chat_requests) == 3


async def test_a_retry_after_beyond_the_deadline_moves_on_at_once(
    openai_server: OpenAIServer, http: Any
) -> None:
    openai_server.chat(status(429, retry_after=30))
    provider, _ = provider_for(openai_server, http)
    started = time.monotonic()
    reply_ = await ModelRouter([provider]).ainvoke(MESSAGES, deadline=later(3))
    assert time.monotonic() - started < 1.5
    assert reply_.provider == "offline"
    assert [a.error for a in reply_.attempts] == ["http_429"]


async def test_without_offline_fallback_every_failure_is_raised_with_its_attempts(
    openai_server: OpenAIServer, http: Any
) -> None:
    openai_server.chat(status(500))
    provider, _ = provider_for(openai_server, http)
    with pytest.raises(ProvidersExhausted) as raised:
        await ModelRouter([provider], offline_fallback=False).ainvoke(MESSAGES, deadline=later())
    assert [a.as_wire()["error"] for a in raised.value.attempts] == ["http_500"]
    assert "openrouter (fake-model): http_500" in str(raised.value)


# --- deadlines --------------------------------------------------------------------------------


async def test_a_hanging_provider_is_cut_at_the_first_token_deadline(
    openai_server: OpenAIServer, http: Any
) -> None:
    openai_server.chat(hang(30))
    provider, _ = provider_for(openai_server, http, ai_first_token_timeout_ms=300)
    started = time.monotonic()
    reply_ = await ModelRouter([provider]).ainvoke(MESSAGES, deadline=later(10))
    elapsed = time.monotonic() - started
    assert 0.3 <= elapsed < 1.5  # the provider's first-token deadline, not the request's 10 s
    assert reply_.provider == "offline"
    ((attempt),) = reply_.attempts
    assert attempt.error == "timeout"
    assert "no first token within 0.3 s" in attempt.message


async def test_a_stream_that_stalls_is_cut_at_the_idle_deadline(
    openai_server: OpenAIServer, http: Any
) -> None:
    openai_server.chat(stream(["Mom", "entum", " is", " mass", " times"], delay_s=0.5))
    provider, _ = provider_for(
        openai_server, http, ai_first_token_timeout_ms=2_000, ai_idle_timeout_ms=250
    )
    started = time.monotonic()
    reply_ = await ModelRouter([provider]).ainvoke(MESSAGES, deadline=later(10))
    assert time.monotonic() - started < 2.5
    assert [a.error for a in reply_.attempts] == ["timeout"]
    assert "no token for 0.25 s" in reply_.attempts[0].message
    assert openai_server.chat_requests[0].wait_done(5) == "client_disconnected"


async def test_a_stream_slower_than_the_request_deadline_is_cut_there(
    openai_server: OpenAIServer, http: Any
) -> None:
    openai_server.chat(stream(["word "] * 40, delay_s=0.05))
    provider, _ = provider_for(openai_server, http)
    started = time.monotonic()
    reply_ = await ModelRouter([provider]).ainvoke(MESSAGES, deadline=Deadline(started + 0.6))
    assert time.monotonic() - started < 1.2
    assert reply_.provider == "offline"
    assert reply_.attempts[0].message == "timed out: the request's deadline passed"
    assert openai_server.chat_requests[0].wait_done(5) == "client_disconnected"


# --- honest streams ---------------------------------------------------------------------------


async def stream_llm(router: ModelRouter) -> list[dict[str, Any]]:
    context = GenerationContext(router=router, timeout_ms=10_000, deadline=later(10))
    return [
        part
        async for part in llm_graph.astream(
            {"system": "", "user": "Momentum is mass times velocity."},
            context=context,
            stream_mode=["messages", "custom", "values"],
            version="v2",
        )
    ]


async def test_a_mid_stream_error_is_reset_before_the_replacement_answer(
    openai_server: OpenAIServer, http: Any, caplog: pytest.LogCaptureFixture
) -> None:
    openai_server.chat(stream(["Momentum", " is"], then_error=True))
    provider, _ = provider_for(openai_server, http)
    caplog.set_level(logging.WARNING, logger="stemgraph.models")
    parts = await stream_llm(ModelRouter([provider]))
    kinds = [
        ("token", part["data"][0].content)
        if part["type"] == "messages"
        else (part["type"], part["data"])
        for part in parts
        if part["type"] != "messages" or part["data"][0].content
    ]
    tokens_before = kinds.index(("token", "Momentum"))
    reset = next(i for i, (kind, data) in enumerate(kinds) if kind == "custom" and "reset" in data)
    failed = next(
        i
        for i, (kind, data) in enumerate(kinds)
        if kind == "custom" and data.get("stage") == "provider_failed"
    )
    first_offline = next(i for i, (kind, data) in enumerate(kinds) if kind == "token" and i > reset)
    assert tokens_before < failed < reset < first_offline
    assert kinds[reset][1] == {
        "reset": True,
        "reason": kinds[failed][1]["error"],
        "provider": "openrouter",
    }
    final = parts[-1]["data"]
    assert final["provider"] == "offline"
    event = dict(kinds[failed][1])
    assert event.pop("stage") == "provider_failed"
    assert final["attempts"] == [event]
    assert event["provider"] == "openrouter" and event["model"] == "fake-model"
    assert [r.error for r in failures(caplog)] == [kinds[failed][1]["error"]]  # type: ignore[attr-defined]


async def test_a_failure_before_any_token_needs_no_reset(
    openai_server: OpenAIServer, http: Any
) -> None:
    openai_server.chat(status(500))
    provider, _ = provider_for(openai_server, http)
    parts = await stream_llm(ModelRouter([provider]))
    custom = [part["data"] for part in parts if part["type"] == "custom"]
    assert not any("reset" in data for data in custom)
    assert {
        "stage": "provider_failed",
        "provider": "openrouter",
        "model": "fake-model",
    }.items() <= next(data for data in custom if data.get("stage") == "provider_failed").items()


async def test_usage_sums_every_attempt(openai_server: OpenAIServer, http: Any) -> None:
    usage = {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}
    openai_server.chat(stream(["Mom", "entum"], then_error=True), reply("ok", usage=usage))
    provider, _ = provider_for(openai_server, http)
    reply_ = await ModelRouter([provider, provider]).ainvoke(MESSAGES, deadline=later())
    assert reply_.text == "ok"
    assert reply_.usage is not None
    # The failed attempt's streamed tokens count too (estimated: it reported no usage).
    assert reply_.usage.total_tokens > 15 and reply_.usage.completion_tokens > 5


# --- what the server received -----------------------------------------------------------------


async def test_options_go_out_under_the_names_the_provider_honours(
    openai_server: OpenAIServer, http: Any
) -> None:
    openai_server.chat(reply('{"ok": true}'), reply('{"ok": true}'))
    provider, _ = provider_for(openai_server, http)
    schema = {"type": "object", "properties": {"ok": {"type": "boolean"}}}
    options = CallOptions(temperature=0.2, max_tokens=64, json_mode=True, json_schema=schema)
    reply_ = await ModelRouter([provider]).ainvoke(MESSAGES, deadline=later(), options=options)
    assert reply_.text == '{"ok": true}' and reply_.finish_reason == "stop"
    body = openai_server.chat_requests[0].json
    assert body["max_tokens"] == 64 and "max_completion_tokens" not in body
    assert body["temperature"] == 0.2
    # OpenRouter-style servers (and llama.cpp) get json_object, never json_schema.
    assert body["response_format"] == {"type": "json_object"}
    assert body["stream"] is True
    # OpenAI proper gets the schema.
    native = ChatProvider(
        "openai",
        "fake-model",
        ChatOpenAI(
            model="fake-model",
            api_key=SecretStr("sk-test"),
            base_url=openai_server.base_url,
            max_retries=0,
            stream_chunk_timeout=None,
            http_async_client=http,
        ),
        native_schema=True,
    )
    await ModelRouter([native]).ainvoke(MESSAGES, deadline=later(), options=options)
    sent = openai_server.chat_requests[1].json["response_format"]
    assert sent["type"] == "json_schema" and sent["json_schema"]["schema"] == schema


async def test_provider_defaults_fill_what_the_call_leaves_unset(
    openai_server: OpenAIServer, http: Any
) -> None:
    openai_server.chat(reply("a"), reply("b"))
    settings = settings_for(openai_server)
    provider = build_chat_provider(
        settings, "openrouter", temperature=0.7, max_tokens=99, http_client=http
    )
    assert provider is not None
    router = ModelRouter([provider])
    await router.ainvoke(MESSAGES, deadline=later())
    await router.ainvoke(MESSAGES, deadline=later(), options=CallOptions(max_tokens=5))
    first, second = (r.json for r in openai_server.chat_requests)
    assert (first["temperature"], first["max_tokens"]) == (0.7, 99)
    assert (second["temperature"], second["max_tokens"]) == (0.7, 5)
    assert "response_format" not in first


async def test_finish_reason_length_is_reported(openai_server: OpenAIServer, http: Any) -> None:
    openai_server.chat(finish_length('{"answer": "Momentum is'))
    provider, _ = provider_for(openai_server, http)
    reply_ = await ModelRouter([provider]).ainvoke(
        MESSAGES, deadline=later(), options=CallOptions(json_mode=True, max_tokens=5)
    )
    # The cut text comes back for the caller to repair (the SDK's parsing stream would raise).
    assert reply_.finish_reason == "length"
    assert reply_.text == '{"answer": "Momentum is'
    assert reply_.provider == "openrouter" and reply_.attempts == ()
    assert openai_server.chat_requests[0].json["response_format"] == {"type": "json_object"}


async def test_a_non_ascii_app_name_is_sent_percent_encoded_on_chat_and_embeddings(
    openai_server: OpenAIServer, http: Any
) -> None:
    openai_server.chat(reply("ok"))
    openai_server.embed(embeddings())
    settings = settings_for(
        openai_server, openrouter_app_name=APP_NAME, openrouter_site_url="https://física.example"
    )
    provider = build_chat_provider(settings, "openrouter", http_client=http)
    assert provider is not None
    reply_ = await ModelRouter([provider]).ainvoke(MESSAGES, deadline=later())
    assert reply_.provider == "openrouter"
    embedders = embedding_providers(settings, ["openrouter"], dimensions=1536, http_client=http)
    vectors = await embed(["F = ma"], embedders, deadline=later())
    assert vectors.provider == "openrouter"
    for request in (openai_server.chat_requests[0], openai_server.embedding_requests[0]):
        title = request.header("x-title")
        assert title is not None and title.isascii()
        assert unquote(title) == APP_NAME
        referer = request.header("http-referer")
        assert referer is not None and unquote(referer) == "https://física.example"


def test_ascii_header_values_are_sent_unchanged() -> None:
    assert header_value("stemgraph") == "stemgraph"
    assert header_value("Física") == "F%C3%ADsica"
    assert app_headers(ProviderSettings(openrouter_app_name="A & B")) == {"X-Title": "A & B"}


# --- embeddings -------------------------------------------------------------------------------


async def test_wrong_embedding_dimensions_are_an_invalid_output(
    openai_server: OpenAIServer, http: Any, caplog: pytest.LogCaptureFixture
) -> None:
    openai_server.embed(embeddings(dim=768))
    settings = settings_for(openai_server)
    embedders = embedding_providers(settings, ["openrouter"], dimensions=1536, http_client=http)
    caplog.set_level(logging.WARNING, logger="stemgraph.models")
    with pytest.raises(ProvidersExhausted) as raised:
        await embed(["F = ma"], embedders, deadline=later(), offline_fallback=False)
    ((attempt),) = raised.value.attempts
    assert (attempt.provider, attempt.model, attempt.error) == (
        "openrouter",
        "fake-embed",
        "invalid_output",
    )
    assert "768" in attempt.message
    assert [r.error for r in failures(caplog)] == ["invalid_output"]  # type: ignore[attr-defined]


async def test_embeddings_retry_429_and_answer_one_model(
    openai_server: OpenAIServer, http: Any
) -> None:
    openai_server.embed(status(429, retry_after=0.1), embeddings())
    embedders = embedding_providers(
        settings_for(openai_server), ["openrouter"], dimensions=1536, http_client=http
    )
    reply_ = await embed(["F = ma", "p = mv"], embedders, deadline=later())
    assert (reply_.provider, reply_.model) == ("openrouter", "fake-embed")
    assert [a.error for a in reply_.attempts] == ["http_429"]
    assert len(reply_.vectors) == 2 and all(len(v) == 1536 for v in reply_.vectors)


async def test_a_query_embedding_has_its_own_deadline_inside_the_request_s(
    openai_server: OpenAIServer, http: Any
) -> None:
    openai_server.embed(hang(30))
    settings = settings_for(openai_server, ai_embedding_timeout_ms=300)
    embedders = embedding_providers(settings, ["openrouter"], dimensions=1536, http_client=http)
    started = time.monotonic()
    vector = await embed_query(embedders, "momentum", "fake-embed", deadline=later(30))
    assert vector is None
    assert 0.3 <= time.monotonic() - started < 1.5
    # Another model's provider is never asked: its vectors live in another space.
    assert await embed_query(embedders, "momentum", "other-model", deadline=later()) is None
    assert len(openai_server.embedding_requests) == 1


# --- the real local model ---------------------------------------------------------------------


async def test_the_local_model_honours_max_tokens_and_json_mode(
    local_model: LocalModel, http: Any
) -> None:
    settings = ProviderSettings(
        openrouter_api_key="local",
        openrouter_base_url=local_model.base_url,
        openrouter_model=local_model.name,
    )
    provider = build_chat_provider(settings, "openrouter", http_client=http)
    assert provider is not None
    started = time.monotonic()
    reply_ = await ModelRouter([provider], offline_fallback=False).ainvoke(
        [HumanMessage("Write a long JSON object describing momentum.")],
        deadline=later(60),
        options=CallOptions(max_tokens=8, json_mode=True, temperature=0),
    )
    # Capped at 8 tokens (ChatOpenAI's `max_completion_tokens` would have been ignored).
    assert reply_.finish_reason == "length"
    assert reply_.text.lstrip().startswith("{")
    assert (reply_.provider, reply_.model, reply_.attempts) == ("openrouter", local_model.name, ())
    assert time.monotonic() - started < 30

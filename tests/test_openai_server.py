"""The loopback OpenAI-compatible server against the real `langchain_openai` clients."""

from __future__ import annotations

import asyncio
import json
import math
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any
from urllib.parse import quote, unquote

import httpx
import openai
import pytest
from langchain_core.messages import AIMessageChunk, HumanMessage, SystemMessage
from langchain_openai import ChatOpenAI, OpenAIEmbeddings
from pydantic import BaseModel, SecretStr

from tests.local_model import LocalModel, local_model_or_skip, local_model_server
from tests.openai_server import (
    OpenAIServer,
    embeddings,
    finish_length,
    hang,
    reply,
    status,
    stream,
)

MESSAGES = [SystemMessage("You write quizzes."), HumanMessage("Two questions on momentum.")]
APP_NAME = "Física & Química"


@pytest.fixture
def server() -> Iterator[OpenAIServer]:
    with OpenAIServer() as running:
        yield running


def chat_client(server: OpenAIServer, **overrides: Any) -> ChatOpenAI:
    options: dict[str, Any] = {
        "model": "fake-model",
        "api_key": SecretStr("sk-test"),
        "base_url": server.base_url,
        "max_retries": 0,
        "timeout": 10,
        # On Python 3.11 the per-chunk `asyncio.wait_for` can swallow a caller's deadline; see
        # test_every_deadline_cuts_the_stream_once_the_chunk_timeout_is_off.
        "stream_chunk_timeout": None,
        **overrides,
    }
    return ChatOpenAI(**options)


def embeddings_client(server: OpenAIServer, **overrides: Any) -> OpenAIEmbeddings:
    options: dict[str, Any] = {
        "model": "fake-embed",
        "openai_api_key": SecretStr("sk-test"),
        "openai_api_base": server.base_url,
        "check_embedding_ctx_length": False,
        "max_retries": 0,
        **overrides,
    }
    return OpenAIEmbeddings(**options)


async def collect(model: Any, messages: Any = MESSAGES) -> list[AIMessageChunk]:
    return [chunk async for chunk in model.astream(messages)]


def merged(chunks: list[AIMessageChunk]) -> AIMessageChunk:
    total = chunks[0]
    for chunk in chunks[1:]:
        total = total + chunk
    return total


# --- replies ----------------------------------------------------------------------------------


async def test_plain_reply_carries_text_finish_reason_usage_and_request_fields(
    server: OpenAIServer,
) -> None:
    usage = {"prompt_tokens": 11, "completion_tokens": 3, "total_tokens": 14}
    server.chat(reply("Momentum is conserved.", usage=usage))
    headers = {"X-Title": "stemgraph", "HTTP-Referer": "https://stemgraph.test"}
    model = chat_client(server, temperature=0.2, max_tokens=400, default_headers=headers)

    message = await model.ainvoke(MESSAGES)

    assert message.content == "Momentum is conserved."
    assert message.response_metadata["finish_reason"] == "stop"
    assert message.usage_metadata is not None
    assert message.usage_metadata["input_tokens"] == 11
    assert message.usage_metadata["output_tokens"] == 3
    (request,) = server.chat_requests
    assert request.path == "/v1/chat/completions"
    assert request.header("authorization") == "Bearer sk-test"
    assert request.header("x-title") == "stemgraph"
    assert request.header("http-referer") == "https://stemgraph.test"
    body = request.json
    assert body["model"] == "fake-model"
    assert body["temperature"] == 0.2
    # ChatOpenAI renames max_tokens; OpenRouter and llama.cpp document `max_tokens`.
    assert body["max_completion_tokens"] == 400
    assert "max_tokens" not in body
    assert body["messages"] == [
        {"role": "system", "content": "You write quizzes."},
        {"role": "user", "content": "Two questions on momentum."},
    ]
    assert request.wait_done() == "served"


async def test_max_tokens_goes_out_under_its_own_name_through_extra_body(
    server: OpenAIServer,
) -> None:
    server.chat(reply("ok"))
    await chat_client(server, extra_body={"max_tokens": 120}).ainvoke(MESSAGES)

    body = server.chat_requests[0].json
    assert body["max_tokens"] == 120
    assert "max_completion_tokens" not in body


async def test_streaming_sends_tokens_then_finish_reason_and_usage(server: OpenAIServer) -> None:
    usage = {"prompt_tokens": 9, "completion_tokens": 4, "total_tokens": 13}
    server.chat(stream(["Momentum", " is", " conserved", "."], usage=usage))
    chunks = await collect(chat_client(server, stream_usage=True))

    assert [chunk.content for chunk in chunks if chunk.content] == [
        "Momentum",
        " is",
        " conserved",
        ".",
    ]
    total = merged(chunks)
    assert total.content == "Momentum is conserved."
    assert total.response_metadata["finish_reason"] == "stop"
    assert total.usage_metadata is not None
    assert total.usage_metadata["total_tokens"] == 13
    body = server.chat_requests[0].json
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}


async def test_streaming_without_usage_option_sends_no_usage(server: OpenAIServer) -> None:
    server.chat(stream(["a", "b"]))
    chunks = await collect(chat_client(server, stream_usage=False))

    assert merged(chunks).usage_metadata is None
    assert "stream_options" not in server.chat_requests[0].json


async def test_a_reply_to_a_streamed_request_arrives_word_by_word(server: OpenAIServer) -> None:
    server.chat(reply("three short words"))
    chunks = await collect(chat_client(server))

    assert [chunk.content for chunk in chunks if chunk.content] == ["three", " short", " words"]


@pytest.mark.parametrize("streamed", [False, True])
async def test_finish_length_reports_a_truncated_reply(
    server: OpenAIServer, streamed: bool
) -> None:
    server.chat(finish_length('{"questions": [{"prompt": "What is'))
    model = chat_client(server)
    if streamed:
        message: Any = merged(await collect(model))
    else:
        message = await model.ainvoke(MESSAGES)

    assert message.response_metadata["finish_reason"] == "length"
    assert message.content == '{"questions": [{"prompt": "What is'


# --- failures ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "error"),
    [
        (401, openai.AuthenticationError),
        (404, openai.NotFoundError),
        (429, openai.RateLimitError),
        (500, openai.InternalServerError),
        (503, openai.InternalServerError),
    ],
)
async def test_error_statuses_raise_the_matching_openai_exception(
    server: OpenAIServer, code: int, error: type[openai.APIStatusError]
) -> None:
    server.chat(status(code, message=f"scripted {code}"))

    with pytest.raises(error) as raised:
        await chat_client(server).ainvoke(MESSAGES)

    assert raised.value.status_code == code
    assert f"scripted {code}" in raised.value.message
    assert server.chat_requests[0].wait_done() == f"status_{code}"


async def test_rate_limit_error_exposes_retry_after(server: OpenAIServer) -> None:
    server.chat(status(429, retry_after=7))

    with pytest.raises(openai.RateLimitError) as raised:
        await chat_client(server).ainvoke(MESSAGES)

    assert raised.value.response.headers["retry-after"] == "7"


async def test_the_sdk_retry_waits_for_retry_after(server: OpenAIServer) -> None:
    server.chat(status(429, retry_after=1), reply("second time lucky"))
    started = time.monotonic()

    message = await chat_client(server, max_retries=1).ainvoke(MESSAGES)

    assert message.content == "second time lucky"
    assert time.monotonic() - started >= 1.0
    first, second = server.chat_requests
    assert first.header("x-stainless-retry-count") == "0"
    assert second.header("x-stainless-retry-count") == "1"


async def test_hang_hits_the_client_timeout(server: OpenAIServer) -> None:
    server.chat(hang())
    started = time.monotonic()

    with pytest.raises(openai.APITimeoutError):
        await chat_client(server, timeout=0.5).ainvoke(MESSAGES)

    assert time.monotonic() - started < 5
    assert server.chat_requests[0].outcome == "pending"


async def test_hang_hits_a_caller_deadline(server: OpenAIServer) -> None:
    server.chat(hang())

    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.3):
            await chat_client(server).ainvoke(MESSAGES)


async def test_slow_stream_past_a_deadline_is_cut_and_the_server_sees_the_disconnect(
    server: OpenAIServer,
) -> None:
    server.chat(reply("warm-up"), stream([f" t{i}" for i in range(40)], delay_s=0.1))
    model = chat_client(server)
    # The first call builds the HTTP client and TLS context synchronously, which would eat the
    # deadline on a busy machine; the deadline is for the stream.
    await model.ainvoke(MESSAGES)
    received: list[str] = []

    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.55):
            async for chunk in model.astream(MESSAGES):
                received.append(str(chunk.content))

    tokens = [token for token in received if token]
    assert 2 <= len(tokens) < 40
    assert server.chat_requests[1].wait_done(timeout=10) == "client_disconnected"


async def test_every_deadline_cuts_the_stream_once_the_chunk_timeout_is_off(
    server: OpenAIServer,
) -> None:
    # ChatOpenAI's default `stream_chunk_timeout` wraps each chunk in `asyncio.wait_for`, which on
    # Python 3.11 loses a cancellation that lands as a chunk arrives: the caller's deadline then
    # never fires and the stream runs to its end (about 4 in 10 deadlines here). Turned off, the
    # deadline cuts every stream.
    model = chat_client(server, stream_chunk_timeout=None)  # the helper's default, made explicit
    server.chat(reply("warm-up"))
    await model.ainvoke(MESSAGES)
    outcomes = []
    for attempt in range(30):
        server.chat(stream([f" t{i}" for i in range(12)], delay_s=0.02))
        try:
            async with asyncio.timeout(0.03 + (attempt % 10) * 0.012):
                async for _ in model.astream(MESSAGES):
                    pass
            outcomes.append("ran to the end")
        except TimeoutError:
            outcomes.append("cut")

    assert outcomes == ["cut"] * 30


async def test_mid_stream_error_event_raises_after_the_first_tokens(server: OpenAIServer) -> None:
    server.chat(stream(["Half", " an"], then_error=True))
    received: list[str] = []

    with pytest.raises(openai.APIError, match="scripted mid-stream failure"):
        async for chunk in chat_client(server).astream(MESSAGES):
            received.append(str(chunk.content))

    assert "".join(received) == "Half an"
    assert server.chat_requests[0].wait_done() == "stream_error"


async def test_a_dropped_stream_raises_a_connection_error(server: OpenAIServer) -> None:
    server.chat(stream(["Half", " an"], then_disconnect=True))
    received: list[str] = []

    with pytest.raises(openai.APIConnectionError):
        async for chunk in chat_client(server).astream(MESSAGES):
            received.append(str(chunk.content))

    assert "".join(received) == "Half an"


@pytest.mark.parametrize(
    ("then_error", "error"),
    [(True, openai.InternalServerError), (False, openai.APIConnectionError)],
)
async def test_stream_failures_reach_non_streaming_callers_too(
    server: OpenAIServer, then_error: bool, error: type[Exception]
) -> None:
    # A non-streaming request gets the failure after the stream's time: a 502, or a connection
    # closed without an answer.
    server.chat(stream(["never", " seen"], then_error=then_error, then_disconnect=not then_error))

    with pytest.raises(error):
        await chat_client(server).ainvoke(MESSAGES)


# --- structured output ------------------------------------------------------------------------


class Answer(BaseModel):
    answer: int


async def test_json_mode_sends_response_format_json_object(server: OpenAIServer) -> None:
    server.chat(reply('{"answer": 4}'))
    structured = chat_client(server).with_structured_output(Answer, method="json_mode")

    assert await structured.ainvoke(MESSAGES) == Answer(answer=4)
    assert server.chat_requests[0].json["response_format"] == {"type": "json_object"}


async def test_json_schema_sends_the_schema(server: OpenAIServer) -> None:
    server.chat(reply('{"answer": 4}'))
    structured = chat_client(server).with_structured_output(
        Answer, method="json_schema", strict=True
    )

    assert await structured.ainvoke(MESSAGES) == Answer(answer=4)
    response_format = server.chat_requests[0].json["response_format"]
    assert response_format["type"] == "json_schema"
    assert response_format["json_schema"]["name"] == "Answer"
    assert response_format["json_schema"]["strict"] is True
    assert response_format["json_schema"]["schema"]["properties"] == {
        "answer": {"title": "Answer", "type": "integer"}
    }


async def test_a_bound_response_format_still_streams_tokens(server: OpenAIServer) -> None:
    server.chat(stream(['{"answer"', ": ", "4}"]))
    bound = chat_client(server).bind(response_format={"type": "json_object"})

    chunks = await collect(bound)

    assert [chunk.content for chunk in chunks if chunk.content] == ['{"answer"', ": ", "4}"]
    body = server.chat_requests[0].json
    assert body["stream"] is True
    assert body["response_format"] == {"type": "json_object"}


# --- headers ----------------------------------------------------------------------------------


async def test_a_non_ascii_header_value_fails_before_any_request(server: OpenAIServer) -> None:
    model = chat_client(server, default_headers={"X-Title": APP_NAME})

    with pytest.raises(UnicodeEncodeError):
        await model.ainvoke(MESSAGES)

    assert server.requests == []


async def test_a_percent_encoded_app_name_arrives_as_ascii_and_decodes_back(
    server: OpenAIServer,
) -> None:
    server.chat(reply("ok"))
    server.embed(embeddings(dim=3))
    headers = {"X-Title": quote(APP_NAME, safe=""), "HTTP-Referer": "https://stemgraph.test"}

    await chat_client(server, default_headers=headers).ainvoke(MESSAGES)
    await embeddings_client(server, default_headers=headers).aembed_query("momentum")

    for request in server.requests:
        sent = request.header_bytes("x-title")
        assert sent == b"F%C3%ADsica%20%26%20Qu%C3%ADmica"
        assert unquote(sent.decode("ascii")) == APP_NAME
        assert request.header("http-referer") == "https://stemgraph.test"


# --- embeddings -------------------------------------------------------------------------------


async def test_embeddings_default_to_base64_and_decode_to_the_same_floats(
    server: OpenAIServer,
) -> None:
    server.embed(embeddings(), embeddings())
    texts = ["momentum", "energy"]

    as_base64 = await embeddings_client(server, dimensions=8).aembed_documents(texts)
    as_floats = await embeddings_client(
        server, dimensions=8, model_kwargs={"encoding_format": "float"}
    ).aembed_documents(texts)

    first, second = server.embedding_requests
    assert first.json["encoding_format"] == "base64"
    assert first.json["dimensions"] == 8
    assert first.json["input"] == texts
    assert second.json["encoding_format"] == "float"
    assert as_base64 == as_floats
    assert [len(vector) for vector in as_base64] == [8, 8]
    assert as_base64[0] != as_base64[1]
    assert math.isclose(sum(x * x for x in as_base64[0]), 1.0, rel_tol=1e-5)


async def test_wrong_embedding_dimension_reaches_the_caller_unchecked(
    server: OpenAIServer,
) -> None:
    server.embed(embeddings(dim=3))

    vector = await embeddings_client(server, dimensions=1536).aembed_query("momentum")

    assert len(vector) == 3


async def test_non_finite_embeddings_are_delivered_as_such(server: OpenAIServer) -> None:
    server.embed(embeddings(dim=4, fill=float("nan")))

    vector = await embeddings_client(server).aembed_query("momentum")

    assert len(vector) == 4
    assert all(math.isnan(x) for x in vector)


async def test_embedding_errors_raise_like_chat_errors(server: OpenAIServer) -> None:
    server.embed(status(429, retry_after=2), hang())

    with pytest.raises(openai.RateLimitError):
        await embeddings_client(server).aembed_query("momentum")
    with pytest.raises(openai.APITimeoutError):
        await embeddings_client(server, timeout=0.3).aembed_query("momentum")


# --- the harness itself -----------------------------------------------------------------------


def test_models_endpoint_lists_the_model(server: OpenAIServer) -> None:
    response = httpx.get(f"{server.base_url}/models")

    assert response.status_code == 200
    assert response.json()["data"][0]["id"] == "fake-model"


def test_an_unscripted_request_fails_the_test() -> None:
    with pytest.raises(AssertionError, match="no scripted behaviour"), OpenAIServer() as running:
        response = httpx.post(f"{running.base_url}/chat/completions", json={"messages": []})
        assert response.status_code == 500
        assert running.unscripted == running.requests


def test_a_behaviour_for_the_wrong_endpoint_counts_as_unscripted() -> None:
    with OpenAIServer(strict=False) as running:
        running.chat(embeddings())
        response = httpx.post(f"{running.base_url}/chat/completions", json={"messages": []})

    assert response.status_code == 500
    assert "Embeddings scripted" in response.json()["error"]["message"]
    assert len(running.unscripted) == 1


def test_stopping_releases_hanging_and_idle_connections() -> None:
    running = OpenAIServer(keep_alive=True)
    running.__enter__()
    running.chat(hang(), reply("never used"))
    failures: list[Exception] = []

    def unanswered() -> None:
        try:
            httpx.post(f"{running.base_url}/chat/completions", json={}, timeout=30)
        except httpx.HTTPError as error:
            failures.append(error)

    with httpx.Client() as idle:
        # An idle keep-alive connection, then a request the server never answers.
        assert idle.get(f"{running.base_url}/models").status_code == 200
        caller = threading.Thread(target=unanswered, daemon=True)
        caller.start()
        while not running.requests:
            time.sleep(0.01)
        started = time.monotonic()
        running.__exit__(None, None, None)

        assert time.monotonic() - started < 3
        caller.join(timeout=5)
        assert not caller.is_alive()
    assert [type(error) for error in failures] == [httpx.RemoteProtocolError]
    assert running.requests[0].wait_done() == "stopped"
    assert running.pending() == 1


# --- the same clients against llama.cpp: what the fake imitates -------------------------------

ANSWER_SCHEMA = {
    "type": "object",
    "properties": {"answer": {"type": "integer"}},
    "required": ["answer"],
}
ARITHMETIC = 'What is 2 + 2? Reply as JSON like {"answer": 0}.'
LlamaClient = Callable[..., ChatOpenAI]


@pytest.fixture(scope="module")
def llama() -> Iterator[LocalModel]:
    python, _ = local_model_or_skip()
    with local_model_server(python) as model:
        yield model


@pytest.fixture
async def llama_http() -> AsyncIterator[openai.DefaultAsyncHttpxClient]:
    # Without a client of its own, ChatOpenAI shares one per (base_url, timeout) across the
    # process, and its pooled connections belong to the event loop of the test that opened them:
    # the next test's loop then fails with "Event loop is closed".
    client = openai.DefaultAsyncHttpxClient(timeout=120)
    yield client
    await client.aclose()


@pytest.fixture
def llama_client(
    llama: LocalModel, llama_http: openai.DefaultAsyncHttpxClient
) -> Callable[..., ChatOpenAI]:
    def build(**overrides: Any) -> ChatOpenAI:
        options: dict[str, Any] = {
            "model": llama.name,
            "api_key": SecretStr("local"),
            "base_url": llama.base_url,
            "http_async_client": llama_http,
            "max_retries": 0,
            "timeout": 120,
            "stream_chunk_timeout": None,
            "temperature": 0,
            "seed": 7,
            **overrides,
        }
        return ChatOpenAI(**options)

    return build


async def test_llama_lists_its_model(llama: LocalModel) -> None:
    async with httpx.AsyncClient() as client:
        response = await client.get(f"{llama.base_url}/models")

    assert [model["id"] for model in response.json()["data"]] == [llama.name]


async def test_llama_caps_max_tokens_but_ignores_max_completion_tokens(
    llama_client: LlamaClient,
) -> None:
    capped = await llama_client(extra_body={"max_tokens": 8}).ainvoke(
        "Write a long essay about momentum."
    )
    # ChatOpenAI's own max_tokens=5 goes out as max_completion_tokens: the server lets the reply
    # run on to the `max_tokens` sent beside it.
    uncapped = await llama_client(max_tokens=5, extra_body={"max_tokens": 60}).ainvoke(
        "Count from 1 to 30, separated by spaces."
    )

    assert capped.response_metadata["finish_reason"] == "length"
    assert capped.usage_metadata is not None
    assert capped.usage_metadata["output_tokens"] == 8
    assert uncapped.usage_metadata is not None
    assert 5 < uncapped.usage_metadata["output_tokens"] <= 60


async def test_llama_streams_tokens_and_a_finish_reason_but_no_usage(
    llama_client: LlamaClient,
) -> None:
    model = llama_client(stream_usage=True, extra_body={"max_tokens": 30})

    chunks = await collect(model, "Say hello to the class.")

    assert len([chunk for chunk in chunks if chunk.content]) > 3
    total = merged(chunks)
    assert total.response_metadata["finish_reason"] in {"stop", "length"}
    assert total.usage_metadata is None


@pytest.mark.parametrize("streamed", [False, True])
async def test_llama_json_object_with_a_schema_constrains_the_reply(
    llama_client: LlamaClient, streamed: bool
) -> None:
    model = llama_client(extra_body={"max_tokens": 40}).bind(
        response_format={"type": "json_object", "schema": ANSWER_SCHEMA}
    )

    if streamed:
        chunks = await collect(model, ARITHMETIC)
        assert len(chunks) > 2
        text = "".join(str(chunk.content) for chunk in chunks)
    else:
        text = str((await model.ainvoke(ARITHMETIC)).content)

    assert isinstance(json.loads(text)["answer"], int)


async def test_llama_answers_json_mode_and_function_calling(llama_client: LlamaClient) -> None:
    model = llama_client(extra_body={"max_tokens": 40})
    schema = {"title": "Answer", "description": "The answer.", **ANSWER_SCHEMA}

    json_mode = await model.with_structured_output(schema, method="json_mode").ainvoke(ARITHMETIC)
    tool = await model.with_structured_output(schema, method="function_calling").ainvoke(
        "What is 2 + 2?"
    )

    assert isinstance(json_mode, dict) and isinstance(json_mode["answer"], int)
    assert isinstance(tool, dict) and isinstance(tool["answer"], int)


async def test_llama_rejects_the_json_schema_response_format(llama_client: LlamaClient) -> None:
    model = llama_client(extra_body={"max_tokens": 40})
    schema = {"title": "Answer", **ANSWER_SCHEMA}

    with pytest.raises(openai.InternalServerError) as raised:
        await model.with_structured_output(schema, method="json_schema").ainvoke(ARITHMETIC)

    assert raised.value.status_code == 500
    assert "json_object" in raised.value.message

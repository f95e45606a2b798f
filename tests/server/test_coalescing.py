"""Token coalescing: tokens produced within `coalesce_ms` go out as one `messages` event whose
chunk is their sum. Streams are read over a real socket; the body option is validated."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.messages import AIMessageChunk, HumanMessage

from server.streaming import coalesce
from tests.fakes import TrickleChatModel
from tests.server.conftest import API_KEY, Api, Serve, only
from tests.server.test_app import assert_error
from tests.sse import Event, iter_events

STREAM = {"x-api-key": API_KEY, "accept": "text/event-stream"}
REPLY = " ".join(f"w{n}" for n in range(60))
BODY = {"system": "Be brief.", "user": "Talk."}


def _stream(api: Api, body: dict[str, Any]) -> list[Event]:
    with api.client.stream(
        "POST", api.url + "/v1/llm/generate", json=body, headers=STREAM
    ) as response:
        assert response.status_code == 200
        return list(iter_events(response))


def _tokens(events: list[Event]) -> list[str]:
    return [e.data[0]["content"] for e in events if e.event == "messages"]


def _model() -> TrickleChatModel:
    # A token every 2 ms: a 40 ms window holds many of them.
    return TrickleChatModel(reply=REPLY, token_delay_s=0.002)


@pytest.mark.live
def test_coalesced_tokens_concatenate_to_the_same_text_in_fewer_events(serve: Serve) -> None:
    with serve(chat=only(_model())) as api:
        plain = _stream(api, BODY)
        merged = _stream(api, {**BODY, "coalesce_ms": 40})
    assert [token for token in _tokens(plain) if token] == [f"w{n} " for n in range(60)]
    assert "".join(_tokens(merged)) == "".join(_tokens(plain)) == REPLY + " "
    assert len(_tokens(merged)) <= len(_tokens(plain)) // 3
    # Same framing otherwise: numbered ids, metadata first, the same final data.
    assert [e.event for e in merged][0] == "metadata" and merged[-1].event == "values"
    run_id = merged[0].data["run_id"]
    assert [e.id for e in merged] == [f"{run_id}:{n}" for n in range(1, len(merged) + 1)]
    assert merged[-1].data["content"] == plain[-1].data["content"] == REPLY + " "
    chunk, metadata = next(e.data for e in merged if e.event == "messages")
    assert chunk["type"] == "AIMessageChunk" and metadata["langgraph_node"] == "generate"


@pytest.mark.live
def test_the_server_setting_coalesces_unless_the_request_turns_it_off(serve: Serve) -> None:
    with serve(chat=only(_model()), coalesce_ms=40) as api:
        by_setting = _stream(api, BODY)
        turned_off = _stream(api, {**BODY, "coalesce_ms": 0})
    assert "".join(_tokens(by_setting)) == "".join(_tokens(turned_off)) == REPLY + " "
    assert len([token for token in _tokens(turned_off) if token]) == 60
    assert len(_tokens(by_setting)) <= 20


@pytest.mark.parametrize("value", [-1, 1001, "soon", 2.5, [40]])
def test_a_bad_coalescing_window_is_a_validation_error(api: Api, value: Any) -> None:
    response = api.post(
        "/v1/quiz/generate",
        {
            "class_title": "P",
            "question_count": 1,
            "material_context": "Force is in newtons.",
            "coalesce_ms": value,
        },
    )
    error = assert_error(response, 422, "validation_error")
    assert error["error"]["message"].startswith("coalesce_ms")


def test_json_answers_ignore_the_window(api: Api) -> None:
    plain = api.post("/v1/llm/generate", BODY)
    windowed = api.post("/v1/llm/generate", {**BODY, "coalesce_ms": 200})
    assert plain.status_code == windowed.status_code == 200, windowed.text
    assert windowed.json()["data"]["content"] == plain.json()["data"]["content"] != ""


def _part(content: str, message_id: str, metadata: dict[str, Any]) -> dict[str, Any]:
    chunk = AIMessageChunk(content=content, id=message_id)
    return {"type": "messages", "ns": (), "data": (chunk, metadata)}


def test_coalesce_merges_only_consecutive_tokens_of_one_message() -> None:
    first: dict[str, Any] = {"langgraph_node": "generate"}
    second: dict[str, Any] = {"langgraph_node": "generate"}
    update = {"type": "updates", "ns": (), "data": {"generate": {}}}
    human = {"type": "messages", "ns": (), "data": (HumanMessage("hi", id="h"), first)}
    parts = [
        _part("a", "m1", first),
        _part("b", "m1", first),
        _part("c", "m1", first),
        update,
        _part("d", "m1", first),
        _part("e", "m2", first),  # another message
        _part("f", "m2", second),  # another model call
        human,  # not a streamed chunk
        _part("g", "m2", second),
    ]
    merged = coalesce(parts)
    shown = [
        (p["data"][0].content, p["data"][0].id) if p["type"] == "messages" else p["type"]
        for p in merged
    ]
    assert shown == [
        ("abc", "m1"),
        "updates",
        ("d", "m1"),
        ("e", "m2"),
        ("f", "m2"),
        ("hi", "h"),
        ("g", "m2"),
    ]
    assert merged[0]["data"][1] is first and merged[4]["data"][1] is second
    assert coalesce([]) == []


def test_coalesced_chunks_keep_usage_and_metadata_of_every_piece() -> None:
    meta: dict[str, Any] = {"langgraph_node": "generate"}
    tail = AIMessageChunk(
        content="",
        id="m",
        usage_metadata={"input_tokens": 3, "output_tokens": 2, "total_tokens": 5},
        response_metadata={"finish_reason": "stop"},
    )
    parts = [
        _part("Hello ", "m", meta),
        _part("world", "m", meta),
        {"type": "messages", "ns": (), "data": (tail, meta)},
    ]
    [one] = coalesce(parts)
    chunk = one["data"][0]
    assert chunk.content == "Hello world"
    assert chunk.usage_metadata == tail.usage_metadata
    assert chunk.response_metadata["finish_reason"] == "stop"

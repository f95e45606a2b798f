"""Hostile JSON over a real socket, on both backends: never a 500, a failed turn saves nothing,
and a stream never carries non-standard JSON."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from starlette.routing import Route

from server.app import create_app
from server.settings import Settings
from tests.fakes import TrickleChatModel
from tests.server.conftest import API_KEY, Api, Serve, only, user_token
from tests.server.routes.test_workspace import call, new_session, ok
from tests.server.test_app import assert_error
from tools.demo import DEMO_CLASS_ID, DEMO_STUDENT_IDS

LENA = DEMO_STUDENT_IDS[0]
SEND = "/v1/chat/workspace/messages/send"

POST_ROUTES = sorted(
    route.path
    for route in create_app(Settings()).routes
    if isinstance(route, Route) and route.methods and "POST" in route.methods
)
# Each hostile body, the answer it gets, and words its message must contain.
HOSTILE: dict[str, tuple[bytes, int, str, str]] = {
    "deep nesting": (
        b'{"orchestration_hints": ' + b"[" * 5_000 + b"]" * 5_000 + b"}",
        400,
        "invalid_json",
        "nested deeper than",
    ),
    "huge integer": (b'{"question_count": ' + b"7" * 5_000 + b"}", 400, "invalid_json", "digits"),
    "NaN": (b'{"tool_catalog": [NaN], "temperature": NaN}', 400, "invalid_json", "NaN"),
    "Infinity": (b'{"max_tokens": Infinity}', 400, "invalid_json", "Infinity"),
    "lone surrogate": (
        b'{"tool_catalog": [{"name": "\\ud800"}]}',
        422,
        "validation_error",
        "tool_catalog.0.name",
    ),
    "NUL": (b'{"class_title": "a\\u0000b"}', 422, "validation_error", "class_title"),
}


def post_raw(api: Api, path: str, raw: bytes, *, stream: bool = False) -> httpx.Response:
    headers = {
        "x-api-key": API_KEY,
        "authorization": f"Bearer {user_token(LENA)}",
        "content-type": "application/json",
    }
    if stream:
        headers["accept"] = "text/event-stream"
    return api.client.post(api.url + path, content=raw, headers=headers)


def test_every_route_refuses_hostile_json_in_the_envelope(api: Api) -> None:
    assert len(POST_ROUTES) >= 20
    for path in POST_ROUTES:
        for name, (raw, status, code, words) in HOSTILE.items():
            response = post_raw(api, path, raw)
            assert response.status_code == status, (path, name, response.text)
            body = assert_error(response, status, code)
            assert words in str(body["error"]), (path, name, body)


@pytest.mark.live
def test_a_send_refused_for_nan_saves_nothing_and_a_retry_saves_one_turn(api: Api) -> None:
    session = new_session(api)
    fields = {
        "class_id": DEMO_CLASS_ID,
        "user_id": LENA,
        "session_id": session["id"],
        "message": "What is the SI unit of force?",
        "tool_mode": "plan",
    }
    raw = json.dumps({**fields, "tool_catalog": [{"cost": float("nan")}]}).encode()
    assert b"NaN" in raw
    for stream in (False, True):
        refused = post_raw(api, SEND, raw, stream=stream)
        assert_error(refused, 400, "invalid_json")
    listed = ok(call(api, "messages/list", LENA, session_id=session["id"]))
    assert listed["messages"] == []
    retried = post_raw(api, SEND, json.dumps({**fields, "tool_catalog": [{"cost": 1.5}]}).encode())
    data = ok(retried)
    assert data["orchestration"]["tool_catalog"] == [{"cost": 1.5}]
    listed = ok(call(api, "messages/list", LENA, session_id=session["id"]))
    assert [m["author_kind"] for m in listed["messages"]] == ["student", "assistant"]


@pytest.mark.parametrize(
    ("field", "value"),
    [("message", "force\u0000?"), ("tool_catalog", ["\ud83d"]), ("message", "x\udfff")],
)
def test_text_no_store_can_keep_is_refused_before_anything_is_saved(
    api: Api, field: str, value: Any
) -> None:
    session = new_session(api)
    body = {
        "class_id": DEMO_CLASS_ID,
        "user_id": LENA,
        "session_id": session["id"],
        "message": "What is force?",
        "tool_mode": "off",
        field: value,
    }
    raw = json.dumps(body).encode()
    error = assert_error(post_raw(api, SEND, raw), 422, "validation_error")
    assert str(error["error"]).count(field) >= 1
    assert ok(call(api, "messages/list", LENA, session_id=session["id"]))["messages"] == []


def infinite_logprob_tutor(reply: str) -> TrickleChatModel:
    """A tutor whose streamed chunks carry provider metadata no JSON can hold (-Infinity),
    as a provider reporting log-probabilities might."""
    return TrickleChatModel(
        reply=reply, token_delay_s=0.01, chunk_metadata={"logprob": float("-inf")}
    )


def _strict_events(text: str) -> list[tuple[str, Any]]:
    """Every event of a stream, its data parsed as standard JSON (NaN/Infinity refused)."""

    def refuse(name: str) -> Any:
        raise AssertionError(f"non-standard JSON in the stream: {name}")

    events: list[tuple[str, Any]] = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        lines = [line for line in block.split("\n") if line and not line.startswith(":")]
        name = next((ln[6:].strip() for ln in lines if ln.startswith("event:")), "message")
        data = "\n".join(ln[5:].removeprefix(" ") for ln in lines if ln.startswith("data:"))
        if data:
            events.append((name, json.loads(data, parse_constant=refuse)))
    return events


@pytest.mark.live
def test_a_stream_never_carries_non_standard_json_and_the_failed_turn_saves_nothing(
    serve: Serve,
) -> None:
    reply = {"safety": "ok", "answer": "Force is measured in newtons.", "citations": []}
    with serve(chat=only(infinite_logprob_tutor(json.dumps(reply)))) as api:
        session = new_session(api)
        body = {
            "class_id": DEMO_CLASS_ID,
            "user_id": LENA,
            "session_id": session["id"],
            "message": "What is force measured in?",
            "tool_mode": "off",
        }
        response = post_raw(api, SEND, json.dumps(body).encode(), stream=True)
        assert response.status_code == 200
        events = _strict_events(response.text)
        name, data = events[-1]
        assert name == "error", events[-2:]
        assert data["code"] == "internal_error" and data["error"] == "internal_error"
        assert "values" not in [n for n, _ in events]
        assert ok(call(api, "messages/list", LENA, session_id=session["id"]))["messages"] == []
        # The failed turn released the session: a JSON send (no token events) goes through.
        again = post_raw(api, SEND, json.dumps(body).encode())
        assert ok(again)["assistant_message"]["content"] == reply["answer"]


# The LangGraph protocol: method, path, JSON body (or raw bytes), status and code.
_T = "/threads/{thread}"
PROTOCOL_HOSTILE: list[tuple[str, str, Any, int, str]] = [
    ("POST", "/threads", {"thread_id": "not-a-uuid"}, 422, "validation_error"),
    ("POST", "/threads", [1, 2], 422, "validation_error"),
    ("POST", "/threads", {"if_exists": "explode"}, 422, "validation_error"),
    ("GET", "/threads/not-a-uuid", None, 404, "thread_not_found"),
    ("GET", "/threads/0b9e3f4e-3c1c-4c57-9a7a-2f1f0c1d0e00", None, 404, "thread_not_found"),
    ("PATCH", _T, {"metadata": "flat"}, 422, "validation_error"),
    ("POST", "/threads/search", {"limit": -1}, 422, "validation_error"),
    ("POST", "/threads/search", {"limit": "ten"}, 422, "validation_error"),
    ("POST", "/threads/search", {"status": "asleep"}, 422, "validation_error"),
    ("POST", "/assistants/search", {"offset": -5}, 422, "validation_error"),
    ("GET", "/assistants/nope", None, 404, "assistant_not_found"),
    ("GET", "/assistants/" + "x" * 5_000 + "/schemas", None, 404, "assistant_not_found"),
    ("POST", "/runs/wait", {"assistant_id": "nope"}, 404, "assistant_not_found"),
    ("POST", "/runs/wait", {"input": {}}, 422, "validation_error"),
    ("POST", "/runs/wait", {"assistant_id": "llm", "input": []}, 422, "validation_error"),
    (
        "POST",
        "/runs/stream",
        {"assistant_id": "llm", "stream_mode": "bogus"},
        422,
        "validation_error",
    ),
    (
        "POST",
        "/runs/wait",
        {"assistant_id": "llm", "input": {}, "command": {"resume": 1}},
        422,
        "validation_error",
    ),
    (
        "POST",
        "/runs/wait",
        {"assistant_id": "llm", "input": {}, "interrupt_before": ["nope"]},
        422,
        "validation_error",
    ),
    (
        "POST",
        "/runs/wait",
        {"assistant_id": "quiz", "input": {"class_id": "not-a-uuid"}},
        422,
        "validation_error",
    ),
    (
        "POST",
        "/runs/wait",
        {"assistant_id": "insights", "input": {"class_id": "0b9e3f4e-3c1c-4c57-9a7a-2f1f0c1d0e00"}},
        404,
        "class_not_found",
    ),
    ("POST", "/runs", {"assistant_id": "llm", "after_seconds": -1}, 422, "validation_error"),
    (
        "POST",
        _T + "/runs",
        {"assistant_id": "llm", "multitask_strategy": "x"},
        422,
        "validation_error",
    ),
    ("GET", _T + "/runs?limit=abc", None, 422, "validation_error"),
    ("GET", _T + "/runs?status=sleeping", None, 422, "validation_error"),
    ("GET", _T + "/runs/not-a-uuid", None, 404, "run_not_found"),
    ("POST", _T + "/runs/not-a-uuid/cancel?action=explode", None, 422, "validation_error"),
    ("POST", _T + "/runs/0b9e3f4e-3c1c-4c57-9a7a-2f1f0c1d0e00/cancel", None, 404, "run_not_found"),
    ("GET", _T + "/history?limit=0", None, 422, "validation_error"),
    ("POST", _T + "/history", {"limit": 10**9}, 422, "validation_error"),
    ("POST", _T + "/state", {"values": {}, "as_node": "nope"}, 409, "thread_has_no_graph"),
    ("PUT", _T, {}, 405, "method_not_allowed"),
]


def test_the_protocol_refuses_hostile_input_in_the_envelope(api: Api) -> None:
    headers = {"x-api-key": API_KEY, "authorization": f"Bearer {user_token(LENA)}"}
    thread = api.client.post(api.url + "/threads", json={}, headers=headers).json()["thread_id"]
    for method, path, body, status, code in PROTOCOL_HOSTILE:
        response = api.client.request(
            method, api.url + path.format(thread=thread), json=body, headers=headers
        )
        assert response.status_code == status, (method, path, response.text)
        assert_error(response, status, code)

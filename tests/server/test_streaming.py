"""The one SSE framing (`server/streaming.py`) and a run's `conclude` hook, driven in-process.

Each response is called as the ASGI app it is, with a `send` and `receive` of the test's own, so
a client that leaves before the first event can be played exactly.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import anyio
from langgraph.graph import END, START, StateGraph
from starlette.requests import Request
from typing_extensions import TypedDict

from graphs.shared.errors import GenerationError
from server.errors import ApiError
from server.registry import GraphRegistry
from server.runs import Conclude, GraphRun, run_to_completion, start_run
from server.streaming import respond_data, sse_response


class TextState(TypedDict):
    text: str


def _graphs(calls: list[str]) -> GraphRegistry:
    def shout(state: TextState) -> dict[str, Any]:
        calls.append(state["text"])
        if state["text"] == "fail":
            raise GenerationError("The model's answer broke the rules.")
        return {"text": state["text"].upper()}

    builder = StateGraph(TextState)
    builder.add_node(shout)
    builder.add_edge(START, "shout")
    builder.add_edge("shout", END)
    return {"quiz": builder.compile(name="quiz")}


def _run(
    calls: list[str], cleaned: list[bool], text: str, conclude: Conclude | None = None
) -> GraphRun:
    async def cleanup(succeeded: bool) -> None:
        cleaned.append(succeeded)

    return start_run(
        _graphs(calls),
        "quiz",
        input={"text": text},
        context=None,
        error_code="quiz_error",
        to_data=lambda values: {"shown": values["text"]},
        cleanup=cleanup,
        conclude=conclude,
    )


def _request(accept: str = "text/event-stream") -> Request:
    return Request(
        {
            "type": "http",
            "method": "POST",
            "path": "/v1/quiz/generate",
            "headers": [(b"accept", accept.encode())],
            "state": {"request_id": "req-1"},
        }
    )


def _events(body: bytes) -> list[tuple[str, Any, str | None]]:
    """(event, data, id) of each event in a raw SSE body."""
    found = []
    for block in body.decode().replace("\r\n", "\n").split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        if "event" in fields:
            found.append((fields["event"], json.loads(fields["data"]), fields.get("id")))
    return found


async def _serve(response: Any, *, client_leaves_at_once: bool = False) -> bytes:
    """Play one HTTP exchange with `response`; returns the body bytes it sent."""
    body = bytearray()
    finished = anyio.Event()

    async def receive() -> Mapping[str, Any]:
        if not client_leaves_at_once:
            await finished.wait()
        return {"type": "http.disconnect"}

    async def send(message: Mapping[str, Any]) -> None:
        if client_leaves_at_once:
            await anyio.sleep_forever()  # the socket never takes the response's start
        body.extend(message.get("body", b""))
        if message["type"] == "http.response.body" and not message.get("more_body"):
            finished.set()

    with anyio.fail_after(10):
        await response({"type": "http", "method": "POST"}, receive, send)
    return bytes(body)


async def test_a_stream_ends_with_the_json_data_and_cleans_up_once() -> None:
    calls: list[str] = []
    cleaned: list[bool] = []
    run = _run(calls, cleaned, "volt")
    events = _events(await _serve(sse_response(_request(), run, ping_seconds=15)))
    names = [name for name, _, _ in events]
    assert names[0] == "metadata" and names[-1] == "values"
    assert events[0][1] == {"run_id": run.run_id, "attempt": 1, "request_id": "req-1"}
    assert [event_id for _, _, event_id in events] == [
        f"{run.run_id}:{n}" for n in range(1, len(events) + 1)
    ]
    assert events[-1][1] == {"shown": "VOLT"}
    assert (calls, cleaned) == (["volt"], [True])


async def test_a_client_that_leaves_before_the_first_event_still_gets_the_run_cleaned_up() -> None:
    calls: list[str] = []
    cleaned: list[bool] = []
    run = _run(calls, cleaned, "volt")
    # The event generator never starts, so its `finally` cannot run the cleanup.
    body = await _serve(sse_response(_request(), run, ping_seconds=15), client_leaves_at_once=True)
    assert body == b""
    assert (calls, cleaned) == ([], [False])


async def test_conclude_turns_a_reported_failure_into_data_in_both_paths() -> None:
    seen: list[Any] = []

    async def conclude(outcome: Mapping[str, Any] | Exception) -> Any:
        seen.append(outcome)
        if isinstance(outcome, GenerationError):
            return {"status": "error", "message": str(outcome)}
        if isinstance(outcome, Exception):
            raise outcome
        return {"status": "ready", "text": outcome["text"]}

    calls: list[str] = []
    cleaned: list[bool] = []
    ready = await run_to_completion(_run(calls, cleaned, "amp", conclude))
    assert ready == {"status": "ready", "text": "AMP"}
    failed = await run_to_completion(_run(calls, cleaned, "fail", conclude))
    assert failed == {"status": "error", "message": "The model's answer broke the rules."}
    streamed = _run(calls, cleaned, "fail", conclude)
    events = _events(await _serve(sse_response(_request(), streamed, ping_seconds=15)))
    assert [name for name, _, _ in events][-1] == "values"
    assert events[-1][1] == failed
    assert isinstance(seen[1], GenerationError) and isinstance(seen[2], GenerationError)
    assert cleaned == [True, True, True]


async def test_a_conclusion_that_raises_ends_the_stream_with_its_error() -> None:
    async def conclude(outcome: Mapping[str, Any] | Exception) -> Any:
        raise ApiError(502, "teaching_brief_error", "The brief could not be stored.")

    cleaned: list[bool] = []
    run = _run([], cleaned, "ohm", conclude)
    events = _events(await _serve(sse_response(_request(), run, ping_seconds=15)))
    assert events[-1] == (
        "error",
        {
            "error": "teaching_brief_error",
            "code": "teaching_brief_error",
            "message": "The brief could not be stored.",
        },
        f"{run.run_id}:{len(events)}",
    )
    assert cleaned == [False]


async def test_data_without_a_run_answers_in_the_same_framing() -> None:
    data = {"status": "empty", "payload": None}
    events = _events(await _serve(respond_data(_request(), data, ping_seconds=15)))
    assert [(name, event_id) for name, _, event_id in events] == [
        ("metadata", f"{events[0][1]['run_id']}:1"),
        ("values", f"{events[0][1]['run_id']}:2"),
    ]
    assert events[0][1]["request_id"] == "req-1" and events[1][1] == data
    as_json = respond_data(_request(accept="*/*"), data, ping_seconds=15)
    assert json.loads(bytes(as_json.body)) == {
        "ok": True,
        "data": data,
        "error": None,
        "meta": {"request_id": "req-1"},
    }

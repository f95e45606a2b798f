"""The protocol's encoding and stream framing: `dumps` (one pass where the data is plain already)
gives exactly the bytes of `jsonable` + the strict encoder, a message chunk encoded straight from
the model the same as its dump, a model call's metadata reused, and every event already
published sent as one chunk."""

from __future__ import annotations

import asyncio
import datetime as dt
import math
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pydantic_core
import pytest
from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage, ToolMessage
from langgraph.types import Interrupt
from pydantic import BaseModel
from starlette.types import Message

from server.envelope import UnencodableOutput, encode_json_bytes
from server.protocol.durable import _LocalRun
from server.protocol.manager import RunEvent
from server.protocol.wire import (
    MessageEncoder,
    RunStreamResponse,
    dumps,
    dumps_message,
    frame,
    jsonable,
)


class _Model(BaseModel):
    when: dt.datetime
    score: float


@dataclass
class _Point:
    x: int
    label: str


def _reference(value: Any) -> bytes:
    """What the protocol sent before: `jsonable`, then the envelope's strict encoder."""
    return encode_json_bytes(jsonable(value))


VALUES: list[Any] = [
    None,
    'text with "quotes" and ünïcode \u2028',
    17,
    True,
    2.5,
    math.nan,
    -math.inf,
    {"plain": [1, 2.0, "x", None, {"nested": True}], "tuple": (1, "two")},
    {2: "int key", False: "bool key", None: "none key", 1.5: "float key"},
    {"bad float": [math.inf, {"deeper": math.nan}]},
    {"when": dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC), "day": dt.date(2026, 1, 2)},
    {"id": uuid.UUID("12345678-1234-5678-1234-567812345678")},
    {"set": {3}, "frozen": frozenset({"a"})},
    Interrupt(value={"question": "Approve?"}, id="interrupt-1"),
    _Model(when=dt.datetime(2026, 1, 2, tzinfo=dt.UTC), score=1.5),
    _Point(3, "p"),
    {"messages": [HumanMessage("hi", id="h1"), AIMessage("hello", id="a1")]},
    object,
]


@pytest.mark.parametrize("value", VALUES, ids=lambda value: type(value).__name__)
def test_dumps_is_byte_identical_to_jsonable_then_the_strict_encoder(value: Any) -> None:
    assert dumps(value) == _reference(value)


MESSAGES: list[Any] = [
    AIMessageChunk(content="tok", id="run-1"),
    AIMessageChunk(
        content="",
        id="run-1",
        usage_metadata={"input_tokens": 3, "output_tokens": 5, "total_tokens": 8},
        response_metadata={"finish_reason": "stop", "model_name": "m"},
    ),
    AIMessageChunk(
        content=[{"type": "text", "text": "part"}],
        tool_call_chunks=[{"name": "search", "args": '{"q": 1', "id": "c1", "index": 0}],
    ),
    AIMessage("done", tool_calls=[{"name": "search", "args": {"q": "x"}, "id": "c1"}]),
    ToolMessage("result", tool_call_id="c1"),
    HumanMessage("question", additional_kwargs={"extra": [1, 2]}),
    # Not plain: encoded through `jsonable` (non-finite numbers become null, dates strings).
    AIMessageChunk(content="x", response_metadata={"score": math.nan, "at": dt.date(2026, 1, 1)}),
    ("not", "a message"),
]


@pytest.mark.parametrize("message", MESSAGES, ids=lambda message: type(message).__name__)
def test_a_message_encoded_straight_from_the_model_matches_its_dump(message: Any) -> None:
    assert dumps_message(message) == _reference(message)


def test_text_that_is_not_valid_unicode_is_refused_not_sent() -> None:
    with pytest.raises(UnencodableOutput):
        dumps({"text": "half a pair: \ud800"})
    with pytest.raises(UnencodableOutput):
        dumps_message(AIMessageChunk(content="\udc00"))
    with pytest.raises(UnencodableOutput):
        MessageEncoder().pair(AIMessageChunk(content="fine"), {"node": "\ud800"})


def test_a_model_calls_metadata_is_encoded_once_and_another_mapping_gets_its_own() -> None:
    encoder = MessageEncoder()
    first = {"langgraph_node": "generate", "langgraph_step": 2, "tags": ["a"]}
    second = {"langgraph_node": "grade", "langgraph_step": 3}
    chunk = AIMessageChunk(content="tok", id="run-1")
    pair = encoder.pair(chunk, first)
    assert pydantic_core.from_json(pair) == [pydantic_core.from_json(_reference(chunk)), first]
    assert pair == b"[%b,%b]" % (_reference(chunk), _reference(first))
    # The same mapping again: its JSON is reused, not rebuilt.
    assert encoder.metadata(first) is encoder.metadata(first)
    assert encoder.pair(chunk, second).endswith(b",%b]" % _reference(second))


def test_frames_carry_the_id_only_for_resumable_streams() -> None:
    event = RunEvent("7", "messages", b'[{"a":1},{}]')
    assert frame(event, with_id=False) == b'event: messages\ndata: [{"a":1},{}]\n\n'
    assert frame(event, with_id=True) == b'event: messages\ndata: [{"a":1},{}]\nid: 7\n\n'


async def test_every_event_already_published_goes_out_in_one_send() -> None:
    run = _LocalRun(first_seq=1)
    batches: list[list[RunEvent]] = []

    async def subscriber() -> None:
        async for batch in run.follow(0):
            batches.append(batch)

    task = asyncio.create_task(subscriber())
    await asyncio.sleep(0)  # the subscriber waits for the first event
    for seq in range(1, 6):
        run.add(RunEvent(str(seq), "custom", b"%d" % seq), seq)
    await asyncio.sleep(0)
    run.add(RunEvent("6", "values", b"{}"), 6)
    run.end()
    await asyncio.wait_for(task, 5)
    assert [[event.id for event in batch] for batch in batches] == [
        ["1", "2", "3", "4", "5"],
        ["6"],
    ]

    async def replayed() -> AsyncIterator[list[RunEvent]]:
        for batch in batches:
            yield batch

    bodies: list[bytes] = []
    disconnected = asyncio.Event()

    async def receive() -> Message:
        await disconnected.wait()
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        if message["type"] == "http.response.body":
            bodies.append(message.get("body", b""))
            if not message.get("more_body"):
                disconnected.set()

    response = RunStreamResponse(replayed(), with_ids=True, headers={})
    scope = {
        "type": "http",
        "method": "GET",
        "path": "/",
        "headers": [],
        "asgi": {"version": "3.0"},
    }
    await asyncio.wait_for(response(scope, receive, send), 5)
    sent = [body for body in bodies if body]
    assert len(sent) == 2
    assert sent[0] == b"".join(frame(event, with_id=True) for event in batches[0])
    assert sent[1] == b"event: values\ndata: {}\nid: 6\n\n"

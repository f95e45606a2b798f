"""A run the graph cannot take is refused when it is created (422 `validation_error` naming
the field), through the official Python client on both backends, and leaves nothing behind:
no run, no temporary thread, the thread as it was."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from tests.server.conftest import Api
from tests.server.protocol.conftest import Sdk
from tools.demo import DEMO_STUDENT_IDS

pytestmark = pytest.mark.live
LENA = DEMO_STUDENT_IDS[0]
ASK = {"user": "What is a newton?", "system": ""}


async def _refused(call: Awaitable[Any], message: str) -> None:
    with pytest.raises(httpx.HTTPStatusError) as refused:
        await call
    reply = refused.value.response
    assert reply.status_code == 422, reply.text
    error = reply.json()["error"]
    assert error["code"] == "validation_error"
    assert error["message"].startswith(message), error["message"]


async def _drained(stream: Any) -> list[Any]:
    return [part async for part in stream]


# (what the run carries, the start of the error's message)
BAD_RUNS: list[tuple[dict[str, Any], str]] = [
    ({"input": {"system": ""}}, "input.user: Field required."),
    ({"input": {"user": 5, "system": ""}}, "input.user: Input should be a valid string."),
    ({"input": {**ASK, "usr": "typo"}}, "input.usr: not an input of the llm graph."),
    ({"input": {**ASK, "user": None}}, "input.user: Input should be a valid string."),
    ({"command": {"update": {"nope": 1}}}, "command.update.nope: not a field of the llm"),
    ({"command": {"update": {"user": ["x"]}}}, "command.update.user: Input should be a valid"),
    ({"input": ASK, "context": {"timeout_ms": "fast"}}, "context.timeout_ms: Input should"),
    ({"input": ASK, "context": {"model": "x"}}, "context.model: not a context field of"),
    ({"input": ASK, "context": {"timeout_ms": 50}}, "context.timeout_ms: from 100 to 120000"),
    ({"input": ASK, "context": {"provider_order": ["x"]}}, "context.provider_order.0: Input"),
    ({"input": ASK, "checkpoint_id": "1f0-none"}, "checkpoint_id: no such checkpoint"),
    ({"input": ASK, "config": {"recursion_limit": 0}}, "config.recursion_limit"),
    ({"input": ASK, "interrupt_before": ["nowhere"]}, "interrupt_before: no node named"),
]


async def test_a_bad_run_is_refused_on_creation_and_stores_nothing(api: Api, sdk: Sdk) -> None:
    client = sdk(api, LENA)
    thread = await client.threads.create()
    tid = thread["thread_id"]
    good = await client.runs.wait(tid, "llm", input=ASK)
    assert good["content"]
    before_state = await client.threads.get_state(tid)
    before_history = await client.threads.get_history(tid, limit=100)
    runs_before = await client.runs.list(tid)
    assert len(runs_before) == 1

    starts: list[Callable[[str | None, dict[str, Any]], Awaitable[Any]]] = [
        lambda t, kw: _drained(client.runs.stream(t, "llm", **kw)),
        lambda t, kw: client.runs.wait(t, "llm", **kw),
        lambda t, kw: client.runs.create(t, "llm", **kw),
    ]
    # A thread no run has touched yet, where the input's required keys are required.
    fresh = (await client.threads.create())["thread_id"]
    for kwargs, message in BAD_RUNS:
        for start in starts:
            await _refused(start(fresh, kwargs), message)
            if "Field required" not in message:
                await _refused(start(tid, kwargs), message)
            if "checkpoint_id" not in kwargs and "command" not in kwargs:
                await _refused(start(None, kwargs), message)

    for t in (tid, None):
        bad_mode = client.runs.stream(t, "llm", input=ASK, stream_mode=["values", "tokens"])
        await _refused(_drained(bad_mode), "stream_mode")

    # `command.goto` is the service key's (403 for users), and must name a node.
    service = sdk(api)
    for start in (
        service.runs.wait(tid, "llm", command={"goto": "nowhere"}),
        service.runs.create(tid, "llm", command={"goto": ["generate", "__start__"]}),
    ):
        await _refused(start, "command.goto: no node named")

    # Nothing stored: the thread's runs, state, history and status are as they were, and no
    # temporary thread was left.
    assert await client.runs.list(tid) == runs_before
    assert await client.threads.get_state(tid) == before_state
    assert await client.threads.get_history(tid, limit=100) == before_history
    assert (await client.threads.get(tid))["status"] == "idle"
    assert await client.runs.list(fresh) == []
    assert (await client.threads.get_state(fresh))["values"] == {}
    assert sorted(t["thread_id"] for t in await client.threads.search(limit=100)) == sorted(
        [tid, fresh]
    )

    # A thread `if_not_exists: create` would have made is not made for a refused run.
    missing = "0c7e1f3e-9a43-4b0e-9d51-5d9b7b7a0c01"
    await _refused(
        client.runs.wait(missing, "llm", input={"system": ""}, if_not_exists="create"),
        "input.user: Field required.",
    )
    with pytest.raises(httpx.HTTPStatusError) as absent:
        await client.threads.get(missing)
    assert absent.value.response.status_code == 404


async def test_later_runs_may_leave_out_what_the_state_holds(api: Api, sdk: Sdk) -> None:
    client = sdk(api, LENA)
    thread = await client.threads.create()
    tid = thread["thread_id"]
    # The first run must carry every required key; a later one only what changes.
    await _refused(client.runs.wait(tid, "llm", input={"user": "hi"}), "input.system: Field")
    assert (await client.runs.wait(tid, "llm", input=ASK))["content"]
    again = await client.runs.wait(tid, "llm", input={"user": "And a joule?"})
    assert again["user"] == "And a joule?" and again["system"] == ""
    # ...but still in the input's types, and never a key the graph does not take.
    await _refused(client.runs.wait(tid, "llm", input={"user": 1}), "input.user: Input should")
    await _refused(client.runs.wait(tid, "llm", input={"x": 1}), "input.x: not an input")
    # A valid context, command and checkpoint go through.
    state = await client.threads.get_state(tid)
    values = await client.runs.wait(
        tid,
        "llm",
        input={"user": "From here"},
        context={"timeout_ms": 20_000},
        checkpoint_id=state["checkpoint_id"],
    )
    assert values["user"] == "From here"
    # A state update is held to the state's fields too.
    await _refused(client.threads.update_state(tid, {"user": 3}), "values.user: Input should")
    await _refused(client.threads.update_state(tid, {"zzz": 3}), "values.zzz: not a field")


async def test_the_schemas_served_are_the_ones_runs_are_held_to(api: Api, sdk: Sdk) -> None:
    client = sdk(api)
    schemas = await client.assistants.get_schemas("llm")
    inputs = schemas["input_schema"]
    assert inputs["additionalProperties"] is False
    assert sorted(inputs["required"]) == ["system", "user"]
    assert schemas["context_schema"]["additionalProperties"] is False
    assert schemas["state_schema"]["additionalProperties"] is False
    chat = await client.assistants.get_schemas("chat")
    turn = chat["input_schema"]["$defs"]["TranscriptTurn"]
    # A nested object is checked against its own schema as served.
    assert turn["required"] == ["role", "message"]
    bad_turn = {"class_id": "c", "user_message": "hi", "transcript": [{"role": "student"}]}
    await _refused(
        client.runs.wait(None, "chat", input=bad_turn), "input.transcript.0.message: Field"
    )

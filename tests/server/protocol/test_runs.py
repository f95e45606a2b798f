"""Runs through the official Python client on a live server, on both backends: streams in
every mode, wait, background runs and join, interrupts and resume, cancel, each multitask
strategy, resumable streams and disconnects."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest
from langgraph_sdk.schema import RunCreateMetadata

from tests.fakes import SlowChatModel
from tests.server.conftest import API_KEY, Api, Serve, only
from tests.server.protocol.conftest import Sdk
from tools.demo import DEMO_CLASS_ID, DEMO_STUDENT_IDS, DEMO_TEACHER_ID
from tools.demo.materials import DEMO_MATERIALS

pytestmark = pytest.mark.live
LENA = DEMO_STUDENT_IDS[0]
ASK = {"user": "What is a newton?", "system": ""}
MATERIAL = (
    "Force is measured in newtons. A newton is the force that accelerates one kilogram at one"
    " metre per second squared. Work is force times distance and is measured in joules."
    " Power is work per unit time and is measured in watts."
)


def blueprint_input() -> dict[str, Any]:
    return {
        "class_title": "Physics & Chemistry 101",
        "material_count": 1,
        "material_text": MATERIAL,
        "class_id": DEMO_CLASS_ID,
        "require_approval": True,
    }


async def _parts(stream: Any) -> list[Any]:
    return [part async for part in stream]


async def test_a_stream_in_every_mode_starts_with_metadata(api: Api, sdk: Sdk) -> None:
    client = sdk(api, LENA)
    thread = await client.threads.create()
    created: list[RunCreateMetadata] = []
    parts = await _parts(
        client.runs.stream(
            thread["thread_id"],
            "llm",
            input=ASK,
            stream_mode=["values", "updates", "messages-tuple", "custom", "debug", "messages"],
            on_run_created=created.append,
        )
    )
    events = [part.event for part in parts]
    assert events[0] == "metadata"
    run_id = parts[0].data["run_id"]
    assert created == [{"run_id": run_id, "thread_id": thread["thread_id"]}]
    assert {"values", "updates", "messages", "debug"} <= set(events)
    assert "messages/partial" in events and "messages/metadata" in events
    updates = [p.data for p in parts if p.event == "updates"]
    assert updates[-1]["generate"]["content"]
    tuples = [p.data for p in parts if p.event == "messages"]
    chunk, metadata = tuples[0]
    assert chunk["type"] == "AIMessageChunk" and metadata["langgraph_node"] == "generate"
    final = [p.data for p in parts if p.event == "values"][-1]
    assert final["content"] == updates[-1]["generate"]["content"]

    run = await client.runs.get(thread["thread_id"], run_id)
    assert run["status"] == "success" and run["assistant_id"] == "llm"
    after = await client.threads.get(thread["thread_id"])
    assert after["status"] == "idle" and after["values"]["content"] == final["content"]
    state = await client.threads.get_state(thread["thread_id"])
    assert state["values"]["content"] == final["content"] and state["next"] == []
    history = await client.threads.get_history(thread["thread_id"], limit=50)
    assert history and history[0]["checkpoint"]["checkpoint_id"] == state["checkpoint_id"]
    assert [r["run_id"] for r in await client.runs.list(thread["thread_id"])] == [run_id]

    # `events`: LangChain's event stream beside the other modes.
    mixed = await _parts(
        client.runs.stream(None, "llm", input=ASK, stream_mode=["events", "updates", "tasks"])
    )
    kinds = [p.data["event"] for p in mixed if p.event == "events"]
    assert "on_chat_model_stream" in kinds and kinds[0] == "on_chain_start"
    assert {"updates", "tasks"} <= {p.event for p in mixed}


async def test_wait_stateless_and_on_a_new_thread(api: Api, sdk: Sdk) -> None:
    client = sdk(api, LENA)
    values = await client.runs.wait(None, "llm", input=ASK)
    assert values["content"] and values["provider"] == "offline"
    thread_id = str(uuid.uuid4())
    on_thread = await client.runs.wait(thread_id, "llm", input=ASK, if_not_exists="create")
    assert on_thread["content"] == values["content"]
    assert (await client.threads.get(thread_id))["values"]["content"] == values["content"]
    # A stateless run's temporary thread is gone once it ends.
    assert await client.threads.search(limit=100) == [await client.threads.get(thread_id)]
    streamed = await _parts(client.runs.stream(None, "llm", input=ASK))
    assert [p.event for p in streamed] == ["metadata", "values", "values"]
    # A failed run answers `__error__`, which the SDK raises.
    with pytest.raises(Exception, match="no class material"):
        await client.runs.wait(None, "quiz", input={"class_title": "P", "material_context": ""})
    # An input the graph cannot take is refused before it runs (`test_validation.py`).
    with pytest.raises(httpx.HTTPStatusError, match="input.user: Field required"):
        await client.runs.wait(None, "llm", input={"system": ""})


async def test_background_run_join_and_list(api: Api, sdk: Sdk) -> None:
    client = sdk(api)
    thread = await client.threads.create()
    run = await client.runs.create(thread["thread_id"], "llm", input=ASK)
    assert run["status"] in ("pending", "running")
    joined = await client.runs.join(thread["thread_id"], run["run_id"])
    assert joined["content"]
    assert (await client.runs.get(thread["thread_id"], run["run_id"]))["status"] == "success"
    # Joining an ended run answers at once with the thread's values.
    assert await client.runs.join(thread["thread_id"], run["run_id"]) == joined
    await client.runs.delete(thread["thread_id"], run["run_id"])
    assert await client.runs.list(thread["thread_id"]) == []


async def test_an_interrupt_arrives_as_json_and_a_resume_finishes_the_run(
    api: Api, sdk: Sdk
) -> None:
    teacher = sdk(api, DEMO_TEACHER_ID)
    thread = await teacher.threads.create()
    parts = await _parts(
        teacher.runs.stream(
            thread["thread_id"], "blueprint", input=blueprint_input(), stream_mode="updates"
        )
    )
    interrupts = [p.data["__interrupt__"] for p in parts if "__interrupt__" in p.data]
    assert len(interrupts) == 1
    [pending] = interrupts[0]
    assert set(pending) == {"value", "id"}
    assert pending["value"]["draft"] and pending["value"]["class_id"] == DEMO_CLASS_ID
    waiting = await teacher.threads.get(thread["thread_id"])
    assert waiting["status"] == "interrupted"
    state = await teacher.threads.get_state(thread["thread_id"])
    assert state["next"] == ["review"] and state["interrupts"][0]["id"] == pending["id"]

    done = await teacher.runs.wait(
        thread["thread_id"],
        "blueprint",
        command={"resume": {"approved": True, "payload": None}},
    )
    assert done["published"] is True and done["blueprint_id"]
    assert (await teacher.threads.get(thread["thread_id"]))["status"] == "idle"


async def test_a_student_cannot_run_a_teacher_graph(api: Api, sdk: Sdk) -> None:
    student = sdk(api, LENA)
    for graph, graph_input in (
        ("blueprint", blueprint_input()),
        ("insights", {"class_id": DEMO_CLASS_ID}),
        # Its input names no class: the material's own class is the one checked (any user
        # could re-ingest any class's material before).
        ("materials", {"material_id": DEMO_MATERIALS[0].id}),
    ):
        with pytest.raises(httpx.HTTPStatusError) as refused:
            await student.runs.wait(None, graph, input=graph_input)
        assert refused.value.response.status_code == 403, graph
        assert refused.value.response.json()["error"]["code"] == "forbidden"
    with pytest.raises(httpx.HTTPStatusError) as missing:
        await sdk(api, DEMO_TEACHER_ID).runs.wait(
            None, "materials", input={"material_id": str(uuid.uuid4())}
        )
    assert missing.value.response.status_code == 404
    assert missing.value.response.json()["error"]["code"] == "material_not_found"
    with pytest.raises(httpx.HTTPStatusError) as malformed:
        await sdk(api, DEMO_TEACHER_ID).runs.wait(
            None, "materials", input={"material_id": "not-a-uuid"}
        )
    assert malformed.value.response.status_code == 422
    # A refused stateless run leaves no temporary thread behind.
    assert await sdk(api).threads.search(limit=100) == []


async def test_a_graphs_own_error_reaches_the_client_with_its_message(api: Api, sdk: Sdk) -> None:
    # A material with no uploaded file: the ingest's own error says so (it said "Something
    # went wrong on our side", as for a bug, and was logged as one).
    teacher = sdk(api, DEMO_TEACHER_ID)
    material = {"material_id": DEMO_MATERIALS[0].id}
    parts = [part async for part in teacher.runs.stream(None, "materials", input=material)]
    errors = [part.data for part in parts if part.event == "error"]
    assert len(errors) == 1 and errors[0]["error"] == "MaterialMissing", errors
    assert "upload it again" in errors[0]["message"]


def slow(seconds: float) -> Any:
    return only(SlowChatModel(delay_s=seconds, reply="late"))


async def _until(check: Any, timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def test_cancel_interrupts_a_running_run(serve: Serve, sdk: Sdk) -> None:
    with serve(chat=slow(30)) as api:
        client = sdk(api)
        thread = await client.threads.create()
        run = await client.runs.create(thread["thread_id"], "llm", input=ASK)

        async def running() -> bool:
            status = (await client.runs.get(thread["thread_id"], run["run_id"]))["status"]
            return bool(status == "running")

        await _until(running)
        assert (await client.threads.get(thread["thread_id"]))["status"] == "busy"
        await client.runs.cancel(thread["thread_id"], run["run_id"], wait=True)
        ended = await client.runs.get(thread["thread_id"], run["run_id"])
        assert ended["status"] == "interrupted"
        assert (await client.threads.get(thread["thread_id"]))["status"] == "idle"
        with pytest.raises(httpx.HTTPStatusError) as again:
            await client.runs.cancel(thread["thread_id"], run["run_id"])
        assert again.value.response.status_code == 409


async def test_multitask_strategies(serve: Serve, sdk: Sdk) -> None:
    with serve(chat=slow(0.6)) as api:
        client = sdk(api, LENA)
        thread = await client.threads.create()
        tid = thread["thread_id"]
        first = await client.runs.create(tid, "llm", input=ASK)
        # reject: 409 while the thread runs something.
        with pytest.raises(httpx.HTTPStatusError) as rejected:
            await client.runs.create(tid, "llm", input=ASK, multitask_strategy="reject")
        assert rejected.value.response.status_code == 409
        assert rejected.value.response.json()["error"]["code"] == "thread_busy"
        # enqueue: waits for the first, then runs.
        queued = await client.runs.create(tid, "llm", input=ASK, multitask_strategy="enqueue")
        assert (await client.runs.join(tid, queued["run_id"]))["content"] == "late"
        statuses = {r["run_id"]: r["status"] for r in await client.runs.list(tid)}
        assert statuses == {first["run_id"]: "success", queued["run_id"]: "success"}

        # interrupt: the running run stops (kept, `interrupted`), the new one runs.
        busy = await client.runs.create(tid, "llm", input=ASK)
        newer = await client.runs.create(tid, "llm", input=ASK, multitask_strategy="interrupt")
        await client.runs.join(tid, newer["run_id"])
        assert (await client.runs.get(tid, busy["run_id"]))["status"] == "interrupted"
        assert (await client.runs.get(tid, newer["run_id"]))["status"] == "success"

        # rollback: the running run and the one waiting behind it are deleted, and the
        # thread is put back as it was before them.
        other = {"user": "other", "system": ""}
        doomed = await client.runs.create(tid, "llm", input=other)
        waiting = await client.runs.create(tid, "llm", input=other, multitask_strategy="enqueue")
        last = await client.runs.create(tid, "llm", input=ASK, multitask_strategy="rollback")
        await client.runs.join(tid, last["run_id"])
        for gone in (doomed, waiting):
            with pytest.raises(httpx.HTTPStatusError) as deleted:
                await client.runs.get(tid, gone["run_id"])
            assert deleted.value.response.status_code == 404
        history = await client.threads.get_history(tid, limit=100)
        inputs = [h["values"].get("user") for h in history]
        assert "other" not in inputs and inputs.count(ASK["user"]) > 4


async def test_join_stream_resumes_after_an_event_id(serve: Serve, sdk: Sdk) -> None:
    with serve(chat=slow(0.5)) as api:
        client = sdk(api)
        thread = await client.threads.create()
        tid = thread["thread_id"]
        first: list[Any] = []
        async for part in client.runs.stream(
            tid, "llm", input=ASK, stream_mode=["values", "updates"], stream_resumable=True
        ):
            first.append(part)
        assert all(part.id for part in first)
        run_id = first[0].data["run_id"]
        # Replay everything after the second event, from the log.
        replay = await _parts(client.runs.join_stream(tid, run_id, last_event_id=first[1].id))
        assert [(p.event, p.data) for p in replay] == [(p.event, p.data) for p in first[2:]]


async def test_a_stream_left_with_on_disconnect_cancel_stops_its_run(
    serve: Serve, sdk: Sdk
) -> None:
    with serve(chat=slow(30)) as api:
        client = sdk(api)
        thread = await client.threads.create()
        tid = thread["thread_id"]
        stream = client.runs.stream(tid, "llm", input=ASK, on_disconnect="cancel")
        first = await anext(aiter(stream))
        assert first.event == "metadata"
        await stream.aclose()  # type: ignore[attr-defined]
        run_id = first.data["run_id"]

        async def interrupted() -> bool:
            return bool((await client.runs.get(tid, run_id))["status"] == "interrupted")

        await _until(interrupted)
        # on_disconnect=continue (the default on threads): the run goes on without the client.
        stream = client.runs.stream(tid, "llm", input=ASK)
        kept = await anext(aiter(stream))
        await stream.aclose()  # type: ignore[attr-defined]
        await asyncio.sleep(0.3)
        assert (await client.runs.get(tid, kept.data["run_id"]))["status"] == "running"
        await client.runs.cancel(tid, kept.data["run_id"], wait=True)


async def test_the_wire_framing_headers_and_heartbeats(serve: Serve) -> None:
    with serve(chat=slow(1.0), sse_ping_seconds=0.2) as api:
        headers = {"x-api-key": API_KEY, "accept": "text/event-stream"}
        async with httpx.AsyncClient(base_url=api.url, headers=headers, timeout=30) as http:
            thread = (await http.post("/threads", json={})).json()["thread_id"]
            body = {"assistant_id": "llm", "input": ASK, "stream_resumable": True}
            async with http.stream("POST", f"/threads/{thread}/runs/stream", json=body) as reply:
                assert reply.status_code == 200
                assert reply.headers["content-type"].startswith("text/event-stream")
                raw = b"".join([chunk async for chunk in reply.aiter_bytes()]).decode()
        run_path = reply.headers["content-location"]
        assert reply.headers["location"] == run_path + "/stream"
        assert run_path.startswith(f"/threads/{thread}/runs/")
        run_id = run_path.rsplit("/", 1)[1]
        first, *rest = raw.split("\n\n")
        assert first == f'event: metadata\ndata: {{"run_id":"{run_id}","attempt":1}}\nid: 1'
        assert ": heartbeat" in rest
        frames = [f for f in rest if f.startswith("event: ")]
        assert [f.split("\n")[0] for f in frames] == ["event: values", "event: values"]
        assert all(f.split("\n")[2].startswith("id: ") for f in frames)
        assert "\r" not in raw


QUIZ = {
    "class_title": "Physics",
    "question_count": 2,
    "instructions": "",
    "blueprint_context": "",
    "material_context": MATERIAL,
}
OTHER_CLASS = "c1a55000-0000-4000-8000-000000000002"  # the guest's copy: Lena is not in it


async def test_no_class_can_be_smuggled_into_a_run(api: Api, sdk: Sdk) -> None:
    lena, service = sdk(api, LENA), sdk(api)
    thread = await lena.threads.create()
    tid = thread["thread_id"]
    assert (await lena.runs.wait(tid, "quiz", input=QUIZ))["payload"]["questions"]
    # A state update may name any class, but no run of the thread goes ahead with it.
    await lena.threads.update_state(tid, {"class_id": OTHER_CLASS})
    for call in (
        lena.runs.wait(tid, "quiz", input=None),
        lena.runs.wait(tid, "quiz", command={"update": {"class_id": OTHER_CLASS}}),
        lena.runs.wait(tid, "quiz", command={"goto": "finalize"}),
    ):
        with pytest.raises(httpx.HTTPStatusError) as refused:
            await call
        assert refused.value.response.status_code == 403
        assert refused.value.response.json()["error"]["code"] == "forbidden"
    # A blueprint thread's state is the trusted backend's to change.
    draft = await lena.threads.create()
    await lena.runs.wait(
        draft["thread_id"],
        "blueprint",
        input={**blueprint_input(), "require_approval": False, "class_id": None},
    )
    with pytest.raises(httpx.HTTPStatusError) as steering:
        await lena.threads.update_state(draft["thread_id"], {"require_approval": True})
    assert steering.value.response.status_code == 403
    await service.threads.update_state(draft["thread_id"], {"require_approval": False})


async def test_no_class_can_be_smuggled_in_through_an_older_checkpoint(api: Api, sdk: Sdk) -> None:
    # Only the thread's latest state was checked: a run forked from an older checkpoint (one a
    # state update had pointed at another class) read that class's materials.
    lena = sdk(api, LENA)
    tid = (await lena.threads.create())["thread_id"]
    assert (await lena.runs.wait(tid, "quiz", input=QUIZ))["payload"]["questions"]
    smuggled = await lena.threads.update_state(tid, {"class_id": OTHER_CLASS})
    await lena.threads.update_state(tid, {"class_id": DEMO_CLASS_ID})
    fork = smuggled["checkpoint"]["checkpoint_id"]
    for call in (
        lena.runs.wait(tid, "quiz", input=None, checkpoint_id=fork),
        lena.runs.wait(tid, "quiz", input=None, config={"configurable": {"checkpoint_id": fork}}),
    ):
        with pytest.raises(httpx.HTTPStatusError) as refused:
            await call
        assert refused.value.response.status_code == 403
        assert refused.value.response.json()["error"]["code"] == "forbidden"
    # A checkpoint named in the config is checked as one named in the body.
    for configurable in ({"checkpoint_id": 5}, {"checkpoint_id": "no-such-checkpoint"}):
        with pytest.raises(httpx.HTTPStatusError) as invalid:
            await lena.runs.wait(tid, "quiz", input=None, config={"configurable": configurable})
        assert invalid.value.response.status_code == 422, configurable
    with pytest.raises(httpx.HTTPStatusError) as stateless:
        await lena.runs.wait(None, "quiz", input=QUIZ, checkpoint_id=fork)
    assert stateless.value.response.status_code == 422


async def test_a_state_update_that_is_not_an_object_is_a_clear_error(api: Api, sdk: Sdk) -> None:
    # A list of values reached LangGraph unchecked and its refusal was a 500.
    lena = sdk(api, LENA)
    tid = (await lena.threads.create())["thread_id"]
    await lena.runs.wait(tid, "quiz", input=QUIZ)
    for values in ([1, 2], [{"user": "x"}], [{"class_title": "x"}, "y"]):
        with pytest.raises(httpx.HTTPStatusError) as refused:
            await lena.threads.update_state(tid, values)  # type: ignore[arg-type]
        assert refused.value.response.status_code == 422, values
        assert refused.value.response.json()["error"]["code"] in {
            "validation_error",
            "invalid_state_update",
        }

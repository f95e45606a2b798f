"""A workspace chat session is a thread: its owner runs on it through the protocol, the class's
teachers read it, and the `/v1` workspace routes and the protocol see the same messages."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest
from langgraph_sdk import get_client

from server.protocol.records import Records
from tests.fakes import SlowChatModel
from tests.server.conftest import API_KEY, Api, Serve, only, user_token
from tests.server.protocol.conftest import Sdk
from tests.server.routes.test_workspace import call, new_session, ok, send
from tools.demo import DEMO_CLASS_ID, DEMO_STUDENT_IDS, DEMO_TEACHER_ID
from tools.store import open_store

pytestmark = pytest.mark.live
LENA, TOMAS = DEMO_STUDENT_IDS[0], DEMO_STUDENT_IDS[1]


async def test_a_session_is_its_owner_s_thread(api: Api, sdk: Sdk) -> None:
    session = new_session(api, LENA)
    sid = session["id"]
    send(api, sid, "What is the SI unit of force?")
    lena = sdk(api, LENA)
    thread = await lena.threads.get(sid)
    assert thread["metadata"]["kind"] == "workspace_session"
    assert thread["metadata"]["class_id"] == session["class_id"]
    # The v1 send's turn is in the thread's state.
    state = await lena.threads.get_state(sid)
    assert state["values"]["user_message"] == "What is the SI unit of force?"

    answer = await lena.runs.wait(sid, "chat", input={"user_message": "And the unit of power?"})
    assert answer["reply"]["answer"]
    listed = ok(call(api, "messages/list", LENA, session_id=sid))["messages"]
    assert [m["content"] for m in listed if m["author_kind"] == "student"] == [
        "What is the SI unit of force?",
        "And the unit of power?",
    ]
    assert listed[-1]["content"] == answer["reply"]["answer"]
    # The next v1 send continues the same thread: one checkpoint, one transcript.
    send(api, sid, "Thanks!")
    after = await lena.threads.get_state(sid)
    assert after["values"]["user_message"] == "Thanks!"
    assert len(ok(call(api, "messages/list", LENA, session_id=sid))["messages"]) == 6
    assert [t["thread_id"] for t in await lena.threads.search(limit=100)] == [sid]


async def test_teachers_read_a_session_others_do_not_see_it(api: Api, sdk: Sdk) -> None:
    sid = new_session(api, LENA)["id"]
    send(api, sid, "What is a joule?")
    teacher, tomas = sdk(api, DEMO_TEACHER_ID), sdk(api, TOMAS)
    assert (await teacher.threads.get_state(sid))["values"]["user_message"] == "What is a joule?"
    with pytest.raises(httpx.HTTPStatusError) as read_only:
        await teacher.runs.wait(sid, "chat", input={"user_message": "hello"})
    assert read_only.value.response.status_code == 403
    assert read_only.value.response.json()["error"]["code"] == "thread_read_only"
    with pytest.raises(httpx.HTTPStatusError) as hidden:
        await tomas.threads.get(sid)
    assert hidden.value.response.status_code == 404
    # A session thread runs only the chat graph, and is never deleted through the protocol.
    lena = sdk(api, LENA)
    with pytest.raises(httpx.HTTPStatusError) as wrong_graph:
        await lena.runs.wait(sid, "quiz", input={"class_title": "x"})
    assert wrong_graph.value.response.status_code == 409
    with pytest.raises(httpx.HTTPStatusError) as kept:
        await lena.threads.delete(sid)
    assert kept.value.response.status_code == 409


async def test_a_run_on_a_session_holds_its_lease(api: Api, sdk: Sdk) -> None:
    sid = new_session(api, LENA)["id"]
    store = await open_store(
        api.settings.resolved_database_url, schema=api.settings.database_schema
    )
    try:
        # A `/v1` send in flight holds the lease.
        lease = await store.acquire_session(sid, hold_seconds=30)
        assert lease is not None
        lena = sdk(api, LENA)
        with pytest.raises(httpx.HTTPStatusError) as busy:
            await lena.runs.wait(sid, "chat", input={"user_message": "hello"})
        assert busy.value.response.status_code == 409
        assert busy.value.response.json()["error"]["code"] == "session_busy"
        await store.release_session(sid, lease)
        answer = await lena.runs.wait(sid, "chat", input={"user_message": "hello"})
        assert answer["reply"]["answer"]
        # The run released the lease when it ended.
        again = await store.acquire_session(sid, hold_seconds=30)
        assert again is not None
        await store.release_session(sid, again)
    finally:
        await store.close()


async def test_a_v1_send_waits_for_a_protocol_run_on_the_session(serve: Serve, sdk: Sdk) -> None:
    with serve(chat=only(SlowChatModel(delay_s=1.5, reply="late"))) as api:
        sid = new_session(api, LENA)["id"]
        lena = sdk(api, LENA)
        run_id = await _run_then_refuse_a_send(api, lena, sid)
        await lena.runs.join(sid, run_id)
        assert send(api, sid, "What is a watt?")["response"]["answer"]


async def test_a_run_shown_running_on_a_session_already_holds_its_lease(
    serve: Serve, sdk: Sdk, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A slow database after the run is marked `running`: a `/v1` send that comes in then
    # must still be refused (it was let in ahead of the run, which then failed `session_busy`).
    started = Records.start_run

    async def slow_after_start(self: Records, run_id: str, thread_id: str) -> bool:
        done = await started(self, run_id, thread_id)
        if done:
            await asyncio.sleep(0.5)
        return done

    monkeypatch.setattr(Records, "start_run", slow_after_start)
    with serve(chat=only(SlowChatModel(delay_s=0.5, reply="late"))) as api:
        sid = new_session(api, LENA)["id"]
        lena = sdk(api, LENA)
        run_id = await _run_then_refuse_a_send(api, lena, sid)
        done = await lena.runs.join(sid, run_id)
        assert done["reply"]["answer"]
        assert (await lena.runs.get(sid, run_id))["status"] == "success"


async def _run_then_refuse_a_send(api: Api, client: Any, session_id: str) -> str:
    """Start a protocol run on the session; once it shows `running`, a `/v1` send is refused
    `session_busy`. The run's id."""
    run_id = str(
        (await client.runs.create(session_id, "chat", input={"user_message": "hi"}))["run_id"]
    )
    deadline = asyncio.get_running_loop().time() + 10
    while (await client.runs.get(session_id, run_id))["status"] != "running":
        assert asyncio.get_running_loop().time() < deadline, "the run never started"
        await asyncio.sleep(0.02)
    refused = call(api, "messages/send", LENA, session_id=session_id, message="hi", tool_mode="off")
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "session_busy"
    return run_id


async def test_runs_enqueued_on_a_session_take_its_lease_in_turn(serve: Serve, sdk: Sdk) -> None:
    # Three queued runs: each takes the lease when its turn comes (only the head of the line
    # tries), none fails `session_busy` for another's lease, and a `/v1` send after them works.
    with serve(chat=only(SlowChatModel(delay_s=0.3, reply="late"))) as api:
        sid = new_session(api, LENA)["id"]
        lena = sdk(api, LENA)
        runs = [
            await lena.runs.create(
                sid, "chat", input={"user_message": f"question {n}"}, multitask_strategy="enqueue"
            )
            for n in range(3)
        ]
        for run in runs:
            done = await lena.runs.join(sid, run["run_id"])
            assert done["reply"]["answer"], done
        statuses = [(await lena.runs.get(sid, r["run_id"]))["status"] for r in runs]
        assert statuses == ["success"] * 3
        students = [
            m["content"]
            for m in ok(call(api, "messages/list", LENA, session_id=sid))["messages"]
            if m["author_kind"] == "student"
        ]
        assert students == ["question 0", "question 1", "question 2"]
        assert send(api, sid, "What is a watt?")["response"]["answer"]


async def test_a_session_run_handed_back_at_shutdown_resumes_with_its_own_message(
    serve: Serve, sdk: Sdk, tmp_path: Any
) -> None:
    # A session run checkpoints only at its end: handed back mid-answer it left nothing of
    # itself on the thread, so the next start must run its message again (it ran an empty
    # message before), and the transcript holds that message once.
    data_dir = tmp_path / "kept"
    with serve(data_dir=data_dir, chat=only(SlowChatModel(delay_s=30, reply="late"))) as api:
        sid = new_session(api, LENA)["id"]
        lena = sdk(api, LENA)
        question = "What is the SI unit of force?"
        created = await lena.runs.create(sid, "chat", input={"user_message": question})
        run_id = str(created["run_id"])
        deadline = asyncio.get_running_loop().time() + 10
        while (await lena.runs.get(sid, run_id))["status"] != "running":
            assert asyncio.get_running_loop().time() < deadline, "the run never started"
            await asyncio.sleep(0.02)
        # The next start is on the same database (on Postgres, the same schema).
        schema = api.settings.database_schema
        same = {"database_schema": schema} if api.settings.database_url else {}
    with serve(data_dir=data_dir, **same) as api:
        lena = sdk(api, LENA)
        async with asyncio.timeout(30):
            done = await lena.runs.join(sid, run_id)
        assert done["user_message"] == question and done["reply"]["answer"], done
        assert (await lena.runs.get(sid, run_id))["status"] == "success"
        messages = ok(call(api, "messages/list", LENA, session_id=sid))["messages"]
        assert [m["content"] for m in messages if m["author_kind"] == "student"] == [question]
        assert messages[-1]["content"] == done["reply"]["answer"]


async def test_a_run_elsewhere_cannot_name_a_session_in_its_input(api: Api, sdk: Sdk) -> None:
    # Workspace mode reads the session's transcript into the prompt and saves the turn into
    # it: another student naming Lena's session in a chat run on his own thread (or a
    # stateless one) read and wrote her conversation. A session runs only on its own thread.
    sid = new_session(api, LENA)["id"]
    send(api, sid, "My locker code is 4711.")
    before = ok(call(api, "messages/list", LENA, session_id=sid))["messages"]
    tomas = sdk(api, TOMAS)
    own = (await tomas.threads.create())["thread_id"]
    smuggled = {"class_id": DEMO_CLASS_ID, "user_message": "What is my code?", "session_id": sid}
    attempts = [
        tomas.runs.wait(own, "chat", input=smuggled),
        tomas.runs.wait(None, "chat", input=smuggled),
    ]
    for attempt in attempts:
        with pytest.raises(httpx.HTTPStatusError) as refused:
            await attempt
        assert refused.value.response.status_code == 422
        error = refused.value.response.json()["error"]
        assert error["code"] == "validation_error" and "session_id" in error["message"]
    # Nor on a session's own thread, whose input is the server's but for the message.
    lena = sdk(api, LENA)
    with pytest.raises(httpx.HTTPStatusError) as own_thread:
        await lena.runs.wait(sid, "chat", input={"user_message": "hi", "session_id": sid})
    assert own_thread.value.response.status_code == 422
    assert "session_id" in own_thread.value.response.json()["error"]["message"]
    # Nor through the thread's state: by a state update, or a command's update.
    plain = {"class_id": DEMO_CLASS_ID, "user_message": "What is a newton?"}
    assert (await tomas.runs.wait(own, "chat", input=plain))["reply"]["answer"]
    with pytest.raises(httpx.HTTPStatusError) as by_state:
        await tomas.threads.update_state(own, {"session_id": sid})
    assert by_state.value.response.status_code == 422
    with pytest.raises(httpx.HTTPStatusError) as by_command:
        await tomas.runs.wait(
            own, "chat", command={"update": {"session_id": sid, "user_message": "And mine?"}}
        )
    assert by_command.value.response.status_code == 422
    assert ok(call(api, "messages/list", LENA, session_id=sid))["messages"] == before


async def test_a_session_turn_run_again_after_it_was_saved_is_stored_once(
    serve: Serve, sdk: Sdk, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The run saves the turn, then its process goes before the turn's one checkpoint lands:
    # the next start runs the turn again (nothing of it was checkpointed), and the
    # transcript must still hold the question and one answer, not the exchange twice.
    from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
    from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

    stalled: set[str] = set()
    reached = asyncio.Event()
    for saver in (AsyncSqliteSaver, AsyncPostgresSaver):
        for cls in saver.__subclasses__():
            original = cls.aput

            async def stalling(self: Any, config: Any, *args: Any, _orig: Any = original) -> Any:
                if config["configurable"]["thread_id"] in stalled:
                    reached.set()
                    await asyncio.Event().wait()
                return await _orig(self, config, *args)

            monkeypatch.setattr(cls, "aput", stalling)
    data_dir = tmp_path / "kept"
    question = "What is the SI unit of power?"
    with serve(data_dir=data_dir) as api:
        sid = new_session(api, LENA)["id"]
        stalled.add(sid)
        lena = sdk(api, LENA)
        created = await lena.runs.create(sid, "chat", input={"user_message": question})
        run_id = str(created["run_id"])
        async with asyncio.timeout(20):
            await reached.wait()
        saved = ok(call(api, "messages/list", LENA, session_id=sid))["messages"]
        assert [m["content"] for m in saved][0] == question and len(saved) == 2
        schema = api.settings.database_schema
        same = {"database_schema": schema} if api.settings.database_url else {}
    stalled.clear()
    with serve(data_dir=data_dir, **same) as api:
        lena = sdk(api, LENA)
        async with asyncio.timeout(30):
            done = await lena.runs.join(sid, run_id)
        assert (await lena.runs.get(sid, run_id))["status"] == "success"
        messages = ok(call(api, "messages/list", LENA, session_id=sid))["messages"]
        assert [m["author_kind"] for m in messages] == ["student", "assistant"]
        assert messages[0]["content"] == question
        # The answer stored is the one the run that finished gave.
        assert messages[1]["content"] == done["reply"]["answer"]


async def test_a_session_or_draft_id_never_becomes_someone_elses_thread(api: Api, sdk: Sdk) -> None:
    # A session used only through `/v1` has no thread record yet: `if_not_exists: create` (or
    # `POST /threads` with its id) made the caller its thread's owner, who then read and wrote
    # Lena's conversation and locked her out; a refused run took the thread all the same.
    sid = new_session(api, LENA)["id"]
    send(api, sid, "My locker code is 4711.")
    before = ok(call(api, "messages/list", LENA, session_id=sid))["messages"]
    nobody = str(uuid.uuid4())
    for user, graph_input in (
        (TOMAS, {"class_id": DEMO_CLASS_ID, "user_message": "hijack"}),
        (nobody, {"user": "hijack", "system": ""}),
        (nobody, {"class_id": DEMO_CLASS_ID, "user_message": "refused anyway"}),
    ):
        graph = "llm" if "user" in graph_input else "chat"
        with pytest.raises(httpx.HTTPStatusError) as missing:
            await sdk(api, user).runs.wait(sid, graph, input=graph_input, if_not_exists="create")
        assert missing.value.response.status_code == 404, user
        with pytest.raises(httpx.HTTPStatusError) as taken:
            await sdk(api, user).threads.create(thread_id=sid)
        assert taken.value.response.status_code == 409
    lena = sdk(api, LENA)
    assert (await lena.threads.get(sid))["metadata"]["kind"] == "workspace_session"
    assert ok(call(api, "messages/list", LENA, session_id=sid))["messages"] == before
    # A `/v1` blueprint draft's checkpoint is no one's protocol thread either.
    body = {
        "class_title": "Physics",
        "material_count": 1,
        "material_text": "Forces are pushes or pulls, measured in newtons.",
        "class_id": DEMO_CLASS_ID,
        "require_approval": True,
    }
    draft = ok(api.post("/v1/blueprints/generate", body, token=user_token(DEMO_TEACHER_ID)))
    for user in (TOMAS, nobody):
        with pytest.raises(httpx.HTTPStatusError) as taken:
            await sdk(api, user).threads.create(thread_id=draft["draft_id"])
        assert taken.value.response.status_code == 409
        with pytest.raises(httpx.HTTPStatusError) as hidden:
            await sdk(api, user).threads.get_state(draft["draft_id"])
        assert hidden.value.response.status_code == 404


async def test_a_reader_leaving_a_stream_does_not_cancel_the_run(serve: Serve, sdk: Sdk) -> None:
    # `cancel_on_disconnect` cancels the run when the stream closes: a class's teacher reads
    # a student's session and could stop her runs that way.
    with serve(chat=only(SlowChatModel(delay_s=1.0, reply="late"))) as api:
        sid = new_session(api, LENA)["id"]
        lena = sdk(api, LENA)
        run = await lena.runs.create(sid, "chat", input={"user_message": "What is a newton?"})
        headers = {"x-api-key": API_KEY, "authorization": f"Bearer {user_token(DEMO_TEACHER_ID)}"}
        path = f"/threads/{sid}/runs/{run['run_id']}/stream?cancel_on_disconnect=true"
        async with httpx.AsyncClient(base_url=api.url, timeout=10) as http:
            refused = await http.get(path, headers=headers)
        assert refused.status_code == 403
        assert refused.json()["error"]["code"] == "thread_read_only"
        done = await lena.runs.join(sid, run["run_id"])
        assert done["reply"]["answer"]
        assert (await lena.runs.get(sid, run["run_id"]))["status"] == "success"


async def test_guests_use_no_threads_or_runs(api: Api) -> None:
    guest = get_client(
        url=api.url,
        api_key=API_KEY,
        headers={"authorization": f"Bearer {user_token(str(uuid.uuid4()), anonymous=True)}"},
    )
    try:
        for attempt in (guest.threads.create(), guest.threads.search()):
            with pytest.raises(httpx.HTTPStatusError) as refused:
                await attempt
            assert refused.value.response.status_code == 403
            assert refused.value.response.json()["error"]["code"] == "forbidden_account_type"
        assert await guest.assistants.search()  # the graphs' descriptions are readable
    finally:
        await guest.aclose()

"""Assistants and threads through the official Python client, on both backends."""

from __future__ import annotations

import uuid

import httpx
import pytest

from server.protocol.assistants import ASSISTANT_NAMESPACE
from server.registry import EXPORTED
from tests.server.conftest import Api
from tests.server.protocol.conftest import Sdk
from tools.demo import DEMO_STUDENT_IDS

pytestmark = pytest.mark.live
LENA, TOMAS = DEMO_STUDENT_IDS[0], DEMO_STUDENT_IDS[1]


async def test_one_assistant_per_graph_with_langgraph_server_ids(api: Api, sdk: Sdk) -> None:
    client = sdk(api, LENA)
    found = await client.assistants.search(limit=100)
    assert sorted(a["graph_id"] for a in found) == sorted(EXPORTED)
    for assistant in found:
        graph_id = assistant["graph_id"]
        assert assistant["assistant_id"] == str(uuid.uuid5(ASSISTANT_NAMESPACE, graph_id))
        assert await client.assistants.get(graph_id) == assistant
        assert await client.assistants.get(assistant["assistant_id"]) == assistant
        schemas = await client.assistants.get_schemas(graph_id)
        assert schemas["graph_id"] == graph_id
        assert schemas["input_schema"]["properties"], graph_id
        assert schemas["output_schema"]["properties"], graph_id
        assert schemas["state_schema"]["properties"], graph_id
        # Only data fields: the router, the store and provider objects are no schema fields.
        context = schemas["context_schema"]["properties"]
        assert not {"router", "store", "embedding_providers", "settings"} & set(context)
        drawn = await client.assistants.get_graph(graph_id)
        assert {"__start__", "__end__"} <= {node["id"] for node in drawn["nodes"]}
    quiz = await client.assistants.search(graph_id="quiz")
    assert [a["graph_id"] for a in quiz] == ["quiz"]
    assert len(await client.assistants.search(limit=3, offset=8)) == 2
    with pytest.raises(httpx.HTTPStatusError) as missing:
        await client.assistants.get("no-such-graph")
    assert missing.value.response.status_code == 404
    assert missing.value.response.json()["error"]["code"] == "assistant_not_found"


async def test_threads_create_get_search_patch_delete(api: Api, sdk: Sdk) -> None:
    client = sdk(api, LENA)
    made = await client.threads.create(metadata={"topic": "forces", "n": 1})
    assert made["status"] == "idle" and made["metadata"] == {"topic": "forces", "n": 1}
    other = await client.threads.create(metadata={"topic": "waves"})
    chosen = str(uuid.uuid4())
    named = await client.threads.create(thread_id=chosen, metadata={"topic": "forces"})
    assert named["thread_id"] == chosen
    # `if_exists`: do_nothing answers with the thread as it is; raise is 409.
    again = await client.threads.create(thread_id=chosen, if_exists="do_nothing")
    assert again["thread_id"] == chosen and again["metadata"] == {"topic": "forces"}
    with pytest.raises(httpx.HTTPStatusError) as taken:
        await client.threads.create(thread_id=chosen, if_exists="raise")
    assert taken.value.response.status_code == 409
    assert taken.value.response.json()["error"]["code"] == "thread_exists"

    assert (await client.threads.get(made["thread_id"]))["metadata"]["topic"] == "forces"
    forces = await client.threads.search(metadata={"topic": "forces"})
    assert {t["thread_id"] for t in forces} == {made["thread_id"], chosen}
    assert len(await client.threads.search(limit=2)) == 2
    assert len(await client.threads.search(limit=2, offset=2)) == 1
    assert [t["thread_id"] for t in await client.threads.search(status="busy")] == []
    # Newest first, filtered by id before the page is cut.
    named_ids = [chosen, other["thread_id"]]
    assert [t["thread_id"] for t in await client.threads.search(ids=named_ids)] == named_ids
    second = await client.threads.search(ids=named_ids, limit=1, offset=1)
    assert [t["thread_id"] for t in second] == [other["thread_id"]]

    patched = await client.threads.update(other["thread_id"], metadata={"level": "intro"})
    assert patched["metadata"] == {"topic": "waves", "level": "intro"}

    await client.threads.delete(made["thread_id"])
    with pytest.raises(httpx.HTTPStatusError) as gone:
        await client.threads.get(made["thread_id"])
    assert gone.value.response.status_code == 404
    assert gone.value.response.json()["error"]["code"] == "thread_not_found"
    state = await client.threads.get_state(other["thread_id"])
    assert state["values"] == {} and state["next"] == []
    assert await client.threads.get_history(other["thread_id"]) == []
    # A checkpoint the thread does not have is not found, never an empty state or everything.
    ran = (await client.threads.create())["thread_id"]
    await client.runs.wait(ran, "llm", input={"user": "What is a newton?", "system": ""})
    for thread_id in (other["thread_id"], ran):
        for missing in (
            client.threads.get_state(thread_id, checkpoint_id="no-such-checkpoint"),
            client.threads.get_history(thread_id, before="no-such-checkpoint"),
        ):
            with pytest.raises(httpx.HTTPStatusError) as not_found:
                await missing
            assert not_found.value.response.status_code == 404, thread_id
            assert not_found.value.response.json()["error"]["code"] == "checkpoint_not_found"


async def test_a_user_sees_only_their_own_threads(api: Api, sdk: Sdk) -> None:
    lena, tomas, service = sdk(api, LENA), sdk(api, TOMAS), sdk(api)
    mine = await lena.threads.create(metadata={"owner": "lena"})
    for call in (
        tomas.threads.get(mine["thread_id"]),
        tomas.threads.get_state(mine["thread_id"]),
        tomas.threads.update(mine["thread_id"], metadata={"x": 1}),
        tomas.threads.delete(mine["thread_id"]),
        tomas.runs.wait(mine["thread_id"], "llm", input={"user": "hi", "system": ""}),
    ):
        with pytest.raises(httpx.HTTPStatusError) as hidden:
            await call
        assert hidden.value.response.status_code == 404
        assert hidden.value.response.json()["error"]["code"] == "thread_not_found"
    assert await tomas.threads.search(metadata={"owner": "lena"}) == []
    # The trusted backend (service key alone) reaches every thread.
    assert (await service.threads.get(mine["thread_id"]))["thread_id"] == mine["thread_id"]
    assert [t["thread_id"] for t in await service.threads.search(metadata={"owner": "lena"})] == [
        mine["thread_id"]
    ]
    # if_not_exists=create cannot take someone else's thread id.
    with pytest.raises(httpx.HTTPStatusError) as refused:
        await tomas.runs.wait(
            mine["thread_id"], "llm", input={"user": "hi", "system": ""}, if_not_exists="create"
        )
    assert refused.value.response.status_code == 404


async def test_the_service_key_is_required(api: Api, sdk: Sdk) -> None:
    with httpx.Client() as raw:
        response = raw.post(api.url + "/threads", json={})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"

"""Two real server processes on one Postgres database, through the official `langgraph-sdk`:
a background run started on one is joined on the other with `Last-Event-ID` (the missed events,
then the live ones), and a run whose process is killed is resumed by the other."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from langgraph_sdk import get_client
from langgraph_sdk.client import LangGraphClient
from langgraph_sdk.schema import StreamMode

from tests.conftest import fresh_schema_name, postgres_url_or_skip
from tests.server.conftest import API_KEY
from tests.server.processes import ServerProcess, database_env, server_process

LONG = {"user": "Tell me about forces.", "system": ""}
MODES: list[StreamMode] = ["messages-tuple", "values"]


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    """Two server processes sharing a fresh Postgres schema (the schema dropped after)."""
    url = postgres_url_or_skip()
    schema = fresh_schema_name()
    env = {
        **database_env("postgres", tmp_path, (url, schema)),
        # One word every 20 ms: a 300-word answer streams for about 6 s.
        "STEMGRAPH_TEST_TOKEN_DELAY": "0.02",
        # A killed process's runs are taken back within a few seconds.
        "STEMGRAPH_RUN_LEASE_SECONDS": "4",
    }
    try:
        with ExitStack() as stack:
            first = stack.enter_context(server_process(tmp_path / "a.log", **env))
            second = stack.enter_context(server_process(tmp_path / "b.log", **env))
            yield first, second
    finally:
        asyncio.run(_drop(url, schema))


async def _drop(url: str, schema: str) -> None:
    from tests.conftest import drop_schema

    await drop_schema(url, schema)


def client(server: ServerProcess) -> LangGraphClient:
    return get_client(url=server.url, api_key=API_KEY, timeout=60)


async def status(api: LangGraphClient, thread_id: str, run_id: str) -> str:
    return str((await api.runs.get(thread_id, run_id))["status"])


async def test_a_run_started_on_one_process_is_joined_on_the_other_after_an_event_id(
    pair: tuple[ServerProcess, ServerProcess],
) -> None:
    a, b = client(pair[0]), client(pair[1])
    try:
        thread = await a.threads.create()
        tid = thread["thread_id"]
        run = await a.runs.create(tid, "llm", input=LONG, stream_mode=MODES, stream_resumable=True)
        run_id = run["run_id"]

        # A client of process A sees the first events, then goes away.
        seen: list[Any] = []
        stream = a.runs.join_stream(tid, run_id, last_event_id="0")
        async for part in stream:
            seen.append(part)
            if len(seen) == 5:
                break
        await stream.aclose()  # type: ignore[attr-defined]
        assert seen[0].event == "metadata" and seen[0].id == "1"
        assert await status(b, tid, run_id) == "running"

        # It comes back through process B, saying the last event it saw.
        rejoined = [
            part async for part in b.runs.join_stream(tid, run_id, last_event_id=seen[-1].id)
        ]
        assert await status(b, tid, run_id) == "success"

        everything = [part async for part in b.runs.join_stream(tid, run_id, last_event_id="0")]
        ids = [part.id for part in everything]
        assert ids == [str(n) for n in range(1, len(everything) + 1)]
        # Exactly what it missed, then the rest: nothing twice, nothing lost.
        assert [(p.id, p.event, p.data) for p in rejoined] == [
            (p.id, p.event, p.data) for p in everything[5:]
        ]
        assert rejoined[-1].event == "values"
        assert len(everything) > 100  # a token event per word, and the run's values
    finally:
        await a.aclose()
        await b.aclose()


async def test_a_run_of_a_killed_process_is_resumed_by_the_other(
    pair: tuple[ServerProcess, ServerProcess],
) -> None:
    doomed, survivor = pair
    a, b = client(doomed), client(survivor)
    try:
        thread = await a.threads.create()
        tid = thread["thread_id"]
        run = await a.runs.create(tid, "llm", input=LONG, stream_mode=MODES, stream_resumable=True)
        run_id = run["run_id"]
        joined: list[Any] = []

        async def follow() -> None:
            async for part in b.runs.join_stream(tid, run_id, last_event_id="0"):
                joined.append(part)

        follower = asyncio.create_task(follow())
        async with asyncio.timeout(30):
            while len(joined) < 20:
                assert not follower.done(), [part.event for part in joined]
                await asyncio.sleep(0.05)
        doomed.signal(signal.SIGKILL)
        doomed.wait(timeout=10)
        killed_at = len(joined)

        await asyncio.wait_for(follower, timeout=60)
        assert await status(b, tid, run_id) == "success"
        events = [part.event for part in joined]
        # The run started again from its checkpoint on the survivor: a second `metadata`,
        # then the answer from the start of the interrupted step, then the final values.
        assert events.count("metadata") == 2
        assert events.index("metadata", 1) >= killed_at - 1
        assert events[-1] == "values"
        assert [part.id for part in joined] == [str(n) for n in range(1, len(joined) + 1)]
        final = await b.threads.get_state(tid)
        assert "word" in str(final["values"])
    finally:
        await a.aclose()
        await b.aclose()


async def _second_metadata(api: LangGraphClient, thread_id: str, run_id: str) -> list[Any]:
    """Follow the run until it has started again elsewhere (its second `metadata`)."""
    seen: list[Any] = []
    async for part in api.runs.join_stream(thread_id, run_id, last_event_id="0"):
        seen.append(part)
        if [p.event for p in seen].count("metadata") == 2:
            break
    return seen


async def test_a_resumed_run_rolls_back_to_before_its_first_start(
    pair: tuple[ServerProcess, ServerProcess],
) -> None:
    doomed, survivor = pair
    a, b = client(doomed), client(survivor)
    try:
        thread = await a.threads.create()
        tid = thread["thread_id"]
        first = {"user": "What is a newton?", "system": ""}
        await a.runs.wait(tid, "llm", input=first)
        before = await a.threads.get_state(tid)
        run = await a.runs.create(tid, "llm", input=LONG, stream_mode=MODES)
        run_id = run["run_id"]
        # Killed mid-answer (its input is checkpointed by then), resumed by the survivor.
        seen: list[Any] = []
        async for part in b.runs.join_stream(tid, run_id, last_event_id="0"):
            seen.append(part)
            if len(seen) == 20:
                break
        doomed.signal(signal.SIGKILL)
        doomed.wait(timeout=10)
        async with asyncio.timeout(60):
            await _second_metadata(b, tid, run_id)
        assert await status(b, tid, run_id) == "running"

        await b.runs.cancel(tid, run_id, wait=True, action="rollback")
        # The thread is back where it was before the run first started, not where it
        # stood when the survivor took the run over.
        after = await b.threads.get_state(tid)
        assert after["checkpoint_id"] == before["checkpoint_id"]
        assert after["values"] == before["values"] and after["values"]["user"] == first["user"]
        assert (await b.threads.get(tid))["status"] == "idle"
        assert [r["run_id"] for r in await b.runs.list(tid)] != [run_id]
    finally:
        await a.aclose()
        await b.aclose()

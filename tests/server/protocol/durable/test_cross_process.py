"""Two real server processes on one Postgres database, through the official `langgraph-sdk`:
a background run started on one is joined on the other with `Last-Event-ID` (the missed events,
then the live ones), and a run whose process is killed is resumed by the other."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from langgraph_sdk import get_client
from langgraph_sdk.client import LangGraphClient
from langgraph_sdk.schema import StreamMode

from tests.conftest import fresh_schema_name, postgres_url_or_skip
from tests.server.conftest import API_KEY
from tests.server.processes import ServerProcess, database_env, server_process

LONG = {"user": "Tell me about forces.", "system": ""}
MODES: list[StreamMode] = ["messages-tuple", "values"]


@contextmanager
def servers(tmp_path: Path, **overrides: str) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    """Two server processes sharing a fresh Postgres schema (the schema dropped after)."""
    url = postgres_url_or_skip()
    schema = fresh_schema_name()
    env = {
        **database_env("postgres", tmp_path, (url, schema)),
        # One word every 20 ms: a 300-word answer streams for about 6 s.
        "STEMGRAPH_TEST_TOKEN_DELAY": "0.02",
        # A killed process's runs are taken back within a few seconds.
        "STEMGRAPH_RUN_LEASE_SECONDS": "4",
        **overrides,
    }
    try:
        with ExitStack() as stack:
            first = stack.enter_context(server_process(tmp_path / "a.log", **env))
            second = stack.enter_context(server_process(tmp_path / "b.log", **env))
            yield first, second
    finally:
        asyncio.run(_drop(url, schema))


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    with servers(tmp_path) as both:
        yield both


@pytest.fixture
def long_lease_pair(tmp_path: Path) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    """Two processes whose leases outlast the test: no sweeper takes a run back."""
    with servers(tmp_path, STEMGRAPH_RUN_LEASE_SECONDS="600") as both:
        yield both


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


async def _thread_after_a_turn(api: LangGraphClient) -> str:
    """A new thread of the llm graph with one finished turn on it: its id."""
    tid = str((await api.threads.create())["thread_id"])
    await api.runs.wait(tid, "llm", input={"user": "What is a newton?", "system": ""})
    return tid


async def _kill_while_followed(
    api: LangGraphClient, doomed: ServerProcess, thread_id: str, run_id: str
) -> tuple[list[Any], int]:
    """Follow the run through `api` from its first event, kill `doomed` once 20 have come,
    and follow on to the run's end: every event, and how many came before the kill."""
    joined: list[Any] = []

    async def follow() -> None:
        async for part in api.runs.join_stream(thread_id, run_id, last_event_id="0"):
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
    return joined, killed_at


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
        joined, killed_at = await _kill_while_followed(b, doomed, tid, run_id)
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


async def test_a_process_shutting_down_hands_its_runs_to_the_other(
    long_lease_pair: tuple[ServerProcess, ServerProcess],
) -> None:
    # No sweeper takes the runs back within the test: only the hand-back can.
    leaving, staying = long_lease_pair
    a, b = client(leaving), client(staying)
    try:
        tid = await _thread_after_a_turn(a)
        kwargs: dict[str, Any] = {"stream_mode": MODES, "stream_resumable": True}
        on_thread = await a.runs.create(tid, "llm", input=LONG, **kwargs)
        stateless = await a.runs.create(None, "llm", input=LONG, **kwargs)
        runs = [(tid, on_thread["run_id"]), (stateless["thread_id"], stateless["run_id"])]
        follows: list[list[Any]] = [[], []]

        async def follow(thread_id: str, run_id: str, into: list[Any]) -> None:
            async for part in b.runs.join_stream(thread_id, run_id, last_event_id="0"):
                into.append(part)

        followers = [
            asyncio.create_task(follow(t, r, into))
            for (t, r), into in zip(runs, follows, strict=True)
        ]
        async with asyncio.timeout(30):
            while min(len(into) for into in follows) < 20:
                await asyncio.sleep(0.05)
        assert await status(b, tid, on_thread["run_id"]) == "running"
        leaving.signal(signal.SIGTERM)
        leaving.wait(timeout=30)
        handed_at = [len(into) for into in follows]

        async with asyncio.timeout(60):
            await asyncio.gather(*followers)
        for into, at in zip(follows, handed_at, strict=True):
            events = [part.event for part in into]
            # Resumed from its checkpoint on the other process: a second `metadata`, the
            # stream numbered on without a gap, and the run's values at the end.
            assert events.count("metadata") == 2 and "error" not in events, events
            assert events.index("metadata", 1) >= at - 1
            assert [part.id for part in into] == [str(n) for n in range(1, len(into) + 1)]
            assert events[-1] == "values"
        ended = await b.runs.get(tid, on_thread["run_id"])
        assert ended["status"] == "success"
        final = await b.threads.get_state(tid)
        assert final["values"]["user"] == LONG["user"] and "word" in final["values"]["content"]
        assert (await b.threads.get(tid))["status"] == "idle"
        # The stateless run's temporary thread went once the run ended, on the other side.
        with pytest.raises(httpx.HTTPStatusError) as gone:
            await b.threads.get(stateless["thread_id"])
        assert gone.value.response.status_code == 404
    finally:
        await a.aclose()
        await b.aclose()


async def test_a_run_killed_before_it_checkpointed_resumes_with_its_own_input(
    pair: tuple[ServerProcess, ServerProcess],
) -> None:
    # `durability="exit"` checkpoints only at the end: a run killed mid-answer left nothing
    # of itself on the thread, so resuming "from its last checkpoint with no input" would
    # resume the previous turn (a silent no-op) and lose what the user asked.
    doomed, survivor = pair
    a, b = client(doomed), client(survivor)
    try:
        tid = await _thread_after_a_turn(a)
        run = await a.runs.create(
            tid, "llm", input=LONG, stream_mode=MODES, stream_resumable=True, durability="exit"
        )
        run_id = run["run_id"]
        seen, _ = await _kill_while_followed(b, doomed, tid, run_id)
        events = [part.event for part in seen]
        assert events.count("metadata") == 2 and "error" not in events, events
        assert await status(b, tid, run_id) == "success"
        final = await b.threads.get_state(tid)
        # The survivor ran the run's own input again: its question and a whole new answer.
        assert final["values"]["user"] == LONG["user"]
        assert "word" in final["values"]["content"]
        values = [part.data for part in seen if part.event == "values"]
        assert values[-1]["user"] == LONG["user"]
    finally:
        await a.aclose()
        await b.aclose()

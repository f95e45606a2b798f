"""The Postgres checkpointer: one pooled connection per call, so threads do not queue on a lock."""

from __future__ import annotations

import asyncio
import itertools
import operator
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Annotated, Any, TypedDict

import pytest
from langchain_core.runnables import RunnableConfig
from langgraph.channels import DeltaChannel
from langgraph.checkpoint.base import ChannelVersions, Checkpoint, CheckpointMetadata
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from langgraph.graph import START, StateGraph
from psycopg import AsyncConnection, AsyncCursor
from psycopg.rows import DictRow
from psycopg_pool import AsyncConnectionPool

from bench import checkpoints as bench
from server.checkpoints import (
    OneTripSqliteSaver,
    PooledPostgresSaver,
    checkpoint_connection_kwargs,
    open_checkpointer,
    prune_thread,
)
from server.settings import Settings
from tests.conftest import drop_schema, fresh_schema_name, postgres_url_or_skip
from tests.fakes import ScriptedChatModel
from tests.server.conftest import Serve, only
from tests.server.routes.test_workspace import new_session, send


class Count(TypedDict):
    # Summed: each run adds its input and one more to what the thread's checkpoint holds.
    count: Annotated[int, operator.add]


def _tiny_graph(saver: AsyncPostgresSaver) -> Any:
    builder = StateGraph(Count)

    def bump(state: Count) -> Count:
        return {"count": 1}

    builder.add_node(bump)
    builder.add_edge(START, "bump")
    return builder.compile(checkpointer=saver)


def _config(thread: str) -> RunnableConfig:
    return {"configurable": {"thread_id": thread}}


@pytest.fixture
async def schema() -> AsyncIterator[tuple[str, str]]:
    """A fresh, empty Postgres schema: (url, schema)."""
    url = postgres_url_or_skip()
    name = fresh_schema_name()
    async with await AsyncConnection.connect(url, autocommit=True) as conn:
        await conn.execute(f'CREATE SCHEMA "{name}"')
    try:
        yield url, name
    finally:
        await drop_schema(url, name)


@asynccontextmanager
async def _pool(url: str, schema: str, size: int) -> AsyncIterator[Any]:
    pool: AsyncConnectionPool[AsyncConnection[DictRow]] = AsyncConnectionPool(
        url, min_size=1, max_size=size, kwargs=checkpoint_connection_kwargs(schema), open=False
    )
    async with pool:
        yield pool


_putting: ContextVar[bool] = ContextVar("_putting", default=False)


class _Gate:
    """Holds every checkpoint write inside its database cursor until `parties` are inside."""

    def __init__(self, parties: int) -> None:
        self.barrier = asyncio.Barrier(parties)
        self.backends: set[int] = set()


class _GatedWrites:
    """Mixed into a saver: `aput` waits at the gate once it holds its cursor (and so the
    connection, and the stock saver's lock)."""

    gate: _Gate

    async def aput(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        token = _putting.set(True)
        try:
            result: RunnableConfig = await super().aput(  # type: ignore[misc]
                config, checkpoint, metadata, new_versions
            )
            return result
        finally:
            _putting.reset(token)

    @asynccontextmanager
    async def _cursor(self, *, pipeline: bool = False) -> AsyncIterator[AsyncCursor[DictRow]]:
        async with super()._cursor(pipeline=pipeline) as cur:  # type: ignore[misc]
            if _putting.get():
                self.gate.backends.add(cur.connection.info.backend_pid)
                await self.gate.barrier.wait()
            yield cur


class _GatedPooled(_GatedWrites, PooledPostgresSaver):
    pass


class _GatedStock(_GatedWrites, AsyncPostgresSaver):
    pass


async def _run_threads(graph: Any, threads: list[str]) -> None:
    async with asyncio.TaskGroup() as group:
        for thread in threads:
            group.create_task(graph.ainvoke({"count": 0}, _config(thread), durability="exit"))


async def test_checkpoint_writes_of_different_threads_are_in_flight_together(
    schema: tuple[str, str],
) -> None:
    url, name = schema
    threads = [f"t{n}" for n in range(5)]
    async with _pool(url, name, size=len(threads)) as pool:
        saver = _GatedPooled(pool)
        saver.gate = _Gate(len(threads))
        await saver.setup()
        graph = _tiny_graph(saver)
        # Every write waits until all five are inside their cursors: only writes that run
        # together get past the barrier.
        async with asyncio.timeout(20):
            await _run_threads(graph, threads)
        assert len(saver.gate.backends) == len(threads)
        for thread in threads:
            snapshot = await graph.aget_state(_config(thread))
            assert snapshot.values == {"count": 1}, thread


async def test_the_stock_saver_on_the_same_pool_runs_one_write_at_a_time(
    schema: tuple[str, str],
) -> None:
    """The anchor: the same barrier is unreachable through the stock saver's instance lock."""
    url, name = schema
    async with _pool(url, name, size=2) as pool:
        saver = _GatedStock(pool)
        saver.gate = _Gate(2)
        await saver.setup()
        graph = _tiny_graph(saver)
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(1.5):
                await _run_threads(graph, ["a", "b"])
        assert len(saver.gate.backends) == 1


async def test_more_runs_than_connections_wait_for_the_pool_and_keep_their_own_state(
    schema: tuple[str, str],
) -> None:
    url, name = schema
    threads = [f"t{n}" for n in range(12)]
    async with _pool(url, name, size=2) as pool:
        saver = PooledPostgresSaver(pool)
        await saver.setup()
        graph = _tiny_graph(saver)
        for _ in range(3):
            async with asyncio.timeout(30):
                await _run_threads(graph, threads)
            for thread in threads:
                await prune_thread(saver, thread)
        for thread in threads:
            assert (await graph.aget_state(_config(thread))).values == {"count": 3}
            history = [s async for s in graph.aget_state_history(_config(thread))]
            assert len(history) == 1, thread


async def test_open_checkpointer_sizes_its_pool_from_the_settings(
    schema: tuple[str, str], tmp_path: Path
) -> None:
    url, name = schema
    settings = Settings(
        data_dir=tmp_path, database_url=url, database_schema=name, checkpoint_pool_size=3
    )
    async with open_checkpointer(settings) as saver:
        assert isinstance(saver, PooledPostgresSaver)
        assert saver.pool.max_size == 3
        graph = _tiny_graph(saver)
        await graph.ainvoke({"count": 41}, _config("s"), durability="exit")
        assert (await graph.aget_state(_config("s"))).values == {"count": 42}
    # The tables went into the settings' schema, not the connection's default one.
    async with await AsyncConnection.connect(url) as conn:
        cur = await conn.execute(
            "SELECT count(*) FROM information_schema.tables"
            " WHERE table_schema = %s AND table_name = 'checkpoints'",
            (name,),
        )
        assert await cur.fetchone() == (1,)


async def test_the_embedded_checkpointer_commits_without_an_fsync_each(tmp_path: Path) -> None:
    # WAL with synchronous NORMAL: a process that dies loses no commit, a power loss at most the
    # last checkpoints (what `durability="async"` allows); FULL paid an fsync per step.
    async with open_checkpointer(Settings(data_dir=tmp_path)) as saver:
        assert isinstance(saver, OneTripSqliteSaver)
        mode = await (await saver.conn.execute("PRAGMA journal_mode")).fetchone()
        sync = await (await saver.conn.execute("PRAGMA synchronous")).fetchone()
        assert (mode, sync) == (("wal",), (1,))  # 1: NORMAL
        graph = _tiny_graph(saver)
        await graph.ainvoke({"count": 1}, _config("t"))
    # What was committed is there for the next process.
    async with open_checkpointer(Settings(data_dir=tmp_path)) as reopened:
        assert (await _tiny_graph(reopened).aget_state(_config("t"))).values == {"count": 2}


def test_the_pool_size_setting_has_a_default_and_reads_its_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert Settings().checkpoint_pool_size == 10
    monkeypatch.setenv("STEMGRAPH_CHECKPOINT_POOL_SIZE", "4")
    assert Settings().checkpoint_pool_size == 4


class Notes(TypedDict):
    count: Annotated[int, operator.add]
    # Not a primitive, so the saver keeps it as a blob per version: a prune frees old ones.
    notes: dict[str, Any]
    tags: list[str]


def _blob_graph(saver: AsyncPostgresSaver) -> Any:
    builder = StateGraph(Notes)

    def note(state: Notes) -> dict[str, Any]:
        return {"count": 1, "notes": {"after": state["count"]}, "tags": [f"t{state['count']}"]}

    builder.add_node(note)
    builder.add_edge(START, "note")
    return builder.compile(checkpointer=saver)


async def _rows(pool: Any, thread: str) -> dict[str, Any]:
    async with pool.connection() as conn:
        blobs = await conn.execute(
            "SELECT channel, version FROM checkpoint_blobs WHERE thread_id = %s", (thread,)
        )
        checkpoints = await conn.execute(
            "SELECT count(*) AS n FROM checkpoints WHERE thread_id = %s", (thread,)
        )
        writes = await conn.execute(
            "SELECT count(*) AS n FROM checkpoint_writes WHERE thread_id = %s", (thread,)
        )
        return {
            # A version is a counter and a random suffix: the counter is what two threads share.
            "blobs": sorted(
                (r["channel"], r["version"].split(".")[0]) for r in await blobs.fetchall()
            ),
            "checkpoints": (await checkpoints.fetchone())["n"],
            "writes": (await writes.fetchone())["n"],
        }


async def test_the_batched_prune_keeps_exactly_what_langgraphs_prune_keeps(
    schema: tuple[str, str],
) -> None:
    url, name = schema
    async with _pool(url, name, size=3) as pool:
        stock, pooled = AsyncPostgresSaver(pool), PooledPostgresSaver(pool)
        await pooled.setup()
        after: dict[str, dict[str, Any]] = {}
        for label, saver in (("stock", stock), ("pooled", pooled)):
            graph = _blob_graph(saver)
            for _ in range(3):
                await graph.ainvoke({"count": 0}, _config(label), durability="exit")
            before = await _rows(pool, label)
            await saver.aprune([label], strategy="keep_latest")
            after[label] = await _rows(pool, label)
            # There was garbage to collect, and the prune collected it.
            assert before["checkpoints"] == 3 and after[label]["checkpoints"] == 1
            assert len(after[label]["blobs"]) < len(before["blobs"])
            state = await graph.aget_state(_config(label))
            assert state.values == {"count": 3, "notes": {"after": 2}, "tags": ["t2"]}
        assert after["pooled"] == after["stock"]
        assert {channel for channel, _ in after["pooled"]["blobs"]} == {"notes", "tags"}


async def test_the_pooled_prune_of_several_threads_refuses_none_and_prunes_each(
    schema: tuple[str, str],
) -> None:
    url, name = schema
    async with _pool(url, name, size=2) as pool:
        saver = PooledPostgresSaver(pool)
        await saver.setup()
        graph = _blob_graph(saver)
        for thread in ("x", "y"):
            for _ in range(2):
                await graph.ainvoke({"count": 0}, _config(thread), durability="exit")
        await saver.aprune(["x", "y"])
        for thread in ("x", "y"):
            rows = await _rows(pool, thread)
            assert rows["checkpoints"] == 1 and len(rows["blobs"]) == 2, (thread, rows)
        with pytest.raises(TypeError):
            await saver.aprune("x")


class Nested(TypedDict):
    count: Annotated[int, operator.add]
    notes: dict[str, Any]


def _nested_graph(saver: AsyncPostgresSaver, *, stop: bool) -> Any:
    """A root graph calling a subgraph (a namespace of its own per call), optionally stopping
    before its last node so the thread also holds a pending interrupt."""
    inner_builder = StateGraph(Nested)

    def inner(state: Nested) -> dict[str, Any]:
        return {"count": 1, "notes": {"inner": state["count"]}}

    inner_builder.add_node(inner)
    inner_builder.add_edge(START, "inner")
    builder = StateGraph(Nested)

    def first(state: Nested) -> dict[str, Any]:
        return {"count": 1, "notes": {"first": state["count"]}}

    def last(state: Nested) -> dict[str, Any]:
        return {"count": 1, "notes": {"last": state["count"]}}

    builder.add_node(first)
    builder.add_node("sub", inner_builder.compile())
    builder.add_node(last)
    builder.add_edge(START, "first")
    builder.add_edge("first", "sub")
    builder.add_edge("sub", "last")
    return builder.compile(checkpointer=saver, interrupt_before=["last"] if stop else None)


async def _all_rows(pool: Any, thread: str) -> dict[str, Any]:
    """Every row a thread holds, with what differs between two equal runs (ids, task ids,
    version suffixes) left out."""
    async with pool.connection() as conn:
        checkpoints = await conn.execute(
            "SELECT split_part(checkpoint_ns, ':', 1) AS ns, parent_checkpoint_id IS NULL AS root"
            " FROM checkpoints WHERE thread_id = %s",
            (thread,),
        )
        blobs = await conn.execute(
            "SELECT split_part(checkpoint_ns, ':', 1) AS ns, channel, version"
            " FROM checkpoint_blobs WHERE thread_id = %s",
            (thread,),
        )
        writes = await conn.execute(
            "SELECT split_part(checkpoint_ns, ':', 1) AS ns, channel, idx"
            " FROM checkpoint_writes WHERE thread_id = %s",
            (thread,),
        )
        return {
            "checkpoints": sorted((r["ns"], r["root"]) for r in await checkpoints.fetchall()),
            "blobs": sorted(
                (r["ns"], r["channel"], r["version"].split(".")[0]) for r in await blobs.fetchall()
            ),
            "writes": sorted((r["ns"], r["channel"], r["idx"]) for r in await writes.fetchall()),
        }


@pytest.mark.parametrize("durability", ["sync", "exit"])
async def test_the_pooled_prune_keeps_what_langgraphs_keeps_with_subgraphs_and_interrupts(
    schema: tuple[str, str], durability: str
) -> None:
    url, name = schema
    async with _pool(url, name, size=3) as pool:
        stock, pooled = AsyncPostgresSaver(pool), PooledPostgresSaver(pool)
        await pooled.setup()
        after: dict[str, dict[str, Any]] = {}
        values: dict[str, tuple[Any, Any]] = {}
        for label, saver in (("stock", stock), ("pooled", pooled)):
            thread = f"{label}-{durability}"
            for _ in range(2):
                await _nested_graph(saver, stop=False).ainvoke(
                    {"count": 0}, _config(thread), durability=durability
                )
            # The third run stops before `last`: the thread ends on an interrupt.
            stopping = _nested_graph(saver, stop=True)
            await stopping.ainvoke({"count": 0}, _config(thread), durability=durability)
            before = await _all_rows(pool, thread)
            await saver.aprune([thread], strategy="keep_latest")
            after[label] = await _all_rows(pool, thread)
            assert len(after[label]["checkpoints"]) < len(before["checkpoints"])
            state = await stopping.aget_state(_config(thread))
            assert state.next == ("last",)
            # The pruned thread still resumes where it stopped.
            resumed = await stopping.ainvoke(None, _config(thread), durability=durability)
            assert set(resumed["notes"]) == {"last"}
            values[label] = (state.values, resumed)
        assert after["pooled"] == after["stock"]
        assert values["pooled"] == values["stock"]


class Log(TypedDict):
    items: Annotated[list[str], DeltaChannel(operator.add)]


async def test_the_pooled_prune_refuses_a_delta_channel_thread_like_langgraphs(
    schema: tuple[str, str],
) -> None:
    url, name = schema
    async with _pool(url, name, size=2) as pool:
        saver = PooledPostgresSaver(pool)
        await saver.setup()
        builder = StateGraph(Log)
        builder.add_node("add", lambda state: {"items": ["x"]})
        builder.add_edge(START, "add")
        graph = builder.compile(checkpointer=saver)
        for _ in range(2):
            await graph.ainvoke({"items": []}, _config("delta"), durability="exit")
        before = await _all_rows(pool, "delta")
        with pytest.raises(NotImplementedError, match="DeltaChannel"):
            await saver.aprune(["delta"], strategy="keep_latest")
        assert await _all_rows(pool, "delta") == before


async def test_a_pooled_prune_sends_four_statements_whatever_the_channels(
    schema: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """LangGraph's prune sends each statement after the one before returns, one more per
    channel with garbage; the pooled one pipelines the snapshot, the heads and the DeltaChannel
    check, then one statement for the namespace."""
    url, name = schema
    sent: list[str] = []
    execute = AsyncCursor.execute

    async def counted(self: Any, query: Any, *args: Any, **kwargs: Any) -> Any:
        sent.append(str(query))
        return await execute(self, query, *args, **kwargs)

    async with _pool(url, name, size=2) as pool:
        stock, pooled = AsyncPostgresSaver(pool), PooledPostgresSaver(pool)
        await pooled.setup()
        counts = {}
        for label, saver in (("stock", stock), ("pooled", pooled)):
            graph = _blob_graph(saver)
            for _ in range(3):
                await graph.ainvoke({"count": 0}, _config(label), durability="exit")
            sent.clear()
            with monkeypatch.context() as patch:
                patch.setattr(AsyncCursor, "execute", counted)
                await saver.aprune([label], strategy="keep_latest")
            counts[label] = len(sent)
            assert (await _rows(pool, label))["checkpoints"] == 1
        assert counts["pooled"] == 4
        assert counts["stock"] >= 9, counts  # + one blob delete per channel (two here)


@pytest.mark.parametrize("backend", ["postgres"])
def test_a_bench_chat_turn_sends_the_sql_a_real_workspace_send_does(
    backend: str, serve: Serve
) -> None:
    """The bench measures the route's work: a send through the app and a bench turn (each a
    session's second) send the same statements."""
    assert backend == "postgres"  # the bench's backend; `serve` runs the app on it
    model = ScriptedChatModel(messages=itertools.repeat(bench.REPLY), prompts=[])
    with serve(chat=only(model)) as api:
        session = new_session(api)
        send(api, session["id"], bench.QUESTION)
        with bench._StatementCounter() as route:
            send(api, session["id"], bench.QUESTION)
    url = postgres_url_or_skip()
    config = bench.Config(concurrencies={"chat": (1,)}, turns=1, pool_size=2, rounds=1)
    row = asyncio.run(bench._row(url, "chat", "pooled", 1, config))
    assert row["statements_per_turn"] == route.count, (row, route.count)

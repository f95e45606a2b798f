"""LangGraph checkpointers on the same backend as the store."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar, cast

import aiosqlite
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    BaseCheckpointSaver,
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
)
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from langgraph.checkpoint.postgres.base import (
    PRUNE_DELTA_THREADS_SQL,
    PRUNE_HEADS_SQL,
    PRUNE_SNAPSHOT_SQL,
    PRUNE_SUBGRAPH_CALLS_SQL,
    _aexecute,
    _refuse_delta_threads,
)
from langgraph.checkpoint.serde.base import SerializerProtocol
from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver
from psycopg import AsyncConnection, AsyncCursor
from psycopg.rows import DictRow, dict_row
from psycopg_pool import AsyncConnectionPool

from server.settings import Settings
from tools.store.pool import CancelSafePool

CheckpointPool = AsyncConnectionPool[AsyncConnection[DictRow]]
T = TypeVar("T")

# A namespace's whole keep_latest after its heads are known, in one statement: what LangGraph's
# prune does in up to five (the unkept checkpoints, their writes, the checkpoints themselves,
# the kept ones' parent links, the blobs referenced by what is kept) plus one per channel with
# garbage. Every part reads the same snapshot, the one the caller's transaction started with:
# `referenced` sees the namespace's kept checkpoints, which are exactly the ones left once
# `unkept` is gone. Rows are still looked up by key (`= ANY`, `IN` over the deleted ids), never
# by joining two sets of a thread's rows.
_PRUNE_NAMESPACE_SQL = """
WITH unkept AS (
    DELETE FROM checkpoints
    WHERE thread_id = %(thread)s AND checkpoint_ns = %(ns)s AND checkpoint_id <> ALL(%(kept)s)
    RETURNING checkpoint_id, checkpoint -> 'channel_versions' AS versions
), writes AS (
    DELETE FROM checkpoint_writes
    WHERE thread_id = %(thread)s AND checkpoint_ns = %(ns)s
    AND checkpoint_id IN (SELECT checkpoint_id FROM unkept)
), parents AS (
    UPDATE checkpoints SET parent_checkpoint_id = NULL
    WHERE thread_id = %(thread)s AND checkpoint_ns = %(ns)s
    AND checkpoint_id = ANY(%(kept)s) AND parent_checkpoint_id <> ALL(%(kept)s)
), garbage AS (
    SELECT v.key AS channel, v.value AS version
    FROM unkept CROSS JOIN LATERAL jsonb_each_text(unkept.versions) AS v
    EXCEPT
    SELECT v.key, v.value
    FROM checkpoints c CROSS JOIN LATERAL jsonb_each_text(c.checkpoint -> 'channel_versions') AS v
    WHERE c.thread_id = %(thread)s AND c.checkpoint_ns = %(ns)s
    AND c.checkpoint_id = ANY(%(kept)s)
)
DELETE FROM checkpoint_blobs b USING garbage g
WHERE b.thread_id = %(thread)s AND b.checkpoint_ns = %(ns)s
AND b.channel = g.channel AND b.version = g.version
"""


def _kept_and_calls(heads: list[DictRow]) -> tuple[dict[str, list[str]], set[str]]:
    """From LangGraph's heads query: the checkpoint ids each namespace keeps, and the subgraph
    calls' namespaces that go whole (LangGraph's `_keep_latest` rules, unchanged)."""
    kept = {h["checkpoint_ns"]: [i for i in (h["head"], h["sends_parent"]) if i] for h in heads}
    calls = {
        h["checkpoint_ns"]
        for h in heads
        if ":" in h["checkpoint_ns"] and h["root_saved"] and h["root"] not in kept.get("", ())
    }
    return kept, calls


class PooledPostgresSaver(AsyncPostgresSaver):
    """LangGraph's Postgres saver with one pooled connection per call instead of one lock.

    The stock saver takes `self.lock` around every call because it may hold a single
    connection, which must not run two commands at once. On a pool each call checks out its own
    connection, so the lock only serialises independent threads' reads and writes; this saver
    drops it and lets the pool's size bound the concurrency. The SQL, the per-call pipeline (or
    transaction) for multi-statement writes and `setup()` are the stock saver's.
    """

    def __init__(self, pool: CheckpointPool, serde: SerializerProtocol | None = None) -> None:
        super().__init__(pool, serde=serde)
        self.pool = pool

    @asynccontextmanager
    async def _cursor(self, *, pipeline: bool = False) -> AsyncIterator[AsyncCursor[DictRow]]:
        async with self.pool.connection() as conn:
            if not pipeline:
                async with conn.cursor(binary=True, row_factory=dict_row) as cur:
                    yield cur
            elif self.supports_pipeline:
                # The pipeline ends (and syncs) before the connection goes back to the pool.
                async with conn.pipeline(), conn.cursor(binary=True, row_factory=dict_row) as cur:
                    yield cur
            else:
                async with (
                    conn.transaction(),
                    conn.cursor(binary=True, row_factory=dict_row) as cur,
                ):
                    yield cur

    async def aprune(self, thread_ids: Sequence[str], *, strategy: str = "keep_latest") -> None:
        """LangGraph's prune; `keep_latest` keeps the same rows in two round trips a thread.

        LangGraph's sends a thread's statements one at a time, each waiting for the one before
        (a chat thread's takes ten). Here one pipeline carries the transaction: its snapshot,
        the heads and the DeltaChannel check in the first round trip, then one statement per
        namespace (`_PRUNE_NAMESPACE_SQL`) and the commit in the second.
        """
        if isinstance(thread_ids, str) or strategy != "keep_latest":
            await super().aprune(thread_ids, strategy=strategy)
            return
        thread_ids = [str(t) for t in thread_ids]
        if len(thread_ids) > 1:
            # Refuse the whole batch before pruning any of it; a single thread is checked
            # inside its own transaction anyway.
            async with self._cursor() as cur:
                await _aexecute(cur, _refuse_delta_threads(thread_ids))
        for thread_id in thread_ids:
            await self._keep_latest(thread_id)

    async def _keep_latest(self, thread_id: str) -> None:
        async with self.pool.connection() as conn, conn.pipeline(), conn.transaction():
            heads_cur = conn.cursor(row_factory=dict_row)
            delta_cur = conn.cursor(row_factory=dict_row)
            # Unprepared, as LangGraph runs them: a generic plan scans `= ANY` arrays slowly.
            await heads_cur.execute(PRUNE_SNAPSHOT_SQL, prepare=False)
            await heads_cur.execute(PRUNE_HEADS_SQL, (thread_id,) * 4, prepare=False)
            await delta_cur.execute(PRUNE_DELTA_THREADS_SQL, ([thread_id],) * 2, prepare=False)
            heads = await heads_cur.fetchall()
            if await delta_cur.fetchall():
                raise NotImplementedError(
                    f"keep_latest can't prune threads that use a DeltaChannel: {thread_id}"
                )
            kept, calls = _kept_and_calls(heads)
            if calls:
                for sql in PRUNE_SUBGRAPH_CALLS_SQL:
                    await heads_cur.execute(sql, (thread_id, sorted(calls)), prepare=False)
            for ns, ids in kept.items():
                if ns not in calls:
                    await heads_cur.execute(
                        _PRUNE_NAMESPACE_SQL,
                        {"thread": thread_id, "ns": ns, "kept": ids},
                        prepare=False,
                    )


def in_sqlite_thread(conn: aiosqlite.Connection, fn: Callable[[], T]) -> Awaitable[T]:
    """`fn()` on `conn`'s own thread, with its `sqlite3` connection: one trip however many
    statements `fn` runs (each aiosqlite call is a trip of its own)."""
    execute = cast(Callable[[Callable[[], T]], Awaitable[T]], conn._execute)
    return execute(fn)


class OneTripSqliteSaver(AsyncSqliteSaver):
    """LangGraph's SQLite saver whose hot calls (`aget_tuple`, `aput`, `aput_writes`,
    `adelete_thread`) each make one trip to aiosqlite's thread instead of 4-6 (cursor,
    execute, fetch, close, commit): LangGraph's own synchronous saver runs there, on the
    same `sqlite3` connection, with the same statements. The rest is the stock saver."""

    def __init__(self, conn: aiosqlite.Connection, serde: SerializerProtocol | None = None):
        super().__init__(conn, serde=serde)
        self._sync: SqliteSaver | None = None

    async def setup(self) -> None:
        await super().setup()
        if self._sync is None:
            sync = SqliteSaver(self.conn._conn, serde=self.serde)
            sync.is_setup = True  # the tables are the async setup's
            sync._has_task_path = self._has_task_path
            self._sync = sync

    async def _trip(self, fn: Callable[[SqliteSaver], T]) -> T:
        await self.setup()
        sync = self._sync
        assert sync is not None
        async with self.lock:
            return await in_sqlite_thread(self.conn, lambda: fn(sync))

    async def aget_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        return await self._trip(lambda sync: sync.get_tuple(config))

    async def aput(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        return await self._trip(lambda sync: sync.put(config, checkpoint, metadata, new_versions))

    async def aput_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        await self._trip(lambda sync: sync.put_writes(config, writes, task_id, task_path))

    async def adelete_thread(self, thread_id: str) -> None:
        await self._trip(lambda sync: sync.delete_thread(thread_id))


def checkpoint_connection_kwargs(schema: str | None) -> dict[str, Any]:
    """What LangGraph's Postgres saver expects of each connection, in the store's schema."""
    kwargs: dict[str, Any] = {"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row}
    if schema:
        kwargs["options"] = f"-c search_path={schema}"
    return kwargs


@asynccontextmanager
async def open_checkpointer(settings: Settings) -> AsyncIterator[BaseCheckpointSaver[Any]]:
    """A pooled Postgres saver for a Postgres store, else LangGraph's SQLite saver in the data
    dir."""
    if settings.uses_postgres:
        pool: CheckpointPool = CancelSafePool(
            settings.resolved_database_url,
            min_size=1,
            max_size=settings.checkpoint_pool_size,
            kwargs=checkpoint_connection_kwargs(settings.database_schema),
            open=False,
        )
        async with pool:
            saver = PooledPostgresSaver(pool)
            await saver.setup()
            yield saver
        return

    path = Path(settings.data_dir) / "checkpoints.sqlite3"
    path.parent.mkdir(parents=True, exist_ok=True)
    async with aiosqlite.connect(str(path)) as conn:
        await conn.execute("PRAGMA journal_mode = WAL")
        # No fsync per commit (WAL's own is at its checkpoints): a process that dies loses
        # nothing, a power loss at most the last checkpoints, which `durability="async"`
        # already allows; the fsync was ~11 µs of every streamed protocol event.
        await conn.execute("PRAGMA synchronous = NORMAL")
        saver_sqlite = OneTripSqliteSaver(conn)
        await saver_sqlite.setup()
        yield saver_sqlite


async def prune_thread(saver: BaseCheckpointSaver[Any], thread_id: str) -> None:
    """Keep only the thread's latest checkpoint: a session's history lives in the store, and
    superseded checkpoints would otherwise grow with every turn."""
    if not isinstance(saver, AsyncSqliteSaver):
        await saver.aprune([thread_id], strategy="keep_latest")
        return
    async with saver.lock:
        await saver.conn.execute(
            "DELETE FROM checkpoints WHERE thread_id = ? AND checkpoint_ns = '' AND checkpoint_id"
            " <> (SELECT max(checkpoint_id) FROM checkpoints WHERE thread_id = ?"
            " AND checkpoint_ns = '')",
            (thread_id, thread_id),
        )
        await saver.conn.execute(
            "DELETE FROM writes WHERE thread_id = ? AND checkpoint_id NOT IN"
            " (SELECT checkpoint_id FROM checkpoints WHERE thread_id = ?)",
            (thread_id, thread_id),
        )
        await saver.conn.commit()


async def delete_checkpoints_after(
    saver: BaseCheckpointSaver[Any], thread_id: str, checkpoint_id: str
) -> None:
    """Forget every checkpoint (and its pending writes) of the thread newer than
    `checkpoint_id`, in every namespace: a rolled-back run leaves no trace in the history.
    Checkpoint ids are time-ordered, so "newer" is "greater"."""
    if isinstance(saver, AsyncSqliteSaver):
        async with saver.lock:
            for table in ("writes", "checkpoints"):
                await saver.conn.execute(
                    f"DELETE FROM {table} WHERE thread_id = ? AND checkpoint_id > ?",
                    (thread_id, checkpoint_id),
                )
            await saver.conn.commit()
        return
    if isinstance(saver, PooledPostgresSaver):
        async with saver._cursor() as cur, cur.connection.transaction():
            for table in ("checkpoint_writes", "checkpoints"):
                await cur.execute(
                    f"DELETE FROM {table} WHERE thread_id = %s AND checkpoint_id > %s",
                    (thread_id, checkpoint_id),
                    prepare=False,
                )
        return
    raise TypeError(f"cannot delete checkpoints of a {type(saver).__name__}")

"""LangGraph checkpointers on the same backend as the store."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from langgraph.checkpoint.serde.base import SerializerProtocol
from psycopg import AsyncConnection, AsyncCursor
from psycopg.rows import DictRow, dict_row
from psycopg_pool import AsyncConnectionPool

from server.settings import Settings

CheckpointPool = AsyncConnectionPool[AsyncConnection[DictRow]]


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
        pool: CheckpointPool = AsyncConnectionPool(
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

    import aiosqlite
    from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

    path = Path(settings.data_dir) / "checkpoints.sqlite3"
    path.parent.mkdir(parents=True, exist_ok=True)
    async with aiosqlite.connect(str(path)) as conn:
        await conn.execute("PRAGMA journal_mode = WAL")
        saver_sqlite = AsyncSqliteSaver(conn)
        await saver_sqlite.setup()
        yield saver_sqlite


async def prune_thread(saver: BaseCheckpointSaver[Any], thread_id: str) -> None:
    """Keep only the thread's latest checkpoint: a session's history lives in the store, and
    superseded checkpoints would otherwise grow with every turn."""
    from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

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

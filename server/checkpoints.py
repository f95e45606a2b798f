"""LangGraph checkpointers on the same backend as the store."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver

from server.settings import Settings


@asynccontextmanager
async def open_checkpointer(settings: Settings) -> AsyncIterator[BaseCheckpointSaver[Any]]:
    """LangGraph's Postgres saver for a Postgres store, else its SQLite saver in the data dir."""
    if settings.uses_postgres:
        from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
        from psycopg.rows import dict_row
        from psycopg_pool import AsyncConnectionPool

        kwargs: dict[str, Any] = {
            "autocommit": True,
            "prepare_threshold": 0,
            "row_factory": dict_row,
        }
        if settings.database_schema:
            kwargs["options"] = f"-c search_path={settings.database_schema}"
        async with AsyncConnectionPool(
            settings.resolved_database_url, min_size=1, max_size=5, kwargs=kwargs, open=False
        ) as pool:
            saver = AsyncPostgresSaver(pool)  # type: ignore[arg-type]
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

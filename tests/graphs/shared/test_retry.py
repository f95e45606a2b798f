"""Only transient failures are retried: a retry of anything else repeats the same failure."""

from __future__ import annotations

import sqlite3
import uuid
from pathlib import Path
from typing import Any

import httpx
import openai
import psycopg
import pytest

from graphs.quiz import graph as quiz_graph
from graphs.shared.context import GenerationContext
from graphs.shared.errors import GenerationError
from graphs.shared.retry import is_transient
from tools.materials import MaterialUnreadable
from tools.models.router import ModelRouter
from tools.store import ChunkHit, Store
from tools.store.sqlite import SqliteStore

_REQUEST = httpx.Request("POST", "http://127.0.0.1/v1/chat/completions")


def _status(code: int) -> httpx.HTTPStatusError:
    return httpx.HTTPStatusError("status", request=_REQUEST, response=httpx.Response(code))


@pytest.mark.parametrize(
    "error",
    [
        TimeoutError("slow"),
        ConnectionResetError("reset"),
        httpx.ConnectError("refused", request=_REQUEST),
        httpx.ReadTimeout("read", request=_REQUEST),
        _status(503),
        _status(500),
        _status(429),
        openai.APIConnectionError(request=_REQUEST),
        psycopg.OperationalError("server closed the connection unexpectedly"),
        sqlite3.OperationalError("database is locked"),
    ],
    ids=lambda error: type(error).__name__,
)
def test_transient_failures_are_retried(error: BaseException) -> None:
    assert is_transient(error)


@pytest.mark.parametrize(
    "error",
    [
        GenerationError("There is no class material to write quiz questions from."),
        MaterialUnreadable("The file has no readable text."),
        ValueError("bad"),
        KeyError("class_title"),
        _status(400),
        _status(404),
        sqlite3.OperationalError("no such table: chunks"),
        RuntimeError("a bug"),
    ],
    ids=lambda error: type(error).__name__,
)
def test_everything_else_is_not(error: BaseException) -> None:
    assert not is_transient(error)


def test_graph_errors_are_runtime_errors() -> None:
    """LangGraph's server shows a RuntimeError's message (any other kind: "An internal error
    occurred"); unreadable material is bad input, a ValueError."""
    assert issubclass(GenerationError, RuntimeError)
    assert issubclass(MaterialUnreadable, ValueError)


class _FlakyStore(SqliteStore):
    """A real SQLite store whose next `class_chunks` read fails with `error` (a database that
    dropped the connection or stayed locked)."""

    error: Exception | None = None
    reads = 0

    async def class_chunks(self, class_id: str, *, limit: int = 2000) -> list[ChunkHit]:
        self.reads += 1
        if self.error is not None:
            error, self.error = self.error, None
            raise error
        return await super().class_chunks(class_id, limit=limit)


async def _run(store: Store) -> tuple[list[dict[str, Any]], BaseException]:
    """A class-only quiz on a class with no material: the custom events and the error."""
    context = GenerationContext(router=ModelRouter([]), store=store)
    events: list[dict[str, Any]] = []
    with pytest.raises(GenerationError) as raised:
        async for mode, chunk in quiz_graph.astream(
            {"class_id": str(uuid.uuid4())}, context=context, stream_mode=["custom", "updates"]
        ):
            if mode == "custom":
                events.append(chunk)
    return events, raised.value


async def test_missing_class_material_is_reported_once_not_retried(store: Store) -> None:
    """Before: the default retry policy ran `gather_context` twice (two `context` events)."""
    events, error = await _run(store)
    assert str(error) == "There is no class material to write quiz questions from."
    assert [e["stage"] for e in events].count("context") == 1


async def test_a_transient_database_failure_is_retried_once(tmp_path: Path) -> None:
    store = await _FlakyStore.open(str(tmp_path / "flaky.sqlite3"))
    try:
        store.error = sqlite3.OperationalError("database is locked")
        _, error = await _run(store)
        # The retry read the class again, and found it empty.
        assert store.reads == 2
        assert "no class material" in str(error)
        store.error = sqlite3.OperationalError("no such table: chunks")
        with pytest.raises(sqlite3.OperationalError):
            await _run(store)
        assert store.reads == 3
    finally:
        await store.close()

"""The SQLite checkpointer: LangGraph's saver with one trip to aiosqlite's thread per hot call."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiosqlite
import pytest
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

from server.checkpoints import OneTripSqliteSaver, open_checkpointer
from server.settings import Settings
from tests.server.test_checkpoints import Count, _config, _tiny_graph


@pytest.fixture
async def saver(tmp_path: Path) -> AsyncIterator[OneTripSqliteSaver]:
    async with open_checkpointer(Settings(data_dir=tmp_path)) as opened:
        assert isinstance(opened, OneTripSqliteSaver)
        yield opened


def _count_trips(saver: AsyncSqliteSaver, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every trip to the saver's aiosqlite thread, by the function sent there."""
    trips: list[str] = []
    original = aiosqlite.Connection._execute

    async def counted(self: aiosqlite.Connection, fn: Any, *args: Any, **kwargs: Any) -> Any:
        if self is saver.conn:
            trips.append(getattr(fn, "__name__", repr(fn)))
        return await original(self, fn, *args, **kwargs)

    monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
    return trips


async def test_a_graph_runs_on_it_and_its_state_reads_back(saver: OneTripSqliteSaver) -> None:
    graph = _tiny_graph(saver)  # type: ignore[arg-type]
    await graph.ainvoke(Count(count=2), _config("t1"))
    await graph.ainvoke(Count(count=3), _config("t1"))
    state = await graph.aget_state(_config("t1"))
    assert state.values == {"count": 7}
    history = [snapshot async for snapshot in graph.aget_state_history(_config("t1"))]
    assert len(history) >= 4 and history[0].values == {"count": 7}
    await saver.adelete_thread("t1")
    assert await saver.aget_tuple(_config("t1")) is None


async def test_what_it_writes_is_what_the_stock_saver_reads(
    saver: OneTripSqliteSaver, tmp_path: Path
) -> None:
    graph = _tiny_graph(saver)  # type: ignore[arg-type]
    await graph.ainvoke(Count(count=5), _config("t2"))
    mine = await saver.aget_tuple(_config("t2"))
    async with aiosqlite.connect(str(tmp_path / "checkpoints.sqlite3")) as conn:
        stock = await AsyncSqliteSaver(conn).aget_tuple(_config("t2"))
    assert mine is not None and stock is not None
    assert mine.config == stock.config
    assert mine.checkpoint == stock.checkpoint
    assert mine.metadata == stock.metadata
    assert mine.parent_config == stock.parent_config
    assert mine.pending_writes == stock.pending_writes


async def test_each_hot_call_is_one_trip(
    saver: OneTripSqliteSaver, monkeypatch: pytest.MonkeyPatch
) -> None:
    graph = _tiny_graph(saver)  # type: ignore[arg-type]
    await graph.ainvoke(Count(count=1), _config("t3"))
    trips = _count_trips(saver, monkeypatch)
    assert await saver.aget_tuple(_config("t3")) is not None
    assert len(trips) == 1
    trips.clear()
    await graph.ainvoke(Count(count=1), _config("t3"), durability="sync")
    calls = len(trips)
    # A one-node run: read the latest checkpoint, then its input, the node's writes and their
    # checkpoints; the stock saver takes 4-6 trips for each of these.
    assert 1 <= calls <= 8, trips
    trips.clear()
    await saver.adelete_thread("t3")
    assert len(trips) == 1

"""`Store.batch`: statements in one transaction, each one's rows; on SQLite in one trip to
aiosqlite's thread, BEGIN and COMMIT included. `transaction()` sends its BEGIN with the first
statement."""

from __future__ import annotations

import sqlite3
from typing import Any

import aiosqlite
import psycopg
import pytest

from tools.store.sqlite import SqliteStore


async def _table(store: Any) -> None:
    async with store.transaction() as db:
        await db.execute("CREATE TABLE batch_t (id INTEGER PRIMARY KEY, label TEXT)")


async def test_a_batch_lands_whole_and_answers_each_statements_rows(store: Any) -> None:
    await _table(store)
    results = await store.batch(
        [
            ("INSERT INTO batch_t (id, label) VALUES (:i, :l)", {"i": 1, "l": "one"}),
            ("INSERT INTO batch_t (id, label) VALUES (2, 'two') RETURNING id", None),
            ("UPDATE batch_t SET label = :l WHERE id = 1 RETURNING label", {"l": "uno"}),
        ]
    )
    assert [list(rows) for rows in results] == [[], [{"id": 2}], [{"label": "uno"}]]
    async with store.session() as db:
        rows = await db.query("SELECT id, label FROM batch_t ORDER BY id")
    assert rows == [{"id": 1, "label": "uno"}, {"id": 2, "label": "two"}]


async def test_a_failing_statement_undoes_the_whole_batch(store: Any) -> None:
    await _table(store)
    with pytest.raises((sqlite3.IntegrityError, psycopg.errors.UniqueViolation)):
        await store.batch(
            [
                ("INSERT INTO batch_t (id, label) VALUES (1, 'kept?')", None),
                ("INSERT INTO batch_t (id, label) VALUES (1, 'clash')", None),
            ]
        )
    async with store.session() as db:
        assert await db.query("SELECT id FROM batch_t") == []
    # Nothing is left open: the next transaction goes through.
    await store.batch([("INSERT INTO batch_t (id, label) VALUES (3, 'after')", None)])
    async with store.session() as db:
        assert await db.query("SELECT id FROM batch_t") == [{"id": 3}]


def _count_trips(store: SqliteStore, monkeypatch: pytest.MonkeyPatch) -> list[object]:
    trips: list[object] = []
    original = aiosqlite.Connection._execute

    async def counted(self: aiosqlite.Connection, fn: Any, *args: Any, **kwargs: Any) -> Any:
        trips.append(fn)
        return await original(self, fn, *args, **kwargs)

    monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
    return trips


async def test_sqlite_sends_a_batch_in_one_trip_and_a_transaction_in_one_less(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = await SqliteStore.open(str(tmp_path / "store.sqlite3"))
    try:
        await _table(store)
        trips = _count_trips(store, monkeypatch)
        await store.batch(
            [
                ("INSERT INTO batch_t (id, label) VALUES (1, 'a')", None),
                ("INSERT INTO batch_t (id, label) VALUES (2, 'b')", None),
            ]
        )
        assert len(trips) == 1
        trips.clear()
        async with store.transaction() as db:
            await db.execute("INSERT INTO batch_t (id, label) VALUES (3, 'c')")
            await db.execute("INSERT INTO batch_t (id, label) VALUES (4, 'd')")
        assert len(trips) == 3  # BEGIN + first, second, COMMIT
        trips.clear()
        async with store.transaction():
            pass  # no statement: no BEGIN, nothing to commit
        assert len(trips) == 1
        async with store.session() as db:
            assert await db.query("SELECT count(*) AS n FROM batch_t") == [{"n": 4}]
    finally:
        await store.close()


async def test_sqlite_a_transaction_whose_body_fails_is_rolled_back(tmp_path: Any) -> None:
    store = await SqliteStore.open(str(tmp_path / "store.sqlite3"))
    try:
        await _table(store)
        with pytest.raises(RuntimeError):
            async with store.transaction() as db:
                await db.execute("INSERT INTO batch_t (id, label) VALUES (1, 'gone')")
                raise RuntimeError("body failed")
        with pytest.raises(RuntimeError):
            async with store.transaction():
                raise RuntimeError("before any statement")
        async with store.session() as db:
            assert await db.query("SELECT id FROM batch_t") == []
        async with store.transaction() as db:
            await db.execute("INSERT INTO batch_t (id, label) VALUES (2, 'kept')")
        async with store.session() as db:
            assert await db.query("SELECT id FROM batch_t") == [{"id": 2}]
    finally:
        await store.close()

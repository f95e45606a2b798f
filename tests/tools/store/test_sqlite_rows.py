"""SQLite queries run in one trip to aiosqlite's thread and still answer `{column: value}` rows,
as the Postgres store does (a repeated column name keeps the last value)."""

from __future__ import annotations

from pathlib import Path

from tools.store.sqlite import SqliteStore


async def test_rows_are_column_mappings_from_one_trip(tmp_path: Path) -> None:
    store = await SqliteStore.open(str(tmp_path / "store.sqlite3"))
    try:
        async with store.transaction() as db:
            await db.execute("CREATE TABLE t (id INTEGER, label TEXT, data BLOB)")
            await db.execute(
                "INSERT INTO t VALUES (:i, :l, :d), (2, NULL, x'00ff')",
                {"i": 1, "l": "one", "d": b"\x01"},
            )
        async with store.session() as db:
            rows = await db.query("SELECT id, label, data FROM t ORDER BY id")
            assert rows == [
                {"id": 1, "label": "one", "data": b"\x01"},
                {"id": 2, "label": None, "data": b"\x00\xff"},
            ]
            assert await db.query("SELECT id FROM t WHERE id > :n", {"n": 5}) == []
            assert await db.query("SELECT 1 AS x, 2 AS x") == [{"x": 2}]
            returned = await db.query("DELETE FROM t WHERE id = 2 RETURNING label")
            assert returned == [{"label": None}]
            assert await db.query("SELECT count(*) AS n FROM t") == [{"n": 1}]
    finally:
        await store.close()

"""The embedded store's numbered migrations: applied once, in order, recorded in user_version."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

import tools.store.sqlite as sqlite_module
from tools.store.sqlite import MIGRATIONS_DIR, SqliteStore


def user_version(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        return int(conn.execute("PRAGMA user_version").fetchone()[0])


async def test_a_new_database_gets_every_migration_and_reopening_applies_nothing(
    tmp_path: Path,
) -> None:
    latest = max(int(p.name[:4]) for p in MIGRATIONS_DIR.glob("*.sql"))
    path = tmp_path / "store.sqlite3"
    store = await SqliteStore.open(str(path))
    await store.upsert_profile("p1", "teacher", "Ada")
    await store.close()
    assert user_version(path) == latest
    reopened = await SqliteStore.open(str(path))
    try:
        profile = await reopened.get_profile("p1")
        assert profile is not None and profile.display_name == "Ada"
    finally:
        await reopened.close()
    assert user_version(path) == latest


async def test_a_later_migration_runs_on_an_existing_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "store.sqlite3"
    store = await SqliteStore.open(str(path))
    await store.close()
    before = user_version(path)
    extra = tmp_path / "migrations"
    extra.mkdir()
    for existing in MIGRATIONS_DIR.glob("*.sql"):
        (extra / existing.name).write_text(existing.read_text())
    (extra / f"{before + 1:04d}_add_nickname.sql").write_text(
        "ALTER TABLE profiles ADD COLUMN nickname TEXT;"
    )
    monkeypatch.setattr(sqlite_module, "_MIGRATIONS", sorted(extra.glob("*.sql")))
    upgraded = await SqliteStore.open(str(path))
    await upgraded.close()
    assert user_version(path) == before + 1
    with sqlite3.connect(path) as conn:
        columns = {row[1] for row in conn.execute("PRAGMA table_info(profiles)")}
    assert "nickname" in columns

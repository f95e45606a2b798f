"""Persistence behind one interface: SQLite (embedded default) or Postgres (production)."""

from __future__ import annotations

from tools.store.base import ChunkHit, ChunkInput, ClassRecord, Profile, Sandbox, Store


async def open_store(url: str, *, schema: str | None = None) -> Store:
    """Open the store named by `url`: a `postgresql://` URL or a SQLite file path."""
    if url.startswith(("postgresql://", "postgres://")):
        from tools.store.postgres import PostgresStore

        return await PostgresStore.open(url, schema=schema)
    from tools.store.sqlite import SqliteStore

    return await SqliteStore.open(url)


__all__ = ["ChunkHit", "ChunkInput", "ClassRecord", "Profile", "Sandbox", "Store", "open_store"]

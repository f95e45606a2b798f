"""Persistence behind one interface: SQLite (embedded default) or Postgres (production)."""

from __future__ import annotations

from tools.store.base import ChunkHit, ChunkInput, ClassRecord, Profile, Sandbox, Store


async def open_store(
    url: str, *, schema: str | None = None, platform_database: bool = False
) -> Store:
    """Open the store named by `url`: a `postgresql://` URL or a SQLite file path.

    `platform_database`: the URL is the platform's own database (only stemgraph's tables are
    created; the platform's are checked, never touched). Only Postgres can be that.
    """
    if url.startswith(("postgresql://", "postgres://")):
        from tools.store.postgres import PostgresStore

        return await PostgresStore.open(url, schema=schema, platform_database=platform_database)
    if platform_database:
        raise ValueError(
            "STEMGRAPH_PLATFORM_DATABASE needs the platform's Postgres database"
            " (STEMGRAPH_DATABASE_URL), not the embedded SQLite file"
        )
    from tools.store.sqlite import SqliteStore

    return await SqliteStore.open(url)


__all__ = ["ChunkHit", "ChunkInput", "ClassRecord", "Profile", "Sandbox", "Store", "open_store"]

"""What every kind of data shares: sessions, transactions and the two SQL dialects' differences.

Queries are written once with `:name` parameters in the SQL that SQLite 3.35+ and Postgres both
accept; where they differ (JSON, vectors, row locks) a helper here says it for each backend.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, Literal

from tools.store.base import Claims, Params, Row, Session

Backend = Literal["sqlite", "postgres"]


class SqlCore:
    """The connection side of a store; the kinds of data (classes, materials, chat, guests,
    analytics) build their methods on `session()` and `transaction()`."""

    backend: Backend

    def session(self) -> AbstractAsyncContextManager[Session]:
        """A connection for a few reads (autocommit)."""
        raise NotImplementedError

    def transaction(self, *, claims: Claims | None = None) -> AbstractAsyncContextManager[Session]:
        """A connection inside one transaction: everything in it lands, or nothing does."""
        raise NotImplementedError

    async def batch(self, statements: Sequence[tuple[str, Params | None]]) -> list[Sequence[Row]]:
        """`statements` in order in one transaction (each one's rows): for writes that need
        nothing in between, so SQLite can send them in one trip to its thread."""
        async with self.transaction() as db:
            return [await db.query(sql, params) for sql, params in statements]

    async def ping(self) -> None:
        async with self.session() as db:
            await db.query("SELECT 1 AS ok")

    # Dialect helpers: SQL fragments and parameter values as each backend wants them.

    @property
    def for_update(self) -> str:
        """A row lock for a read-then-write (Postgres); SQLite transactions are serial."""
        return " FOR UPDATE" if self.backend == "postgres" else ""

    def json_param(self, name: str) -> str:
        """A JSON parameter as a jsonb value (Postgres) or JSON text (SQLite)."""
        return f"CAST(:{name} AS jsonb)" if self.backend == "postgres" else f":{name}"

    def vector_param(self, name: str) -> str:
        """An embedding parameter: `real[]` (assignable to pgvector's `vector`) or a BLOB."""
        return f"CAST(:{name} AS real[])" if self.backend == "postgres" else f":{name}"

    def vector_value(self, vector: Sequence[float] | None) -> Any:
        if vector is None:
            return None
        return list(vector) if self.backend == "postgres" else pack_vector(vector)

    def vector_column(self, column: str) -> str:
        """An embedding column read back as numbers (`vector` casts to `real[]`)."""
        return f"{column}::real[]" if self.backend == "postgres" else column

    def json_text(self, column: str, key: str) -> str:
        """`column ->> key`: a JSON object's member as text (SQLite 3.38+ has the operator)."""
        return f"{column} ->> '{key}'"


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def loads(value: Any) -> Any:
    """A JSON column's value: jsonb arrives decoded from Postgres, text from SQLite."""
    if isinstance(value, str | bytes):
        return json.loads(value)
    return value


def pack_vector(vector: Sequence[float]) -> bytes:
    """float32 little-endian: 6 KB for a 1536-d embedding."""
    return struct.pack(f"<{len(vector)}f", *vector)


def unpack_vector(value: Any) -> tuple[float, ...]:
    """A stored embedding (SQLite BLOB, or the numbers Postgres returns) as a tuple."""
    if isinstance(value, bytes | bytearray | memoryview):
        blob = bytes(value)
        return struct.unpack(f"<{len(blob) // 4}f", blob)
    return tuple(float(x) for x in value)


def opt(value: Any) -> str | None:
    return None if value is None else str(value)


def is_unique_violation(error: BaseException) -> bool:
    # sqlite3 and psycopg name it differently; both carry the signal in a code or the text.
    if getattr(error, "sqlstate", None) == "23505":
        return True
    return type(error).__name__ == "IntegrityError" and "UNIQUE" in str(error).upper()


def first(rows: Sequence[Row]) -> Mapping[str, Any] | None:
    return rows[0] if rows else None


__all__ = [
    "Backend",
    "Claims",
    "Params",
    "Row",
    "Session",
    "SqlCore",
    "dumps",
    "first",
    "is_unique_violation",
    "loads",
    "opt",
    "pack_vector",
    "unpack_vector",
]

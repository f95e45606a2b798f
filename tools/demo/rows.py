"""One row into one of the platform's tables, columns named as the platform names them."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Final

from tools.store.base import Session

# The tables the demo (and tests of analytics) write rows into; `insert` refuses any other name,
# so no caller text reaches SQL as an identifier.
TABLES: Final = frozenset(
    {
        "profiles",
        "classes",
        "enrollments",
        "guest_sandboxes",
        "stemgraph_guest_accounts",
        "blueprints",
        "topics",
        "objectives",
        "activities",
        "quiz_questions",
        "assignments",
        "assignment_recipients",
        "submissions",
        "class_chat_sessions",
        "class_chat_messages",
    }
)


def _value(value: Any) -> Any:
    """jsonb columns take JSON text (both backends accept it); everything else as it is."""
    return json.dumps(value, ensure_ascii=False) if isinstance(value, dict | list) else value


async def insert(db: Session, table: str, row: Mapping[str, Any]) -> None:
    """Insert `row` into `table` (one of `TABLES`)."""
    if table not in TABLES:
        raise ValueError(f"not a table the demo writes: {table!r}")
    columns = list(row)
    for column in columns:
        if not column.isidentifier():
            raise ValueError(f"not a column name: {column!r}")
    await db.execute(
        f"INSERT INTO {table} ({', '.join(columns)})"
        f" VALUES ({', '.join(':' + c for c in columns)})",
        {c: _value(row[c]) for c in columns},
    )

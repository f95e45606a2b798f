"""The stored insights of a class (the platform's `class_insights_snapshots`), one row per
class."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from tools.analytics.insights import upgrade_payload
from tools.clock import normalise_iso, parse_iso, to_iso, utc_now
from tools.store.sql import SqlStore


async def get_insights_snapshot(
    store: SqlStore, class_id: str
) -> tuple[dict[str, Any], datetime] | None:
    """The class's last stored payload and when it was generated, or None."""
    async with store.session() as db:
        rows = await db.query(
            "SELECT payload, generated_at FROM class_insights_snapshots WHERE class_id = :c",
            {"c": class_id},
        )
    if not rows:
        return None
    raw = rows[0]["payload"]
    payload = json.loads(raw) if isinstance(raw, str | bytes) else raw
    generated = normalise_iso(rows[0]["generated_at"])
    if not isinstance(payload, dict) or generated is None:
        return None
    return upgrade_payload(dict(payload)), parse_iso(generated)


def _generated_at(payload: dict[str, Any]) -> str:
    """The payload's own `generated_at` (the snapshot's age is the numbers' age), else now."""
    stamp = payload.get("generated_at")
    if isinstance(stamp, str):
        try:
            return to_iso(parse_iso(stamp))
        except ValueError:
            pass
    return to_iso(utc_now())


async def put_insights_snapshot(store: SqlStore, class_id: str, payload: dict[str, Any]) -> None:
    """Store (or replace) the class's snapshot."""
    async with store.transaction() as db:
        await db.execute(
            "INSERT INTO class_insights_snapshots (class_id, payload, generated_at)"
            " VALUES (:c, :p, :at) ON CONFLICT (class_id) DO UPDATE"
            " SET payload = excluded.payload, generated_at = excluded.generated_at",
            {"c": class_id, "p": json.dumps(payload), "at": _generated_at(payload)},
        )

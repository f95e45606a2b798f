"""The analytics snapshots on the platform's `class_insights_snapshots` and
`class_teaching_brief_snapshots` (one row per class each). The numbers themselves are computed
by `tools/analytics` over `session()`; the teaching brief's status machine is
`tools/analytics/brief_store.py`, built on the row operations here."""

from __future__ import annotations

from typing import Any

from tools.clock import normalise_iso
from tools.store.core import Row, SqlCore, dumps, loads

_BRIEF_COLUMNS = "class_id, status, payload, generated_at, error_message, updated_at"


class AnalyticsData(SqlCore):
    async def get_insights_snapshot(self, class_id: str) -> tuple[dict[str, Any], str] | None:
        """The class's stored insights payload and its `generated_at` (ISO), or None."""
        async with self.session() as db:
            rows = await db.query(
                "SELECT payload, generated_at FROM class_insights_snapshots WHERE class_id = :c",
                {"c": class_id},
            )
        if not rows:
            return None
        payload = loads(rows[0]["payload"])
        generated = normalise_iso(rows[0]["generated_at"])
        if not isinstance(payload, dict) or generated is None:
            return None
        return dict(payload), generated

    async def put_insights_snapshot(
        self, class_id: str, payload: dict[str, Any], *, generated_at: str
    ) -> None:
        """Store (or replace) the class's insights, as the platform's backend upserts them."""
        async with self.transaction() as db:
            await db.execute(
                "INSERT INTO class_insights_snapshots (class_id, payload, generated_at)"
                f" VALUES (:c, {self.json_param('p')}, :at) ON CONFLICT (class_id) DO UPDATE"
                " SET payload = excluded.payload, generated_at = excluded.generated_at",
                {"c": class_id, "p": dumps(payload), "at": generated_at},
            )

    async def brief_row(self, class_id: str) -> dict[str, Any] | None:
        async with self.session() as db:
            rows = await db.query(
                f"SELECT {_BRIEF_COLUMNS} FROM class_teaching_brief_snapshots WHERE class_id = :c",
                {"c": class_id},
            )
        return brief_row(rows[0]) if rows else None

    async def claim_brief(self, class_id: str, *, now: str, stale: str) -> bool:
        """Move the row to `generating` (creating it) unless a refresh started after `stale`
        holds it: one conditional upsert, so exactly one concurrent caller wins. A
        `generating` row's `updated_at` is when its refresh started."""
        async with self.transaction() as db:
            rows = await db.query(
                "INSERT INTO class_teaching_brief_snapshots (class_id, status, payload,"
                " generated_at, updated_at) VALUES (:c, 'generating', NULL, :now, :now)"
                " ON CONFLICT (class_id) DO UPDATE SET status = 'generating',"
                " updated_at = excluded.updated_at"
                " WHERE class_teaching_brief_snapshots.status <> 'generating'"
                " OR class_teaching_brief_snapshots.updated_at < :stale"
                " RETURNING class_id",
                {"c": class_id, "now": now, "stale": stale},
            )
        return bool(rows)

    async def settle_brief(
        self, class_id: str, status: str, payload: dict[str, Any] | None, *, now: str
    ) -> dict[str, Any]:
        """Store a finished refresh (`ready` or `no_data`), generated `now`."""
        async with self.transaction() as db:
            rows = await db.query(
                "INSERT INTO class_teaching_brief_snapshots (class_id, status, payload,"
                f" generated_at, error_message, updated_at) VALUES (:c, :status,"
                f" {self.json_param('payload')}, :now, NULL, :now)"
                " ON CONFLICT (class_id) DO UPDATE SET status = excluded.status,"
                " payload = excluded.payload, generated_at = excluded.generated_at,"
                " error_message = NULL, updated_at = excluded.updated_at"
                f" RETURNING {_BRIEF_COLUMNS}",
                {
                    "c": class_id,
                    "status": status,
                    "payload": dumps(payload) if payload is not None else None,
                    "now": now,
                },
            )
        return brief_row(rows[0])

    async def fail_brief(self, class_id: str, message: str, *, now: str) -> dict[str, Any] | None:
        """A refresh in progress ends as `error`, keeping the previous payload; with no row at
        all an `error` row without payload is written."""
        async with self.transaction() as db:
            await db.execute(
                "INSERT INTO class_teaching_brief_snapshots (class_id, status, payload,"
                " generated_at, error_message, updated_at) VALUES (:c, 'error', NULL, :now,"
                " :e, :now) ON CONFLICT (class_id) DO UPDATE SET status = 'error',"
                " error_message = excluded.error_message, updated_at = excluded.updated_at"
                " WHERE class_teaching_brief_snapshots.status = 'generating'",
                {"c": class_id, "e": message, "now": now},
            )
            rows = await db.query(
                f"SELECT {_BRIEF_COLUMNS} FROM class_teaching_brief_snapshots WHERE class_id = :c",
                {"c": class_id},
            )
        return brief_row(rows[0]) if rows else None


def brief_row(row: Row) -> dict[str, Any]:
    """A stored brief row with both backends' types made the same. The platform's table has
    no `has_evidence` or refresh start: a brief has evidence when it has a payload (a `ready`
    brief always does, `no_data` never), and a `generating` row's `updated_at` is when its
    refresh started. A row that never had a payload reports no `generated_at`, except
    `no_data`, which was generated then."""
    payload = loads(row["payload"])
    status = str(row["status"])
    has_payload = payload is not None
    return {
        "class_id": str(row["class_id"]),
        "status": status,
        "payload": dict(payload) if has_payload else None,
        "generated_at": normalise_iso(row["generated_at"])
        if has_payload or status == "no_data"
        else None,
        "has_evidence": has_payload,
        "error_message": row["error_message"],
        "refresh_started_at": normalise_iso(row["updated_at"]) if status == "generating" else None,
        "updated_at": normalise_iso(row["updated_at"]),
    }

"""The teaching brief's status machine over the platform's `class_teaching_brief_snapshots`
(one row per class).

    (no row) --begin_refresh--> generating --finish_refresh--> ready
                                           --mark_no_data---> no_data
                                           --fail_refresh---> error (previous payload kept)
    ready | no_data | error --begin_refresh--> generating

`begin_refresh` is the only way into `generating` and is one atomic statement: an upsert whose
DO UPDATE applies only while the row is not `generating` (or its refresh started, `updated_at`,
longer ago than the stale limit, so a crashed refresh cannot block the class forever). RETURNING
tells the caller whether its statement took the row. On Postgres, concurrent upserts of one key
serialise on the row lock (or the unique index for a first insert) and each re-checks the WHERE
against the latest committed row, so exactly one caller gets a row back. On SQLite, writers
serialise on the database write lock (`BEGIN IMMEDIATE`, and one connection per store
in-process).

The platform's table has no column for whether the brief rests on evidence or when a refresh
started, so both are read from what it has: a brief has evidence exactly when a payload is
stored (a `no_data` row drops it, a failed refresh keeps the previous one), and a `generating`
row's `updated_at` is when its refresh started. `generated_at` (NOT NULL on the platform) is
reported only once a brief or a `no_data` verdict exists.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any, Final

from tools.clock import normalise_iso, parse_iso, to_iso, utc_now
from tools.store.sql import Row, SqlStore

TABLE: Final = "class_teaching_brief_snapshots"
_COLUMNS: Final = "class_id, status, payload, generated_at, error_message, updated_at"
_MAX_ERROR: Final = 2000


def _row(row: Row) -> dict[str, Any]:
    """A stored row with both backends' types made the same (JSON decoded, ISO timestamps)."""
    payload = row["payload"]
    if isinstance(payload, str | bytes):
        payload = json.loads(payload)
    status = str(row["status"])
    updated_at = normalise_iso(row["updated_at"])
    produced = payload is not None or status == "no_data"
    return {
        "class_id": str(row["class_id"]),
        "status": status,
        "payload": dict(payload) if payload is not None else None,
        "generated_at": normalise_iso(row["generated_at"]) if produced else None,
        "has_evidence": payload is not None,
        "error_message": row["error_message"],
        "refresh_started_at": updated_at if status == "generating" else None,
        "updated_at": updated_at,
    }


def _iso(now: datetime | None) -> str:
    return to_iso(now or utc_now())


async def read_brief(store: SqlStore, class_id: str) -> dict[str, Any] | None:
    """The class's snapshot row, or None when no brief was ever requested."""
    async with store.session() as db:
        rows = await db.query(
            f"SELECT {_COLUMNS} FROM {TABLE} WHERE class_id = :c", {"c": class_id}
        )
    return _row(rows[0]) if rows else None


async def begin_refresh(
    store: SqlStore,
    class_id: str,
    *,
    stale_after_seconds: float = 300,
    now: datetime | None = None,
) -> bool:
    """Move the row to `generating`; True for exactly one of any number of concurrent callers.

    False while another refresh is under way (started less than `stale_after_seconds` ago).
    The previous payload and generated_at stay as they were.
    """
    moment = now or utc_now()
    async with store.transaction() as db:
        rows = await db.query(
            f"INSERT INTO {TABLE} (class_id, status, generated_at, updated_at)"
            " VALUES (:c, 'generating', :now, :now)"
            " ON CONFLICT (class_id) DO UPDATE SET status = 'generating',"
            " updated_at = excluded.updated_at"
            f" WHERE {TABLE}.status <> 'generating' OR {TABLE}.updated_at < :stale"
            " RETURNING class_id",
            {
                "c": class_id,
                "now": to_iso(moment),
                "stale": to_iso(moment - timedelta(seconds=stale_after_seconds)),
            },
        )
    return bool(rows)


async def _finish(
    store: SqlStore,
    class_id: str,
    status: str,
    payload: Mapping[str, Any] | None,
    *,
    now: datetime | None,
) -> dict[str, Any]:
    async with store.transaction() as db:
        rows = await db.query(
            f"INSERT INTO {TABLE} (class_id, status, payload, generated_at, error_message,"
            " updated_at) VALUES (:c, :status, :payload, :now, NULL, :now)"
            " ON CONFLICT (class_id) DO UPDATE SET status = excluded.status,"
            " payload = excluded.payload, generated_at = excluded.generated_at,"
            f" error_message = NULL, updated_at = excluded.updated_at RETURNING {_COLUMNS}",
            {
                "c": class_id,
                "status": status,
                "payload": json.dumps(payload, ensure_ascii=False) if payload is not None else None,
                "now": _iso(now),
            },
        )
    return _row(rows[0])


async def finish_refresh(
    store: SqlStore,
    class_id: str,
    payload: Mapping[str, Any],
    *,
    has_evidence: bool,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Store a freshly built brief: `ready`, generated now. Returns the row.

    A brief is only ever built from evidence (a class without any is `mark_no_data`), so
    `has_evidence` must be True."""
    if not has_evidence:
        raise ValueError("a ready brief rests on evidence; use mark_no_data without any")
    return await _finish(store, class_id, "ready", payload, now=now)


async def mark_no_data(
    store: SqlStore, class_id: str, *, now: datetime | None = None
) -> dict[str, Any]:
    """The class has no evidence (no submissions, no chat): `no_data`, no payload."""
    return await _finish(store, class_id, "no_data", None, now=now)


async def fail_refresh(
    store: SqlStore, class_id: str, message: str, *, now: datetime | None = None
) -> dict[str, Any] | None:
    """End a refresh in progress as `error`, keeping the previous payload and generated_at.

    Only a `generating` row changes (a refresh that finished meanwhile, e.g. after taking a
    stale one over, keeps its result); with no row at all an `error` row without payload is
    written. Returns the row as it now is.
    """
    async with store.transaction() as db:
        await db.execute(
            f"INSERT INTO {TABLE} (class_id, status, error_message, generated_at, updated_at)"
            " VALUES (:c, 'error', :e, :now, :now)"
            " ON CONFLICT (class_id) DO UPDATE SET status = 'error',"
            " error_message = excluded.error_message, updated_at = excluded.updated_at"
            f" WHERE {TABLE}.status = 'generating'",
            {"c": class_id, "e": message[:_MAX_ERROR], "now": _iso(now)},
        )
        rows = await db.query(
            f"SELECT {_COLUMNS} FROM {TABLE} WHERE class_id = :c", {"c": class_id}
        )
    return _row(rows[0]) if rows else None


def _utc_date(iso: str) -> date:
    return parse_iso(iso).astimezone(UTC).date()


def brief_response(row: Mapping[str, Any] | None, *, today: date | None = None) -> dict[str, Any]:
    """The contract's `{status, is_stale, payload, generated_at, has_evidence, error_message?}`.

    No row is `empty`. A brief is stale when it was generated on an earlier UTC date than
    `today` (default: the current UTC date); `error_message` is present only with `error`.
    """
    if row is None:
        return {
            "status": "empty",
            "is_stale": False,
            "payload": None,
            "generated_at": None,
            "has_evidence": False,
        }
    current = today or utc_now().date()
    generated_at = row.get("generated_at")
    response: dict[str, Any] = {
        "status": row["status"],
        "is_stale": generated_at is not None and _utc_date(generated_at) < current,
        "payload": row.get("payload"),
        "generated_at": generated_at,
        "has_evidence": bool(row.get("has_evidence")),
    }
    if row["status"] == "error":
        response["error_message"] = row.get("error_message") or "The teaching brief failed."
    return response

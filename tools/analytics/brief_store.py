"""The teaching brief's status machine over `class_teaching_brief_snapshots` (one row per class).

    (no row) --begin_refresh--> generating --finish_refresh--> ready
                                           --mark_no_data---> no_data
                                           --fail_refresh---> error (previous payload kept)
    ready | no_data | error --begin_refresh--> generating

`begin_refresh` is the only way into `generating` and is one atomic statement: an upsert whose
DO UPDATE applies only while the row is not `generating` (or its refresh started longer ago
than the stale limit, so a crashed refresh cannot block the class forever). RETURNING tells the
caller whether its statement took the row. On Postgres, concurrent upserts of one key serialise
on the row lock (or the unique index for a first insert) and each re-checks the WHERE against
the latest committed row, so exactly one caller gets a row back. On SQLite, writers serialise
on the database write lock (`BEGIN IMMEDIATE`, and one connection per store in-process).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any

from tools.clock import parse_iso, to_iso, utc_now
from tools.store.base import Store

_MAX_ERROR = 2000


def _iso(now: datetime | None) -> str:
    return to_iso(now or utc_now())


async def read_brief(store: Store, class_id: str) -> dict[str, Any] | None:
    """The class's snapshot row, or None when no brief was ever requested."""
    return await store.brief_row(class_id)


async def begin_refresh(
    store: Store,
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
    return await store.claim_brief(
        class_id,
        now=to_iso(moment),
        stale=to_iso(moment - timedelta(seconds=stale_after_seconds)),
    )


async def finish_refresh(
    store: Store,
    class_id: str,
    payload: Mapping[str, Any],
    *,
    has_evidence: bool,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Store a freshly built brief: `ready`, generated now. Returns the row. A ready brief
    always rests on evidence (`has_evidence` is what the row then reports)."""
    del has_evidence
    return await store.settle_brief(class_id, "ready", dict(payload), now=_iso(now))


async def mark_no_data(
    store: Store, class_id: str, *, now: datetime | None = None
) -> dict[str, Any]:
    """The class has no evidence (no submissions, no chat): `no_data`, no payload."""
    return await store.settle_brief(class_id, "no_data", None, now=_iso(now))


async def fail_refresh(
    store: Store, class_id: str, message: str, *, now: datetime | None = None
) -> dict[str, Any] | None:
    """End a refresh in progress as `error`, keeping the previous payload and generated_at.

    Only a `generating` row changes (a refresh that finished meanwhile, e.g. after taking a
    stale one over, keeps its result); with no row at all an `error` row without payload is
    written. Returns the row as it now is.
    """
    return await store.fail_brief(class_id, message[:_MAX_ERROR], now=_iso(now))


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

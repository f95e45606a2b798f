"""The stored insights of a class (`class_insights_snapshots`), one row per class."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tools.analytics.insights import upgrade_payload
from tools.clock import parse_iso, to_iso, utc_now
from tools.store.base import Store


async def get_insights_snapshot(
    store: Store, class_id: str
) -> tuple[dict[str, Any], datetime] | None:
    """The class's last stored payload and when it was generated, or None."""
    found = await store.get_insights_snapshot(class_id)
    if found is None:
        return None
    payload, generated = found
    return upgrade_payload(payload), parse_iso(generated)


def _generated_at(payload: dict[str, Any]) -> str:
    """The payload's own `generated_at` (the snapshot's age is the numbers' age), else now."""
    stamp = payload.get("generated_at")
    if isinstance(stamp, str):
        try:
            return to_iso(parse_iso(stamp))
        except ValueError:
            pass
    return to_iso(utc_now())


async def put_insights_snapshot(store: Store, class_id: str, payload: dict[str, Any]) -> None:
    """Store (or replace) the class's snapshot."""
    await store.put_insights_snapshot(class_id, payload, generated_at=_generated_at(payload))

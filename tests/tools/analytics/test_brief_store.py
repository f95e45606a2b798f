"""The teaching brief's status machine on both backends, including racing refreshes."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import drop_schema, fresh_schema_name, postgres_url_or_skip
from tools.analytics.brief_store import (
    begin_refresh,
    brief_response,
    fail_refresh,
    finish_refresh,
    mark_no_data,
    read_brief,
)
from tools.clock import utc_now
from tools.store import open_store
from tools.store.base import Store

BRIEF: dict[str, Any] = {"summary": "Energy needs work.", "attention_items": ["Energy: avg 54%"]}
OTHER: dict[str, Any] = {"summary": "Waves are fine now.", "attention_items": []}


async def new_class(store: Store) -> str:
    teacher, class_id = str(uuid.uuid4()), str(uuid.uuid4())
    await store.upsert_profile(teacher, "teacher", "T")
    await store.create_class(
        class_id=class_id, owner_id=teacher, title="Physics", join_code=uuid.uuid4().hex[:8]
    )
    return class_id


async def test_no_row_is_empty(store: Store) -> None:
    class_id = await new_class(store)
    assert await read_brief(store, class_id) is None
    assert brief_response(None) == {
        "status": "empty",
        "is_stale": False,
        "payload": None,
        "generated_at": None,
        "has_evidence": False,
    }


async def test_refresh_to_ready_then_refresh_again_keeps_the_payload_while_generating(
    store: Store,
) -> None:
    class_id = await new_class(store)
    assert await begin_refresh(store, class_id) is True
    row = await read_brief(store, class_id)
    assert row is not None
    assert (row["status"], row["payload"], row["generated_at"]) == ("generating", None, None)
    assert row["refresh_started_at"] is not None
    assert brief_response(row)["status"] == "generating"
    assert await begin_refresh(store, class_id) is False

    ready = await finish_refresh(store, class_id, BRIEF, has_evidence=True)
    assert ready["status"] == "ready" and ready["payload"] == BRIEF
    assert ready["has_evidence"] is True and ready["refresh_started_at"] is None
    assert await read_brief(store, class_id) == ready
    response = brief_response(ready)
    assert response == {
        "status": "ready",
        "is_stale": False,
        "payload": BRIEF,
        "generated_at": ready["generated_at"],
        "has_evidence": True,
    }

    assert await begin_refresh(store, class_id) is True
    again = await read_brief(store, class_id)
    assert again is not None and again["status"] == "generating"
    assert (again["payload"], again["generated_at"]) == (BRIEF, ready["generated_at"])
    newer = await finish_refresh(store, class_id, OTHER, has_evidence=True)
    assert newer["payload"] == OTHER and newer["generated_at"] >= ready["generated_at"]


async def test_a_failed_refresh_keeps_the_previous_payload(store: Store) -> None:
    class_id = await new_class(store)
    await begin_refresh(store, class_id)
    ready = await finish_refresh(store, class_id, BRIEF, has_evidence=True)
    assert await begin_refresh(store, class_id) is True
    failed = await fail_refresh(store, class_id, "The model broke the rules.")
    assert failed is not None
    assert failed["status"] == "error" and failed["error_message"] == "The model broke the rules."
    assert (failed["payload"], failed["generated_at"]) == (BRIEF, ready["generated_at"])
    assert failed["has_evidence"] is True and failed["refresh_started_at"] is None
    response = brief_response(failed)
    assert response["status"] == "error" and response["payload"] == BRIEF
    assert response["error_message"] == "The model broke the rules."
    # An error is not a refresh in progress: the next refresh may start, and clears it.
    assert await begin_refresh(store, class_id) is True
    recovered = await finish_refresh(store, class_id, OTHER, has_evidence=True)
    assert recovered["status"] == "ready" and recovered["error_message"] is None


async def test_failing_leaves_a_finished_row_alone_and_creates_a_missing_one(
    store: Store,
) -> None:
    class_id = await new_class(store)
    await begin_refresh(store, class_id)
    ready = await finish_refresh(store, class_id, BRIEF, has_evidence=True)
    assert await fail_refresh(store, class_id, "late failure") == ready

    other = await new_class(store)
    failed = await fail_refresh(store, other, "x" * 5000)
    assert failed is not None and failed["status"] == "error" and failed["payload"] is None
    assert len(failed["error_message"]) == 2000


async def test_no_data_drops_the_payload(store: Store) -> None:
    class_id = await new_class(store)
    await begin_refresh(store, class_id)
    await finish_refresh(store, class_id, BRIEF, has_evidence=True)
    await begin_refresh(store, class_id)
    row = await mark_no_data(store, class_id)
    assert (row["status"], row["payload"], row["has_evidence"]) == ("no_data", None, False)
    assert row["generated_at"] is not None
    response = brief_response(row)
    assert response["status"] == "no_data" and "error_message" not in response


async def test_a_brief_goes_stale_when_the_utc_date_changes(store: Store) -> None:
    class_id = await new_class(store)
    late = datetime(2026, 11, 20, 23, 59, 30, tzinfo=UTC)
    await begin_refresh(store, class_id, now=late - timedelta(seconds=20))
    row = await finish_refresh(store, class_id, BRIEF, has_evidence=True, now=late)
    assert row["generated_at"] == "2026-11-20T23:59:30.000000Z"
    assert brief_response(row, today=date(2026, 11, 20))["is_stale"] is False
    assert brief_response(row, today=date(2026, 11, 21))["is_stale"] is True
    # Local offsets do not matter: 01:00 in UTC+2 on the 21st is still the 20th in UTC.
    ahead = {**row, "generated_at": "2026-11-21T01:00:00+02:00"}
    assert brief_response(ahead, today=date(2026, 11, 20))["is_stale"] is False
    # A stale brief stays stale while its refresh runs, and after a refresh fails.
    await begin_refresh(store, class_id)
    failed = await fail_refresh(store, class_id, "no")
    assert brief_response(failed, today=date(2026, 11, 21))["is_stale"] is True


async def test_a_stuck_refresh_can_be_taken_over_after_the_stale_limit(store: Store) -> None:
    class_id = await new_class(store)
    assert await begin_refresh(store, class_id, now=utc_now() - timedelta(seconds=301)) is True
    assert await begin_refresh(store, class_id, stale_after_seconds=600) is False
    assert await begin_refresh(store, class_id, stale_after_seconds=300) is True
    # The takeover is a fresh refresh: it is not stale itself.
    assert await begin_refresh(store, class_id, stale_after_seconds=300) is False
    row = await read_brief(store, class_id)
    assert row is not None and row["status"] == "generating"


@pytest.fixture
async def stores(backend: str, tmp_path: Path) -> AsyncIterator[list[Store]]:
    """Eight stores on one database, each with its own connection (Postgres: its own pool)."""
    opened: list[Any] = []
    schema = fresh_schema_name()
    url = str(tmp_path / "shared.sqlite3") if backend == "sqlite" else postgres_url_or_skip()
    try:
        for _ in range(8):
            opened.append(await open_store(url, schema=schema))
        yield opened
    finally:
        for each in opened:
            await each.close()
        if backend == "postgres":
            await drop_schema(url, schema)


async def test_parallel_refreshes_from_separate_stores_have_exactly_one_winner(
    stores: list[Store],
) -> None:
    class_id = await new_class(stores[0])
    for _ in range(3):
        wins = await asyncio.gather(*(begin_refresh(each, class_id) for each in stores))
        assert sorted(wins) == [False] * 7 + [True]
        row = await read_brief(stores[0], class_id)
        assert row is not None and row["status"] == "generating"
        await finish_refresh(stores[3], class_id, BRIEF, has_evidence=True)


async def test_parallel_refreshes_on_one_store_have_exactly_one_winner(store: Store) -> None:
    class_id = await new_class(store)
    wins = await asyncio.gather(*(begin_refresh(store, class_id) for _ in range(8)))
    assert wins.count(True) == 1
    await fail_refresh(store, class_id, "failed")
    wins = await asyncio.gather(*(begin_refresh(store, class_id) for _ in range(8)))
    assert wins.count(True) == 1

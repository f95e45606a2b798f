"""A run whose lease another process took (after a stall here) is that process's: the holder
here stops it and records nothing, through the official Python client on both backends."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from server.protocol.replay import now_ms
from tests.fakes import SlowChatModel
from tests.server.conftest import Serve, only
from tests.server.protocol.conftest import Sdk
from tools.store import open_store

pytestmark = pytest.mark.live
ASK = {"user": "What is a newton?", "system": ""}


async def _take_over(url: str, schema: str | None, run_id: str) -> None:
    """What another process's sweep and claim do to the queue row: the run is its own now."""
    store = await open_store(url, schema=schema)
    try:
        async with store.session() as db:
            await db.execute(
                "UPDATE stemgraph_run_queue SET worker_id = 'another-process',"
                " lease_expires_at = :until WHERE run_id = :r",
                {"until": now_ms(600), "r": run_id},
            )
    finally:
        await store.close()


async def test_a_run_taken_over_elsewhere_is_left_to_the_new_holder(serve: Serve, sdk: Sdk) -> None:
    with serve(chat=only(SlowChatModel(delay_s=30, reply="late")), run_lease_seconds=1.2) as api:
        client = sdk(api)
        thread = await client.threads.create()
        tid = thread["thread_id"]
        run = await client.runs.create(tid, "llm", input=ASK)
        run_id = run["run_id"]

        async def run_status() -> Any:
            return (await client.runs.get(tid, run_id))["status"]

        async with asyncio.timeout(10):
            while await run_status() != "running":
                await asyncio.sleep(0.05)
        settings = api.settings
        await _take_over(settings.resolved_database_url, settings.database_schema, run_id)
        # The holder here sees it at its next heartbeats (every 0.4 s) and stops its copy of
        # the run, without calling it `interrupted`: the new holder runs it and records it.
        await asyncio.sleep(3)
        assert await run_status() == "running"
        assert (await client.threads.get(tid))["status"] == "busy"

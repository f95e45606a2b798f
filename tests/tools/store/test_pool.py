"""The Postgres pool honours a cancel that arrives as a connection is handed over (real
Postgres): Python 3.11's `asyncio.wait_for` drops such a cancel, and psycopg_pool waits with it."""

from __future__ import annotations

import asyncio
import sys
from typing import Any

import pytest
from psycopg_pool import AsyncConnectionPool

from tests.conftest import postgres_url_or_skip
from tools.store.pool import CancelSafePool

pytestmark = pytest.mark.postgres

# How many loop iterations after the hand-over to cancel at: the race's window is a few.
STEPS = 12


async def _outcomes(pool: AsyncConnectionPool[Any]) -> list[str]:
    """For each step count: hold the pool's only connection, let a second task wait for it,
    hand it over, cancel the waiter that many iterations later; how the waiter ended."""
    outcomes = []
    for steps in range(STEPS):
        held = await pool.getconn()
        waiter = asyncio.create_task(pool.getconn(timeout=10))
        await asyncio.sleep(0.05)  # the waiter is queued for the connection
        await pool.putconn(held)
        for _ in range(steps):
            await asyncio.sleep(0)
        if not waiter.cancel():  # it already had the connection: nothing to cancel
            outcomes.append("done first")
            await pool.putconn(await waiter)
            continue
        try:
            conn = await waiter
        except asyncio.CancelledError:
            outcomes.append("cancelled")
        else:
            outcomes.append("cancel lost")
            await pool.putconn(conn)
    return outcomes


async def test_a_cancel_at_the_hand_over_is_never_lost() -> None:
    async with CancelSafePool(postgres_url_or_skip(), min_size=1, max_size=1, open=False) as pool:
        outcomes = await _outcomes(pool)
        assert "cancel lost" not in outcomes
        assert outcomes[0] == "cancelled" and outcomes[-1] == "done first", outcomes
        # Every connection went back: the pool still serves.
        async with pool.connection(timeout=5) as conn:
            assert (await (await conn.execute("SELECT 1")).fetchone()) == (1,)
        assert pool.get_stats()["pool_available"] == 1


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="asyncio.wait_for keeps cancels from 3.12")
async def test_the_stock_pool_loses_it_on_this_python() -> None:
    # Why `CancelSafePool` exists: the same sequence on psycopg_pool's own pool loses a cancel
    # (the run it belonged to went on for as long as its model took). When this fails, psycopg_pool
    # or Python stopped losing it, and `CancelSafePool` can go.
    async with AsyncConnectionPool(
        postgres_url_or_skip(), min_size=1, max_size=1, open=False
    ) as pool:
        outcomes = await _outcomes(pool)
    assert "cancel lost" in outcomes

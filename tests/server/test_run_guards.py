"""Run guards (`server/streaming.py`): a tripped guard cancels the run and raises its error; a
heartbeat tolerates a passing failure but not a lost lease."""

from __future__ import annotations

import asyncio

import pytest

from server.errors import ApiError
from server.shutdown import Shutdown
from server.streaming import Heartbeat, supervise

LOST = ApiError(409, "session_busy", "Lost.")


async def test_work_that_ends_first_returns_and_stops_its_guards() -> None:
    watched = asyncio.Event()

    async def guard() -> None:
        try:
            await asyncio.sleep(60)
        finally:
            watched.set()

    async def work() -> str:
        await asyncio.sleep(0.01)
        return "done"

    assert await supervise(work(), [guard]) == "done"
    assert watched.is_set()


async def test_a_tripped_guard_cancels_the_work_and_raises_its_error() -> None:
    cancelled = asyncio.Event()

    async def work() -> None:
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    shutdown = Shutdown(grace_seconds=0.05)
    shutdown.begin()
    with pytest.raises(ApiError) as caught:
        await supervise(work(), [shutdown.stop_runs])
    assert caught.value.code == "server_shutting_down" and caught.value.status == 503
    assert cancelled.is_set()


async def test_the_shutdown_guard_waits_for_the_drain_and_its_grace_period() -> None:
    shutdown = Shutdown(grace_seconds=0.2)

    async def work() -> str:
        await asyncio.sleep(0.3)
        return "finished in time"

    # No drain: the work runs to its end.
    assert await supervise(work(), [shutdown.stop_runs]) == "finished in time"
    loop = asyncio.get_running_loop()
    began = loop.time()
    shutdown.begin()
    with pytest.raises(ApiError):
        await supervise(asyncio.sleep(60), [shutdown.stop_runs])
    assert 0.15 <= loop.time() - began < 1


async def test_a_heartbeat_ends_the_run_when_its_lease_is_lost() -> None:
    renewals: list[int] = []

    async def renew() -> bool:
        renewals.append(1)
        return len(renewals) < 3

    beat = Heartbeat(renew=renew, interval=0.01, expires_after=1, lost=LOST)
    with pytest.raises(ApiError) as caught:
        await supervise(asyncio.sleep(60), [beat.keep])
    assert caught.value is LOST and len(renewals) == 3


async def test_a_heartbeat_rides_out_failures_shorter_than_the_lease() -> None:
    outcomes = iter([ConnectionError("blip"), True, ConnectionError("blip"), True])

    async def renew() -> bool:
        outcome = next(outcomes, True)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    beat = Heartbeat(renew=renew, interval=0.01, expires_after=1, lost=LOST)

    async def work() -> str:
        await asyncio.sleep(0.15)
        return "kept"

    assert await supervise(work(), [beat.keep]) == "kept"


async def test_a_heartbeat_gives_up_once_failures_outlast_the_lease() -> None:
    async def renew() -> bool:
        raise ConnectionError("database gone")

    beat = Heartbeat(renew=renew, interval=0.02, expires_after=0.1, lost=LOST)
    with pytest.raises(ApiError) as caught:
        await supervise(asyncio.sleep(60), [beat.keep])
    assert caught.value is LOST

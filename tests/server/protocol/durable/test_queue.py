"""The durable run queue on both backends: claims (one holder per run, one running run per
thread, oldest first, exclusive across connections), leases, cancels and the sweeper."""

from __future__ import annotations

import asyncio
import uuid

from server.protocol.queue import RunQueue
from tests.server.protocol.durable.conftest import Database


async def queue_on(database: Database, **options: float) -> RunQueue:
    """A queue over its own connections, as one server process has it."""
    return RunQueue(await database.open(), await database.wakeups(), **options)  # type: ignore[arg-type]


def new_id() -> str:
    return str(uuid.uuid4())


async def test_a_claimed_run_is_leased_to_one_worker_until_it_finishes(database: Database) -> None:
    queue = await queue_on(database)
    run, thread = new_id(), new_id()
    await queue.enqueue(run, thread, {"input": {"topic": "waves"}})
    pending = await queue.get(run)
    assert pending is not None and pending.status == "pending" and pending.worker_id is None

    claimed = await queue.claim("w1")
    assert claimed is not None
    assert (claimed.run_id, claimed.thread_id) == (run, thread)
    assert claimed.payload == {"input": {"topic": "waves"}}
    assert (claimed.status, claimed.worker_id, claimed.attempts) == ("running", "w1", 1)
    assert not claimed.resumed
    assert await queue.claim("w2") is None

    # Only the holder records the outcome.
    assert not await queue.finish(run, "w2", "success")
    assert await queue.finish(run, "w1", "success")
    done = await queue.get(run)
    assert done is not None and (done.status, done.worker_id) == ("success", None)
    assert not await queue.finish(run, "w1", "error")
    assert await queue.get(new_id()) is None


async def test_runs_start_oldest_first_and_one_at_a_time_per_thread(database: Database) -> None:
    queue = await queue_on(database)
    busy, other = new_id(), new_id()
    first, second, third = new_id(), new_id(), new_id()
    await queue.enqueue(first, busy, {})
    await queue.enqueue(second, busy, {})
    await queue.enqueue(third, other, {})

    assert (await queue.claim("w")) is not None  # first
    claimed = await queue.claim("w")
    assert claimed is not None and claimed.run_id == third  # second waits for first
    assert await queue.claim("w") is None
    assert await queue.finish(first, "w", "success")
    claimed = await queue.claim("w")
    assert claimed is not None and claimed.run_id == second


async def test_two_connections_never_claim_the_same_run(database: Database) -> None:
    queues = [await queue_on(database), await queue_on(database)]
    shared = new_id()
    runs = [new_id() for _ in range(12)]
    for run in runs:
        await queues[0].enqueue(run, new_id(), {})
    same_thread = [new_id() for _ in range(4)]
    for run in same_thread:
        await queues[0].enqueue(run, shared, {})

    async def claim_all(queue: RunQueue, worker: str) -> list[str]:
        taken = []
        misses = 0
        while misses < 3:
            claimed = await queue.claim(worker)
            if claimed is None:
                misses += 1
                continue
            taken.append(claimed.run_id)
        return taken

    first, second = await asyncio.gather(claim_all(queues[0], "a"), claim_all(queues[1], "b"))
    assert not set(first) & set(second)
    # Every run on its own thread, and only the oldest of the shared thread (its others wait).
    assert sorted(first + second) == sorted([*runs, same_thread[0]])
    for run in [*runs, same_thread[0]]:
        held = await queues[1].get(run)
        assert held is not None and held.status == "running"
        assert held.worker_id == ("a" if run in first else "b")


async def test_heartbeats_renew_the_lease_and_carry_cancel_requests(database: Database) -> None:
    queue = await queue_on(database, lease_seconds=5)
    run = new_id()
    await queue.enqueue(run, new_id(), {})
    claimed = await queue.claim("w")
    assert claimed is not None and claimed.lease_expires_at is not None
    await asyncio.sleep(0.05)
    assert await queue.heartbeat(run, "w") == (True, None)
    renewed = await queue.get(run)
    assert renewed is not None and renewed.lease_expires_at is not None
    assert renewed.lease_expires_at > claimed.lease_expires_at
    assert await queue.heartbeat(run, "someone-else") == (False, None)

    assert await queue.cancel(run, "rollback") == "requested"
    assert await queue.heartbeat(run, "w") == (True, "rollback")


async def test_cancelling_a_pending_run_ends_it_before_it_starts(database: Database) -> None:
    queue = await queue_on(database)
    run = new_id()
    await queue.enqueue(run, new_id(), {})
    assert await queue.cancel(run) == "cancelled"
    cancelled = await queue.get(run)
    assert cancelled is not None and cancelled.status == "interrupted"
    assert await queue.claim("w") is None
    assert await queue.cancel(run) == "finished"
    assert await queue.cancel(new_id()) == "unknown"


async def test_the_sweeper_resumes_or_fails_runs_of_dead_workers(database: Database) -> None:
    dead = await queue_on(database, lease_seconds=0.2, max_resumes=1)
    alive = await queue_on(database, lease_seconds=30, max_resumes=1)
    resumable, unresumable, healthy = new_id(), new_id(), new_id()
    await dead.enqueue(resumable, new_id(), {"input": {"n": 1}})
    await dead.enqueue(unresumable, new_id(), {"resumable": False})
    assert (await dead.claim("dead")) is not None
    assert (await dead.claim("dead")) is not None
    await alive.enqueue(healthy, new_id(), {})
    assert (await alive.claim("alive")) is not None
    await asyncio.sleep(0.3)

    swept = {item.run.run_id: item.outcome for item in await alive.sweep()}
    assert swept == {resumable: "resumed", unresumable: "error"}
    assert await alive.sweep() == []
    back = await alive.get(resumable)
    assert back is not None and (back.status, back.resumes, back.worker_id) == ("pending", 1, None)
    failed = await alive.get(unresumable)
    assert failed is not None and failed.status == "error" and failed.error
    # The dead worker, were it only slow, can no longer touch either run.
    assert await dead.heartbeat(resumable, "dead") == (False, None)
    assert not await dead.finish(unresumable, "dead", "success")

    again = await alive.claim("alive")
    assert again is not None and again.run_id == resumable and again.resumed
    assert again.payload == {"input": {"n": 1}}
    # It dies again (its lease renewed once, for 0.2 s, then never): out of resumes, it ends
    # `error`; the healthy run, renewed for 30 s, is left alone.
    assert await dead.heartbeat(resumable, "alive") == (True, None)
    assert await alive.heartbeat(healthy, "alive") == (True, None)
    await asyncio.sleep(0.3)
    assert [(i.run.run_id, i.outcome) for i in await alive.sweep()] == [(resumable, "error")]
    for run, status in ((resumable, "error"), (healthy, "running")):
        current = await alive.get(run)
        assert current is not None and current.status == status


async def test_a_cancelled_run_whose_worker_died_ends_interrupted(database: Database) -> None:
    queue = await queue_on(database, lease_seconds=0.2)
    run = new_id()
    await queue.enqueue(run, new_id(), {})
    assert await queue.claim("dead") is not None
    assert await queue.cancel(run) == "requested"
    await asyncio.sleep(0.3)
    assert [(i.run.run_id, i.outcome) for i in await queue.sweep()] == [(run, "interrupted")]
    ended = await queue.get(run)
    assert ended is not None and ended.status == "interrupted"


async def test_two_sweepers_take_each_stale_run_once(database: Database) -> None:
    queues = [await queue_on(database, lease_seconds=0.2) for _ in range(2)]
    runs = [new_id() for _ in range(8)]
    for run in runs:
        await queues[0].enqueue(run, new_id(), {})
        assert await queues[0].claim("dead") is not None
    await asyncio.sleep(0.3)
    first, second = await asyncio.gather(queues[0].sweep(), queues[1].sweep())
    swept = [item.run.run_id for item in [*first, *second]]
    assert sorted(swept) == sorted(runs)
    for run in runs:
        back = await queues[1].get(run)
        assert back is not None and (back.status, back.resumes) == ("pending", 1)


async def test_a_released_run_goes_back_to_the_queue_to_resume(database: Database) -> None:
    queue = await queue_on(database)
    run, stateless = new_id(), new_id()
    await queue.enqueue(run, new_id(), {})
    await queue.enqueue(stateless, new_id(), {"resumable": False})
    held = await queue.claim("w")
    other = await queue.claim("w")
    assert held is not None and other is not None
    assert await queue.release(held, "w")
    assert not await queue.release(other, "w")
    again = await queue.claim("w2")
    assert again is not None and again.run_id == run and again.resumed


async def test_a_sweeper_never_takes_back_its_own_workers_runs(database: Database) -> None:
    queue = await queue_on(database, lease_seconds=0.2)
    run = new_id()
    await queue.enqueue(run, new_id(), {})
    assert await queue.claim("me") is not None
    await asyncio.sleep(0.3)  # a stalled event loop: the heartbeat is late
    assert await queue.sweep(alive="me") == []
    assert await queue.heartbeat(run, "me") == (True, None)
    await asyncio.sleep(0.3)
    assert [item.run.run_id for item in await queue.sweep(alive="someone-else")] == [run]


async def test_the_enqueuing_worker_takes_its_run_before_anyone_else(database: Database) -> None:
    mine, theirs = await queue_on(database), await queue_on(database)
    thread = new_id()
    first, second = new_id(), new_id()
    claimed = await mine.enqueue(first, thread, {"n": 1}, claim_as="me")
    assert claimed is not None and (claimed.run_id, claimed.worker_id) == (first, "me")
    assert await theirs.claim("them") is None
    # The thread is busy: the next run waits in the queue for whoever is free then.
    assert await mine.enqueue(second, thread, {"n": 2}, claim_as="me") is None
    assert await mine.finish(first, "me", "success")
    taken = await theirs.claim("them")
    assert taken is not None and taken.run_id == second

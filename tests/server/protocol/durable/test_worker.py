"""The run worker on both backends: runs queued runs under a lease, ends their streams, takes
over runs of a worker that died (resuming them, or ending them `error`), cancels on request."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from server.protocol.queue import QueuedRun, RunQueue
from server.protocol.replay import ReplayEvent, ReplayLog, SqlReplayLog
from server.protocol.worker import RunResult, RunWorker
from tests.server.protocol.durable.conftest import Database


class Process:
    """One server process's view: its own connections, wake-ups, queue, log and worker."""

    def __init__(self, queue: RunQueue, log: ReplayLog, worker: RunWorker) -> None:
        self.queue, self.log, self.worker = queue, log, worker


Execute = Callable[[QueuedRun, ReplayLog], Awaitable[RunResult]]


@asynccontextmanager
async def process(
    database: Database,
    execute: Execute,
    *,
    lease_seconds: float = 30,
    concurrency: int = 4,
) -> AsyncIterator[Process]:
    store = await database.open()
    wakeups = await database.wakeups()
    queue = RunQueue(store, wakeups, lease_seconds=lease_seconds)
    log = SqlReplayLog(store, wakeups, poll_seconds=0.2)

    async def run(queued: QueuedRun) -> RunResult:
        return await execute(queued, log)

    worker = RunWorker(queue, run, wakeups, replay=log, concurrency=concurrency, poll_seconds=0.2)
    worker.start()
    try:
        yield Process(queue, log, worker)
    finally:
        await worker.stop()


async def collect(log: ReplayLog, run_id: str, after: str | None = None) -> list[ReplayEvent]:
    return [event async for event in log.read_after(run_id, after)]


async def steps(run: QueuedRun, log: ReplayLog) -> RunResult:
    """A run of three events: a resumed one says so first."""
    if run.resumed:
        await log.append(run.run_id, "metadata", b'{"resumed":true}')
    for n in range(3):
        await log.append(run.run_id, "custom", f'{{"step":{n}}}'.encode())
    return RunResult("success")


async def test_a_queued_run_runs_once_and_its_stream_ends(database: Database) -> None:
    async with process(database, steps) as one:
        run = str(uuid.uuid4())
        await one.queue.enqueue(run, str(uuid.uuid4()), {})
        events = await asyncio.wait_for(collect(one.log, run), 10)
        assert [e.data for e in events] == [b'{"step":0}', b'{"step":1}', b'{"step":2}']
        await one.worker.wait(run)
        done = await one.queue.get(run)
        assert done is not None and (done.status, done.attempts) == ("success", 1)


async def test_two_processes_share_the_queue_and_run_each_run_once(database: Database) -> None:
    ran: list[tuple[str, str]] = []

    def tagged(tag: str) -> Execute:
        async def execute(run: QueuedRun, log: ReplayLog) -> RunResult:
            ran.append((tag, run.run_id))
            await asyncio.sleep(0.05)
            return RunResult("success")

        return execute

    async with (
        process(database, tagged("a"), concurrency=2) as a,
        process(database, tagged("b"), concurrency=2) as b,
    ):
        runs = [str(uuid.uuid4()) for _ in range(12)]
        for run in runs:
            await a.queue.enqueue(run, str(uuid.uuid4()), {})
        for _ in range(200):
            rows = [await b.queue.get(run) for run in runs]
            if all(row is not None and row.status == "success" for row in rows):
                break
            await asyncio.sleep(0.05)
        assert sorted(run for _, run in ran) == sorted(runs)
        # Both processes took part (each holds at most 2 at a time).
        assert {tag for tag, _ in ran} == {"a", "b"}


async def test_a_run_of_a_dead_worker_resumes_elsewhere_and_its_stream_goes_on(
    database: Database,
) -> None:
    started = asyncio.Event()

    async def hangs(run: QueuedRun, log: ReplayLog) -> RunResult:
        await log.append(run.run_id, "custom", b'{"step":"before the crash"}')
        started.set()
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    run = str(uuid.uuid4())
    async with process(database, hangs, lease_seconds=0.6) as doomed:
        await doomed.queue.enqueue(run, str(uuid.uuid4()), {})
        await asyncio.wait_for(started.wait(), 10)
        # The process dies: its lease is never renewed, nothing is recorded.
        doomed.worker._stopping = True
        for held in list(doomed.worker._held.values()):
            held.stopped = "lost"
            held.execution.cancel()
        await asyncio.gather(*doomed.worker._holders.values(), return_exceptions=True)
        row = await doomed.queue.get(run)
        assert row is not None and row.status == "running"

    async with process(database, steps, lease_seconds=0.6) as survivor:
        joined = asyncio.create_task(collect(survivor.log, run, f"{run}:1"))
        await survivor.worker.wait(run)
        for _ in range(100):
            row = await survivor.queue.get(run)
            if row is not None and row.status == "success":
                break
            await asyncio.sleep(0.05)
        assert row is not None and (row.status, row.resumes) == ("success", 1)
        events = await asyncio.wait_for(joined, 10)
    # After what the joiner saw: the resumed run's events, numbered on from the first run's.
    assert [e.id for e in events] == [f"{run}:{n}" for n in range(2, 6)]
    assert events[0].data == b'{"resumed":true}'


async def test_a_run_that_cannot_resume_ends_error_and_its_stream_says_so(
    database: Database,
) -> None:
    dead = RunQueue(await database.open(), await database.wakeups(), lease_seconds=0.3)
    run = str(uuid.uuid4())
    await dead.enqueue(run, None, {"resumable": False})
    assert await dead.claim("dead") is not None  # and then never a heartbeat
    async with process(database, steps, lease_seconds=0.3) as survivor:
        events = await asyncio.wait_for(collect(survivor.log, run), 10)
        row = await survivor.queue.get(run)
    assert row is not None and (row.status, row.worker_id, row.attempts) == ("error", None, 1)
    assert [e.event for e in events] == ["error"]
    assert json.loads(events[0].data)["code"] == "run_lost"


async def test_a_cancel_request_stops_a_run_on_another_process(database: Database) -> None:
    started = asyncio.Event()
    cancelled = asyncio.Event()

    async def long(run: QueuedRun, log: ReplayLog) -> RunResult:
        started.set()
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return RunResult("success")

    async with process(database, long, lease_seconds=0.6) as runner:
        canceller = RunQueue(await database.open(), await database.wakeups())
        run = str(uuid.uuid4())
        await canceller.enqueue(run, str(uuid.uuid4()), {})
        await asyncio.wait_for(started.wait(), 10)
        assert await canceller.cancel(run) == "requested"
        await asyncio.wait_for(cancelled.wait(), 5)
        await runner.worker.wait(run)
        row = await canceller.get(run)
        assert row is not None and row.status == "interrupted"
        # Its stream ended too.
        assert await asyncio.wait_for(collect(runner.log, run), 5) == []


async def test_a_failing_run_ends_error_with_an_error_event(database: Database) -> None:
    async def fails(run: QueuedRun, log: ReplayLog) -> RunResult:
        raise RuntimeError("the model left")

    async with process(database, fails) as one:
        run = str(uuid.uuid4())
        await one.queue.enqueue(run, str(uuid.uuid4()), {})
        events = await asyncio.wait_for(collect(one.log, run), 10)
        assert [e.event for e in events] == ["error"]
        assert json.loads(events[0].data)["message"] == "the model left"
        await one.worker.wait(run)
        row = await one.queue.get(run)
        assert row is not None and row.status == "error" and "the model left" in (row.error or "")


async def test_stopping_hands_running_runs_back_to_the_queue(database: Database) -> None:
    started = asyncio.Event()

    async def long(run: QueuedRun, log: ReplayLog) -> RunResult:
        started.set()
        await asyncio.sleep(60)
        return RunResult("success")

    run = str(uuid.uuid4())
    async with process(database, long) as one:
        await one.queue.enqueue(run, str(uuid.uuid4()), {})
        await asyncio.wait_for(started.wait(), 10)
        await one.worker.stop(grace_seconds=0.1)
        row = await one.queue.get(run)
        assert row is not None and (row.status, row.resumes, row.worker_id) == ("pending", 1, None)


async def test_a_run_whose_lease_was_taken_stops_here_and_records_nothing(
    database: Database,
) -> None:
    started = asyncio.Event()
    seen_lost: list[bool] = []
    holder: list[RunWorker] = []

    async def long(run: QueuedRun, log: ReplayLog) -> RunResult:
        started.set()
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            seen_lost.append(holder[0].lost(run.run_id))
            raise
        return RunResult("success")

    async with process(database, long, lease_seconds=0.6) as one:
        holder.append(one.worker)
        run = str(uuid.uuid4())
        await one.queue.enqueue(run, str(uuid.uuid4()), {})
        await asyncio.wait_for(started.wait(), 10)
        # Another process swept and re-claimed it (as after a long stall here).
        other = RunQueue(await database.open(), await database.wakeups())
        async with (await database.open()).session() as db:
            await db.execute(
                "UPDATE stemgraph_run_queue SET worker_id = 'other' WHERE run_id = :r", {"r": run}
            )
        await one.worker.wait(run)
        assert seen_lost == [True]
        row = await other.get(run)
        assert row is not None and (row.status, row.worker_id) == ("running", "other")
        assert not one.worker.lost(run)
        # Nothing ended its stream here.
        assert await one.log.last_seq(run) == 0

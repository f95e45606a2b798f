"""The protocol's run manager on durable parts: events in the replay log, runs in the queue.

`DurableRunManager` is `manager.py`'s `EventLog` and `RunQueue` for every server process
sharing one database:
- `publish` appends to the replay log (`replay.py`; Redis with `STEMGRAPH_REDIS_URL`), so a
  stream can be joined, with `Last-Event-ID`, from any process for `STEMGRAPH_REPLAY_TTL_SECONDS`.
  Subscribers in the publishing process follow the run in memory; the log is written behind, in
  batches gathered for up to `_FLUSH_SECONDS` (a joiner elsewhere sees events that much later,
  each once and in order; the run's end is written at once, before its end marker);
- `enqueue` writes the run to the queue (`queue.py`) and this process's worker (`worker.py`)
  takes it at once when its thread is free; otherwise whichever process's worker is free takes
  it when the thread frees up. A run's lease is renewed while it runs; when a process dies, a
  sweeper resumes its runs from their last checkpoint (`resume_or_fail`) or ends them `error`;
- `cancel` stops a run in this process directly, or asks the process running it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from server.protocol.manager import RunEvent
from server.protocol.queue import RunQueue, RunStatus, Swept
from server.protocol.replay import (
    Numbered,
    ReplayLog,
    ensure_run_tables,
    open_replay_log,
    parse_event_id,
)
from server.protocol.wakeups import Wakeups
from server.protocol.worker import OnSwept, RunResult, RunWorker
from server.settings import Settings
from tools.store.base import Store

if TYPE_CHECKING:
    from server.protocol.queue import QueuedRun
    from server.protocol.service import Protocol

logger = logging.getLogger("stemgraph.runs")

Executor = Callable[[str], Coroutine[Any, Any, None]]
_LIVE = ("pending", "running")
_LOCAL_KEEP_SECONDS = 30.0
_BATCH = 500
# The log is written behind, a batch at a time: events gather this long first (subscribers in
# this process follow the run in memory meanwhile; the run's end flushes at once).
_FLUSH_SECONDS = 0.05


@dataclass
class _LocalRun:
    """The events a run published in this process (from `first_seq` on), for subscribers here:
    they follow the run without a database read per event. The log stays the record.

    Publishing never waits: no lock is shared with the subscribers (a woken subscriber
    re-taking a condition's lock made the next publish wait for it, one loop turn per event),
    so a run's burst of events reaches a subscriber, and its client, together."""

    first_seq: int
    events: list[RunEvent] = field(default_factory=list)
    last_seq: int = 0
    ended: bool = False
    # Subscribers waiting for the next event (or the end).
    waiters: list[asyncio.Future[None]] = field(default_factory=list)
    # Events not yet in the log, and the task writing them.
    unwritten: list[Numbered] = field(default_factory=list)
    writer: asyncio.Task[None] | None = None
    flush: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        self.last_seq = self.first_seq - 1

    def _wake(self) -> None:
        waiters, self.waiters = self.waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    def add(self, event: RunEvent, seq: int) -> None:
        self.events.append(event)
        self.last_seq = seq
        self._wake()

    def end(self) -> None:
        self.ended = True
        self._wake()
        self.flush.set()

    async def follow(self, position: int) -> AsyncIterator[list[RunEvent]]:
        """Events after `position` until the run's log closes, all those already published
        at once."""
        while True:
            while self.last_seq <= position and not self.ended:
                waiter = asyncio.get_running_loop().create_future()
                self.waiters.append(waiter)
                await waiter
            pending = self.events[position - self.first_seq + 1 :]
            ended = self.ended
            if pending:
                yield pending
            position += len(pending)
            if ended and position >= self.last_seq:
                return


class DurableRunManager:
    """Runs and their events in the database (or Redis), shared by every server process."""

    def __init__(
        self,
        executor: Executor,
        settings: Settings,
        store: Store,
        *,
        on_swept: OnSwept | None = None,
    ) -> None:
        self._executor = executor
        self._settings = settings
        self._store = store
        self._on_swept = on_swept
        self._wakeups = Wakeups()
        self._replay: ReplayLog | None = None
        self._queue: RunQueue | None = None
        self._worker: RunWorker | None = None
        # Runs publishing in this process: a copy of their events for local subscribers.
        self._local: dict[str, _LocalRun] = {}

    async def start(self) -> None:
        """Create the tables if needed, listen for other processes, start the worker."""
        settings = self._settings
        if self._store.backend == "postgres" and settings.database_url:
            await self._wakeups.listen_postgres(settings.database_url)
        await ensure_run_tables(self._store)
        self._replay = await open_replay_log(
            self._store,
            self._wakeups,
            redis_url=settings.replay_redis_url,
            ttl_seconds=settings.replay_ttl_seconds,
            redis_prefix=settings.replay_redis_prefix,
        )
        self._queue = RunQueue(self._store, self._wakeups, lease_seconds=settings.run_lease_seconds)
        self._worker = RunWorker(
            self._queue,
            self._execute,
            self._wakeups,
            replay=self._replay,
            end_streams=False,  # the protocol's executor closes its runs' logs itself
            concurrency=settings.run_workers,
            on_swept=self._on_swept,
        )
        self._worker.start()

    @property
    def replay(self) -> ReplayLog:
        assert self._replay is not None, "start() first"
        return self._replay

    @property
    def queue(self) -> RunQueue:
        assert self._queue is not None, "start() first"
        return self._queue

    @property
    def worker(self) -> RunWorker:
        assert self._worker is not None, "start() first"
        return self._worker

    async def _execute(self, run: QueuedRun) -> RunResult:
        # The protocol's executor records the run's own outcome; the queue only needs to
        # know that it was carried to its end here.
        await self._executor(run.run_id)
        return RunResult("success")

    # --- EventLog ---

    async def publish(self, run_id: str, event: str, data: bytes) -> str:
        # The protocol's wire numbers a run's events 1, 2, 3, ... (its URL names the run);
        # the log also accepts `<run_id>:<n>`, the `/v1` streams' form, as a Last-Event-ID.
        local = self._local.get(run_id)
        if local is None:
            # The run publishes here (it was resumed, or queued, and claimed by this worker):
            # number on from what the log holds, once no earlier holder can add to it.
            await self.replay.hold(run_id, self.worker.worker_id)
            first = await self.replay.last_seq(run_id) + 1
            local = self._local.setdefault(run_id, _LocalRun(first_seq=first))
        seq = local.last_seq + 1
        local.add(RunEvent(str(seq), event, data), seq)
        # This process is the run's only writer: the log is written behind, a batch at a time.
        local.unwritten.append((seq, event, data))
        if local.writer is None or local.writer.done():
            local.writer = asyncio.create_task(self._write(run_id, local))
        return str(seq)

    async def _write(self, run_id: str, local: _LocalRun) -> None:
        if not local.ended:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(_FLUSH_SECONDS):  # not wait_for: see wakeups.wait
                    await local.flush.wait()
        while local.unwritten:
            batch, local.unwritten = local.unwritten[:_BATCH], local.unwritten[_BATCH:]
            try:
                # Only while this worker still holds the run: the log checks, in the write.
                holder = self.worker.worker_id
                if not await self.replay.append_numbered(run_id, batch, holder=holder):
                    # Another process took the run over (this one stalled past its lease): it
                    # numbers on from what the log holds, so nothing more is written from here.
                    local.unwritten.clear()
                    logger.warning("replay log: run taken over", extra={"run_id": run_id})
            except Exception:  # noqa: BLE001 - subscribers here still have them; joiners won't
                logger.warning("replay log write failed", exc_info=True, extra={"run_id": run_id})

    def subscribe(self, run_id: str, *, after: str | None = None) -> AsyncIterator[RunEvent]:
        """The run's events after `after` ("0": all the log holds; None: from now on), live
        until the run's log closes (or the run is no longer queued or running)."""
        return _flatten(self.subscribe_batches(run_id, after=after))

    def subscribe_batches(
        self, run_id: str, *, after: str | None = None
    ) -> AsyncIterator[list[RunEvent]]:
        """`subscribe`'s events in lists: all those already published at once."""
        position = None if after is None else parse_event_id(run_id, after)  # 400 up front
        return self._subscribe(run_id, position)

    async def _subscribe(self, run_id: str, position: int | None) -> AsyncIterator[list[RunEvent]]:
        local = self._local.get(run_id)
        if local is not None and (position is None or position >= local.first_seq - 1):
            # The run publishes in this process: its subscribers here follow it in memory.
            async for batch in local.follow(local.last_seq if position is None else position):
                yield batch
            return
        if position is None:
            position = await self.replay.last_seq(run_id)

        async def still_live() -> bool:
            row = await self.queue.get(run_id)
            return row is not None and row.status in _LIVE

        async for event in self.replay.read_after(run_id, str(position), still_live=still_live):
            yield [RunEvent(str(event.seq), event.event, event.data)]

    async def close(self, run_id: str) -> None:
        local = self._local.get(run_id)
        if local is not None:
            local.end()
            if local.writer is not None:
                await asyncio.shield(local.writer)  # the marker goes after every event
        if self.leaving(run_id):
            # Another process runs it now, or will (this one's lease ran out, or it handed the
            # run back on shutdown): its stream goes on.
            return
        await self.replay.finish(run_id)
        if local is not None:
            # Late subscribers here read the log instead, once the copy is gone.
            asyncio.get_running_loop().call_later(
                _LOCAL_KEEP_SECONDS, self._local.pop, run_id, None
            )

    def leaving(self, run_id: str) -> str | None:
        """Why a run this process is stopping goes on elsewhere (`"lost"`, `"handed back"`)."""
        return self.worker.leaving(run_id) if self._worker is not None else None

    def holds(self, run_id: str) -> bool:
        """Every run's events are in the shared log, whichever process runs it."""
        return True

    def replay_from_start(self, run_id: str) -> AsyncIterator[RunEvent]:
        return self.subscribe(run_id, after="0")

    # --- RunQueue ---

    async def enqueue(self, run_id: str, thread_id: str | None = None) -> None:
        """Queue the run; this process starts it now if its thread is free."""
        # This worker writes its events if it starts it (a worker that claims it later
        # holds it again before its first event).
        await self.replay.hold(run_id, self.worker.worker_id)
        if await self.worker.submit(run_id, thread_id, {}):
            # A new run's events start at 1: the creator's subscription, made right after,
            # follows it in memory from the first one.
            self._local.setdefault(run_id, _LocalRun(first_seq=1))

    async def cancel(self, run_id: str) -> bool:
        """Stop a started run here, or ask the process running it; False when it had not
        started (the queue then never starts it)."""
        if self.worker.cancel(run_id):
            return True
        return await self.queue.cancel(run_id) == "requested"

    async def wait_started(self, run_id: str) -> None:
        """Until the run, if it was running (here or elsewhere), has stopped."""
        await self.worker.wait(run_id)
        loop = asyncio.get_running_loop()
        # Another process sees a cancel request at its next heartbeat (a third of the lease).
        deadline = loop.time() + 2 * self.queue.lease_seconds
        delay = 0.02
        while loop.time() < deadline:
            row = await self.queue.get(run_id)
            if row is None or row.status != "running":
                return
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.25)

    async def aclose(self) -> None:
        """Stop taking runs; hand this process's runs back to the queue (pending again, from
        their last checkpoint), for another process, or this one's next start, to resume."""
        if self._worker is not None:
            await self._worker.stop(hand_back=True)
        if self._replay is not None:
            await self._replay.aclose()
        await self._wakeups.aclose()


async def _flatten(batches: AsyncIterator[list[RunEvent]]) -> AsyncIterator[RunEvent]:
    async for batch in batches:
        for event in batch:
            yield event


async def resume_or_fail(protocol: Protocol, swept: Swept) -> None:
    """What the sweeper's verdict means for the protocol's run record: a resumed run is
    `pending` again with no input (it continues from the thread's last checkpoint); a run
    that cannot go on ends `error` and its thread is settled."""
    record = await protocol.records.get_run(swept.run.run_id)
    if record is None:
        return
    if swept.outcome == "resumed":
        await protocol.requeue(record.run_id)
        return
    status: RunStatus = "interrupted" if swept.outcome == "interrupted" else "error"
    await protocol.records.set_run_status(record.run_id, status, only_from=("pending", "running"))
    graph = protocol.graphs.get(record.graph_id)
    if graph is not None:
        await protocol.settle(record.thread_id, graph, failed=status == "error")

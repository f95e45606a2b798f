"""The run worker: every server process runs one, taking background runs from the queue.

It claims pending runs while it has free slots (woken at once by an enqueue, in this process
or, on Postgres, any other), runs each through the protocol's `execute` hook, renews the run's
lease while it runs and records the outcome. A run whose lease is lost (the sweeper of another
process took it back) is cancelled here without recording anything: it is someone else's now.
A cancel request seen at a heartbeat cancels the run, which ends `interrupted`.

Every `sweep_seconds` it also sweeps the queue (runs of dead processes are resumed or ended
`error`, see `queue.py`) and purges the replay log's expired events. The replay log's terminal
marker is the worker's job: once a run's outcome is recorded, followers of its stream stop.
On shutdown (`stop`), runs still going after the grace period are cancelled and handed back to
the queue, so another process resumes them from their last checkpoint (or, for executors that
end a cancelled run themselves, recorded `interrupted`).
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from server.protocol.queue import CANNOT_RESUME, QUEUE_KEY, QueuedRun, RunQueue, RunStatus, Swept
from server.protocol.replay import ReplayLog
from server.protocol.wakeups import Wakeups, wait
from server.streaming import encode_json

logger = logging.getLogger("stemgraph.runs")


@dataclass(frozen=True, slots=True)
class RunResult:
    """How a run ended."""

    status: RunStatus
    error: str | None = None


Execute = Callable[[QueuedRun], Coroutine[Any, Any, RunResult]]
"""Run one claimed run to its end, appending its events to the replay log. `run.resumed`:
continue from the thread's last checkpoint with no input."""
OnSwept = Callable[[Swept], Awaitable[None]]


def new_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def error_event(code: str, message: str) -> bytes:
    """An `error` event's data, as the streams send it."""
    return encode_json({"error": code, "code": code, "message": message}).encode()


@dataclass
class _Held:
    """A run this worker holds: its execution, and why it was stopped (if it was)."""

    run: QueuedRun
    execution: asyncio.Task[RunResult]
    stopped: str | None = None  # "lost", "handed back", or the cancel action


class RunWorker:
    """Claims and runs background runs of the shared queue, `concurrency` at a time."""

    def __init__(
        self,
        queue: RunQueue,
        execute: Execute,
        wakeups: Wakeups,
        *,
        replay: ReplayLog | None = None,
        end_streams: bool = True,
        worker_id: str | None = None,
        concurrency: int = 4,
        poll_seconds: float = 1.0,
        sweep_seconds: float | None = None,
        on_swept: OnSwept | None = None,
    ) -> None:
        self.queue = queue
        self.worker_id = worker_id or new_worker_id()
        self._execute = execute
        self._wakeups = wakeups
        self._replay = replay
        # Whether the worker writes a run's terminal marker (False: the executor does).
        self._end_streams = end_streams
        self._concurrency = max(1, concurrency)
        self._poll_seconds = poll_seconds
        self._sweep_seconds = sweep_seconds or max(0.5, queue.lease_seconds / 2)
        self._on_swept = on_swept
        self._held: dict[str, _Held] = {}
        self._holders: dict[str, asyncio.Task[None]] = {}
        self._loop_task: asyncio.Task[None] | None = None
        self._stopping = False

    @property
    def active(self) -> frozenset[str]:
        """The runs this worker is running now."""
        return frozenset(self._held)

    # --- the loop ---

    def start(self) -> None:
        self._loop_task = asyncio.create_task(self._loop(), name=f"run-worker {self.worker_id}")

    async def _loop(self) -> None:
        loop = asyncio.get_running_loop()
        next_sweep = 0.0
        with self._wakeups.watch(QUEUE_KEY) as woken:
            while not self._stopping:
                woken.clear()
                try:
                    if loop.time() >= next_sweep:
                        next_sweep = loop.time() + self._sweep_seconds
                        await self.sweep()
                    await self.claim_available()
                except asyncio.CancelledError:
                    raise
                except Exception:  # noqa: BLE001 - the database may come back; keep going
                    logger.warning("run worker: queue unavailable", exc_info=True)
                await wait(woken, min(self._poll_seconds, self._sweep_seconds))

    async def claim_available(self) -> int:
        """Claim and start pending runs while slots are free; how many started."""
        started = 0
        while not self._stopping and len(self._held) < self._concurrency:
            run = await self.queue.claim(self.worker_id)
            if run is None:
                break
            self._start(run)
            started += 1
        return started

    async def submit(self, run_id: str, thread_id: str | None, payload: dict[str, Any]) -> bool:
        """Queue a run and, when its thread is free, start it here at once, beyond this
        worker's concurrency (the process whose client asked for the run runs it); False when
        it waits in the queue for whichever worker is free when its turn comes."""
        claim_as = None if self._stopping else self.worker_id
        run = await self.queue.enqueue(run_id, thread_id, payload, claim_as=claim_as)
        if run is None:
            return False
        self._start(run)
        return True

    def _start(self, run: QueuedRun) -> None:
        execution = asyncio.create_task(self._execute(run), name=f"execute {run.run_id}")
        self._held[run.run_id] = _Held(run, execution)
        self._holders[run.run_id] = asyncio.create_task(
            self._hold(self._held[run.run_id]), name=f"hold {run.run_id}"
        )

    async def sweep(self) -> list[Swept]:
        """Take back the runs of dead processes; end the streams of those that cannot go on."""
        swept = await self.queue.sweep(alive=self.worker_id)
        for item in swept:
            logger.warning(
                "run taken back from a dead process",
                extra={"run_id": item.run.run_id, "outcome": item.outcome},
            )
            if item.outcome != "resumed" and self._replay is not None:
                data = error_event("run_lost", CANNOT_RESUME)
                await self._replay.append(item.run.run_id, "error", data)
                await self._replay.finish(item.run.run_id)
            if self._on_swept is not None:
                await self._on_swept(item)
        if self._replay is not None:
            await self._replay.purge_expired()
        return swept

    # --- one run ---

    def cancel(self, run_id: str, action: str = "interrupt") -> bool:
        """Cancel a run this worker runs; False when it runs no such run."""
        held = self._held.get(run_id)
        if held is None:
            return False
        held.stopped = held.stopped or action
        held.execution.cancel()
        return True

    def lost(self, run_id: str) -> bool:
        """Whether this worker's hold on a run it is still stopping was lost (another process
        took it back): what the run does while it stops must not end its stream."""
        held = self._held.get(run_id)
        return held is not None and held.stopped == "lost"

    def leaving(self, run_id: str) -> str | None:
        """`"lost"` or `"handed back"` when the run this worker is stopping goes on in another
        process (which took it back, or will claim it from the queue); None otherwise."""
        held = self._held.get(run_id)
        if held is not None and held.stopped in ("lost", "handed back"):
            return held.stopped
        return None

    async def wait(self, run_id: str) -> None:
        """Until this worker's hold on `run_id` (if any) has ended and its outcome is recorded."""
        holder = self._holders.get(run_id)
        if holder is not None:
            await asyncio.gather(asyncio.shield(holder), return_exceptions=True)

    async def _hold(self, held: _Held) -> None:
        """Run the claimed run under a renewed lease and record how it ended."""
        run = held.run
        keeper = asyncio.create_task(self._keep_lease(held))
        result: RunResult | None
        try:
            result = await held.execution
        except asyncio.CancelledError:
            result = None
        except Exception as error:  # noqa: BLE001 - the run's failure is its outcome
            logger.warning("background run failed", exc_info=error, extra={"run_id": run.run_id})
            result = RunResult("error", f"{type(error).__name__}: {error}")
            if self._replay is not None:
                message = str(error) or type(error).__name__
                await self._replay.append(run.run_id, "error", error_event("run_failed", message))
        finally:
            keeper.cancel()
            await asyncio.gather(keeper, return_exceptions=True)
        try:
            if held.stopped == "lost":
                return  # someone else holds it now: nothing here is ours to record
            if held.stopped == "handed back" and await self.queue.release(run, self.worker_id):
                return
            if held.stopped is not None:
                result = RunResult("interrupted", f"stopped ({held.stopped})")
            elif result is None:
                result = RunResult("interrupted", "cancelled")
            if (
                await self.queue.finish(run.run_id, self.worker_id, result.status, result.error)
                and self._replay is not None
                and self._end_streams
            ):
                await self._replay.finish(run.run_id)
        finally:
            self._held.pop(run.run_id, None)
            self._holders.pop(run.run_id, None)
            self._wakeups.notify(QUEUE_KEY)

    async def _keep_lease(self, held: _Held) -> None:
        loop = asyncio.get_running_loop()
        interval = self.queue.lease_seconds / 3
        renewed_at = loop.time()
        while True:
            await asyncio.sleep(interval)
            try:
                owned, cancel = await self.queue.heartbeat(held.run.run_id, self.worker_id)
            except Exception:  # noqa: BLE001 - a passing hiccup; the lease still runs
                logger.warning("run lease renewal failed", exc_info=True)
                if loop.time() - renewed_at < self.queue.lease_seconds:
                    continue
                owned, cancel = False, None
            renewed_at = loop.time()
            if not owned:
                held.stopped = "lost"
                held.execution.cancel()
                return
            if cancel is not None:
                held.stopped = held.stopped or cancel
                held.execution.cancel()
                return

    async def stop(self, grace_seconds: float = 0.0, *, hand_back: bool = True) -> None:
        """Stop claiming; let running runs finish for `grace_seconds`, then cancel the rest:
        handed back to the queue (another process resumes them from their checkpoints), or
        with `hand_back=False` ended `interrupted` here."""
        self._stopping = True
        self._wakeups.notify(QUEUE_KEY)
        if self._loop_task is not None:
            # Let the loop notice and leave between queue calls: cancelling it inside one
            # could abandon a transaction half begun.
            done, _ = await asyncio.wait([self._loop_task], timeout=self._poll_seconds + 10)
            if not done:
                self._loop_task.cancel()
            await asyncio.gather(self._loop_task, return_exceptions=True)
        holders = list(self._holders.values())
        if holders and grace_seconds > 0:
            await asyncio.wait(holders, timeout=grace_seconds)
        for held in list(self._held.values()):
            held.stopped = held.stopped or ("handed back" if hand_back else "shutdown")
            held.execution.cancel()
        await asyncio.gather(*holders, return_exceptions=True)

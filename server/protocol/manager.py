"""Where a protocol run's events go and how a background run gets started.

Two small interfaces, so the durable pieces (a replay log in the database or Redis, a queue any
process can take runs from) plug in without the routes changing:

- `EventLog`: `publish` a run's event (and get its id), `subscribe` from after an event id
  (replaying what the log still holds, then live; `subscribe_batches` hands over every event
  already there at once), `close` the run's log when it ends.
- `RunQueue`: `enqueue` a run by id; whoever takes it calls the executor with that id (the run's
  record in the database says everything the run needs).

`LocalRunManager` is the in-process implementation of both: events in memory (kept for
`retention_seconds` after a run ends), background runs as asyncio tasks of this process.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, Protocol

Executor = Callable[[str], Coroutine[Any, Any, None]]
"""Runs one run to its end, given its id (the run's record holds its kwargs)."""


@dataclass(frozen=True, slots=True)
class RunEvent:
    """One event of a run as sent on the wire: its id, SSE event name and JSON (UTF-8)."""

    id: str
    event: str
    data: bytes


class EventLog(Protocol):
    async def publish(self, run_id: str, event: str, data: bytes) -> str:
        """Record `event` (`data` is UTF-8 JSON) for the run's subscribers; returns its id."""
        ...

    def subscribe(self, run_id: str, *, after: str | None = None) -> AsyncIterator[RunEvent]:
        """The run's events after event id `after` ("0": from the first one the log holds;
        None: only events published from now on), until the run's log closes."""
        ...

    def subscribe_batches(
        self, run_id: str, *, after: str | None = None
    ) -> AsyncIterator[list[RunEvent]]:
        """`subscribe`'s events, every one already published handed over in one list (a
        stream sends each list as one chunk)."""
        ...

    async def close(self, run_id: str) -> None:
        """The run ended: subscribers finish after the events already published."""
        ...


class RunQueue(Protocol):
    async def enqueue(self, run_id: str) -> None:
        """Start the run (now, or when a worker takes it); the executor does the work."""
        ...

    async def cancel(self, run_id: str) -> bool:
        """Stop a started run; False when this queue does not run it."""
        ...


@dataclass
class _Channel:
    events: list[RunEvent] = field(default_factory=list)
    closed: bool = False
    changed: asyncio.Condition = field(default_factory=asyncio.Condition)


class LocalRunManager:
    """`EventLog` and `RunQueue` in this process (the embedded default)."""

    def __init__(self, executor: Executor, *, retention_seconds: float = 3600.0) -> None:
        self._executor = executor
        self._retention = retention_seconds
        self._channels: dict[str, _Channel] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}

    def _channel(self, run_id: str) -> _Channel:
        return self._channels.setdefault(run_id, _Channel())

    def holds(self, run_id: str) -> bool:
        """Whether this log has (or will have) the run's events."""
        return run_id in self._channels

    async def publish(self, run_id: str, event: str, data: bytes) -> str:
        channel = self._channel(run_id)
        event_id = str(len(channel.events) + 1)
        async with channel.changed:
            channel.events.append(RunEvent(event_id, event, data))
            channel.changed.notify_all()
        return event_id

    async def subscribe(self, run_id: str, *, after: str | None = None) -> AsyncIterator[RunEvent]:
        async for batch in self.subscribe_batches(run_id, after=after):
            for event in batch:
                yield event

    async def subscribe_batches(
        self, run_id: str, *, after: str | None = None
    ) -> AsyncIterator[list[RunEvent]]:
        channel = self._channels.get(run_id)
        if channel is None:
            return
        position = len(channel.events) if after is None else _position(after)
        while True:
            async with channel.changed:
                while position >= len(channel.events) and not channel.closed:
                    await channel.changed.wait()
                pending = channel.events[position:]
                closed = channel.closed
            if pending:
                yield pending
            position += len(pending)
            if closed and position >= len(channel.events):
                return

    async def close(self, run_id: str) -> None:
        channel = self._channel(run_id)
        async with channel.changed:
            channel.closed = True
            channel.changed.notify_all()
        asyncio.get_running_loop().call_later(self._retention, self._channels.pop, run_id, None)

    def replay_from_start(self, run_id: str) -> AsyncIterator[RunEvent]:
        """Every event the log holds for the run, then live ones."""
        return self.subscribe(run_id, after="0")

    async def enqueue(self, run_id: str) -> None:
        self._channel(run_id)
        task = asyncio.create_task(self._executor(run_id), name=f"protocol-run-{run_id}")
        self._tasks[run_id] = task
        task.add_done_callback(lambda _: self._tasks.pop(run_id, None))

    async def cancel(self, run_id: str) -> bool:
        task = self._tasks.get(run_id)
        if task is None:
            return False
        task.cancel()
        return True

    async def wait_started(self, run_id: str) -> None:
        """Until the run's task of this process (if any) has ended."""
        task = self._tasks.get(run_id)
        if task is not None:
            with contextlib.suppress(BaseException):
                await asyncio.shield(task)

    async def aclose(self) -> None:
        """Cancel what still runs (the lifespan ends) and wait for it."""
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def _position(event_id: str) -> int:
    try:
        return max(int(event_id), 0)
    except ValueError:
        return 0

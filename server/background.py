"""Work a request starts without waiting for it, drained by the lifespan at shutdown.

Tasks are kept referenced here (the event loop holds only weak references, so an unreferenced
task can be garbage-collected mid-run). Several apps may run in one process, each on its own
event loop (the tests do), so `drain` touches only the calling loop's tasks.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any, Final, TypeVar

logger = logging.getLogger("stemgraph.background")

T = TypeVar("T")

# Every running background task of this process; a task leaves the set when it ends.
TASKS: Final[set[asyncio.Task[Any]]] = set()


def _finished(task: asyncio.Task[Any]) -> None:
    TASKS.discard(task)
    if not task.cancelled() and (error := task.exception()) is not None:
        # Nobody awaits a background task: without this its error would surface only as
        # "exception was never retrieved" when it is garbage-collected.
        logger.error("background task failed", extra={"task": task.get_name()}, exc_info=error)


def spawn(work: Coroutine[Any, Any, T], *, name: str) -> asyncio.Task[T]:
    """Start `work` on the running loop without waiting for it."""
    task = asyncio.create_task(work, name=name)
    TASKS.add(task)
    task.add_done_callback(_finished)
    return task


def running() -> set[asyncio.Task[Any]]:
    """This loop's background tasks that have not ended yet."""
    loop = asyncio.get_running_loop()
    return {task for task in TASKS if task.get_loop() is loop and not task.done()}


async def drain(timeout: float) -> None:
    """Wait up to `timeout` seconds for this loop's background tasks, then cancel the rest."""
    tasks = running()
    if not tasks:
        return
    _, pending = await asyncio.wait(tasks, timeout=timeout)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)

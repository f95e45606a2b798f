"""Background tasks: kept referenced while they run, logged when they fail, drained at shutdown."""

from __future__ import annotations

import asyncio
import gc
import threading
from pathlib import Path

import pytest

from server import background
from server.app import create_app
from server.settings import Settings


async def test_a_task_is_kept_until_it_ends_and_drain_waits_for_it() -> None:
    finished = asyncio.Event()

    async def work() -> str:
        await asyncio.sleep(0.05)
        finished.set()
        return "done"

    task = background.spawn(work(), name="work")
    assert task in background.TASKS and background.running() == {task}
    await background.drain(timeout=5)
    assert finished.is_set() and task.result() == "done"
    assert task not in background.TASKS and background.running() == set()


async def test_drain_cancels_what_outlives_the_timeout() -> None:
    stopped = asyncio.Event()

    async def endless() -> None:
        try:
            await asyncio.sleep(60)
        finally:
            stopped.set()

    task = background.spawn(endless(), name="endless")
    await asyncio.sleep(0)
    await background.drain(timeout=0.05)
    assert task.cancelled() and stopped.is_set() and task not in background.TASKS


async def test_a_failing_task_is_logged_not_left_unretrieved(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def broken() -> None:
        raise ConnectionError("queue unavailable")

    task = background.spawn(broken(), name="broken-batch")
    await background.drain(timeout=5)
    del task
    gc.collect()
    assert "never retrieved" not in caplog.text
    assert "background task failed" in caplog.text
    assert "broken-batch" in str([record.__dict__.get("task") for record in caplog.records])
    assert "ConnectionError: queue unavailable" in caplog.text


async def test_drain_leaves_other_event_loops_tasks_alone() -> None:
    started, release = threading.Event(), threading.Event()
    outcome: list[str] = []

    def other_app() -> None:
        async def run() -> None:
            async def work() -> None:
                started.set()
                while not release.is_set():
                    await asyncio.sleep(0.01)

            task = background.spawn(work(), name="other-loop")
            await task
            outcome.append("cancelled" if task.cancelled() else "finished")

        asyncio.run(run())

    thread = threading.Thread(target=other_app)
    thread.start()
    assert started.wait(5)
    assert background.running() == set()  # this loop has none of its own
    await background.drain(timeout=0.01)
    release.set()
    thread.join(5)
    assert outcome == ["finished"]


async def test_the_lifespan_drains_background_work_at_shutdown(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, python_backend_api_key="k", seed_demo=False)
    app = create_app(settings)
    finished: list[str] = []

    async def late_work() -> None:
        await asyncio.sleep(0.2)
        finished.append("late work")

    async with app.router.lifespan_context(app):
        task = background.spawn(late_work(), name="late-work")
    # The app's shutdown waited for the task instead of leaving it to die with the loop.
    assert finished == ["late work"] and task.done() and not task.cancelled()

"""Limits and slots hold across separate server processes sharing one Redis.

Each process runs `serve_app` (the Redis guardrails, as a server process would build them);
the tests start them together and read their outcomes. Skipped without a test Redis (never in CI).
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis

SANDBOX = "5b7f3c2e-0000-4000-8000-0000000000aa"
ROOT = Path(__file__).resolve().parents[3]
READ_TIMEOUT = 30.0


class Worker:
    """One guardrails process, driven over its stdin and stdout."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process

    async def read(self) -> Any:
        assert self.process.stdout is not None
        raw = await asyncio.wait_for(self.process.stdout.readline(), READ_TIMEOUT)
        if not raw:
            assert self.process.stderr is not None
            errors = (await self.process.stderr.read()).decode()
            raise AssertionError(f"the worker exited early:\n{errors}")
        text = raw.decode().strip()
        return text if text == "ready" else json.loads(text)

    async def send(self, text: str = "go") -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(text.encode() + b"\n")
        await self.process.stdin.drain()


Spawn = Callable[..., AbstractAsyncContextManager[Worker]]


@pytest.fixture
def spawn(redis_url: str, prefix: str) -> Spawn:
    """`async with spawn("burst", "--count", "8") as worker:` a ready worker on the test prefix."""

    @asynccontextmanager
    async def run(command: str, *options: str) -> AsyncIterator[Worker]:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.server.guardrails.serve_app",
            redis_url,
            prefix,
            command,
            SANDBOX,
            *options,
            cwd=ROOT,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        worker = Worker(process)
        try:
            assert await worker.read() == "ready"
            yield worker
        finally:
            if process.returncode is None and process.stdin is not None:
                process.stdin.close()
            try:
                await asyncio.wait_for(process.wait(), 10)
            except TimeoutError:
                process.kill()
            await process.communicate()

    return run


async def state(redis_url: str, prefix: str) -> tuple[int, int, int]:
    """(confirmed quiz uses, reservations in flight, slots taken) of the test sandbox."""
    client = Redis.from_url(redis_url)
    try:
        usage = int(await client.get(f"{prefix}:usage:quiz:{SANDBOX}") or 0)
        pending = await client.zcard(f"{prefix}:pending:quiz:{SANDBOX}")
        slots = await client.zcard(f"{prefix}:slots")
    finally:
        await client.aclose()
    return usage, int(pending), int(slots)


async def test_two_processes_share_one_limit(spawn: Spawn, redis_url: str, prefix: str) -> None:
    burst = ("burst", "--count", "8", "--limit", "10", "--max", "20")
    async with spawn(*burst) as first, spawn(*burst) as second:
        await asyncio.gather(first.send(), second.send())
        outcomes = await asyncio.gather(first.read(), second.read())
    assert sum(outcome["admitted"] for outcome in outcomes) == 10
    refused = [outcome["refused"] for outcome in outcomes]
    assert sum(count.get("guest_rate_limit", 0) for count in refused) == 6
    assert all(set(count) <= {"guest_rate_limit"} for count in refused)
    assert await state(redis_url, prefix) == (10, 0, 0)


async def test_a_slot_held_in_one_process_blocks_another(
    spawn: Spawn, redis_url: str, prefix: str
) -> None:
    async with spawn("hold", "--max", "1") as holder:
        await holder.send()
        assert await holder.read() == {"held": True}

        async with spawn("admit", "--max", "1", "--wait", "0.5") as impatient:
            await impatient.send()
            outcome = await impatient.read()
        assert outcome["ok"] is False
        assert outcome["code"] == "guest_concurrent_limit"
        assert 0.5 <= outcome["waited"] < 5
        assert await state(redis_url, prefix) == (0, 1, 1)  # its reservation went back

        async with spawn("admit", "--max", "1", "--wait", "20") as patient:
            await patient.send()
            await asyncio.sleep(0.5)
            await holder.send("release")
            assert await holder.read() == {"done": True}
            outcome = await patient.read()
        assert outcome["ok"] is True
        assert 0.5 <= outcome["waited"] < 10
    assert await state(redis_url, prefix) == (2, 0, 0)

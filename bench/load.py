"""A small closed-loop load generator: N workers on one keep-alive client, bounded in time."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import httpx

# One request: returns whether it succeeded (a transport error counts as a failure).
Request = Callable[[httpx.AsyncClient], Awaitable[bool]]

REQUEST_TIMEOUT_S = 30.0
# Past its duration a run waits this long for requests in flight, then is cancelled.
_GRACE_S = REQUEST_TIMEOUT_S + 5.0


def percentile(values: list[float], q: float) -> float | None:
    """The nearest-rank `q`th percentile (0 < q <= 100) of `values`, or None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass(slots=True)
class LoadResult:
    """What one run did: successes, failures, wall time and each success's latency."""

    concurrency: int
    ok: int = 0
    errors: int = 0
    elapsed_s: float = 0.0
    latencies_s: list[float] = field(default_factory=list)

    @property
    def requests(self) -> int:
        return self.ok + self.errors

    @property
    def rps(self) -> float:
        """Successful requests per second of wall time."""
        return self.ok / self.elapsed_s if self.elapsed_s > 0 else 0.0

    def latency_ms(self, q: float) -> float | None:
        value = percentile(self.latencies_s, q)
        return None if value is None else value * 1000


def client(
    base_url: str, concurrency: int, headers: dict[str, str] | None = None
) -> httpx.AsyncClient:
    """A keep-alive client with one pooled connection per worker."""
    return httpx.AsyncClient(
        base_url=base_url,
        headers=headers,
        timeout=httpx.Timeout(REQUEST_TIMEOUT_S),
        limits=httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency),
    )


async def run_load(
    http: httpx.AsyncClient,
    request: Request,
    *,
    concurrency: int,
    duration_s: float,
    max_requests: int | None = None,
) -> LoadResult:
    """Run `concurrency` workers that each send `request` back to back.

    Workers stop starting requests after `duration_s` or once `max_requests` have started,
    whichever comes first; the elapsed time runs until the last request in flight ends.
    """
    if concurrency < 1:
        raise ValueError("concurrency must be at least 1")
    result = LoadResult(concurrency=concurrency)
    started = time.perf_counter()
    stop_at = started + duration_s
    issued = 0
    last_end = started

    async def worker() -> None:
        nonlocal issued, last_end
        while time.perf_counter() < stop_at and (max_requests is None or issued < max_requests):
            issued += 1
            t0 = time.perf_counter()
            try:
                ok = await request(http)
            except httpx.HTTPError:
                ok = False
            t1 = time.perf_counter()
            last_end = max(last_end, t1)
            if ok:
                result.ok += 1
                result.latencies_s.append(t1 - t0)
            else:
                result.errors += 1

    async with asyncio.timeout(duration_s + _GRACE_S), asyncio.TaskGroup() as group:
        for _ in range(concurrency):
            group.create_task(worker())
    result.elapsed_s = last_end - started
    return result

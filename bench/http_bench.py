"""The benchmark scenarios: `/healthz`, quiz JSON and quiz SSE against a `ServerProcess`."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx

from bench.fixtures import API_KEY, QUESTION_COUNT, quiz_body
from bench.load import LoadResult, Request, client, percentile, run_load
from bench.process import ServerProcess

QUIZ_PATH = "/v1/quiz/generate"
_AUTH = {"x-api-key": API_KEY}


@dataclass(frozen=True, slots=True)
class Phase:
    """How hard and how long to push: a warm-up run, then the measured run."""

    concurrency: int
    duration_s: float
    warmup_s: float = 0.0


def _round(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(value, digits)


def _cpu_us_per(cpu_s: float | None, count: int) -> float | None:
    return None if cpu_s is None or count <= 0 else round(cpu_s * 1e6 / count, 1)


def _cpu_delta(before: float | None, after: float | None) -> float | None:
    # /proc counts clock ticks (usually 10 ms): CPU per request is an average over many.
    return None if before is None or after is None else round(after - before, 3)


def summarize(result: LoadResult, server_cpu_s: float | None) -> dict[str, Any]:
    """The numbers a load run reports (latencies of successful requests only)."""
    return {
        "concurrency": result.concurrency,
        "elapsed_s": round(result.elapsed_s, 3),
        "requests": result.requests,
        "errors": result.errors,
        "rps": round(result.rps, 2),
        "p50_ms": _round(result.latency_ms(50)),
        "p95_ms": _round(result.latency_ms(95)),
        "server_cpu_s": server_cpu_s,
        "server_cpu_us_per_request": _cpu_us_per(server_cpu_s, result.ok),
    }


async def measure(
    server: ServerProcess, request: Request, phase: Phase, *, headers: dict[str, str] | None = None
) -> dict[str, Any]:
    """Warm up, then run `request` under `phase` while reading the server's CPU time."""
    async with client(server.url, phase.concurrency, headers) as http:
        if phase.warmup_s > 0:
            await run_load(http, request, concurrency=phase.concurrency, duration_s=phase.warmup_s)
        before = server.cpu_seconds()
        result = await run_load(
            http, request, concurrency=phase.concurrency, duration_s=phase.duration_s
        )
        after = server.cpu_seconds()
    return summarize(result, _cpu_delta(before, after))


async def _healthz(http: httpx.AsyncClient) -> bool:
    response = await http.get("/healthz")
    return response.status_code == 200


async def bench_healthz(server: ServerProcess, phase: Phase) -> dict[str, Any]:
    return await measure(server, _healthz, phase)


async def _quiz_json(http: httpx.AsyncClient) -> bool:
    response = await http.post(QUIZ_PATH, json=quiz_body())
    return response.status_code == 200


async def probe_quiz(server: ServerProcess) -> dict[str, Any]:
    """One quiz request, checked in full: who answered and how many valid questions came back."""
    async with client(server.url, 1, _AUTH) as http:
        response = await http.post(QUIZ_PATH, json=quiz_body())
    body = response.json()
    if response.status_code != 200 or not body.get("ok"):
        raise RuntimeError(f"quiz probe failed: {response.status_code} {body.get('error')}")
    data = body["data"]
    return {
        "provider": data["provider"],
        "model": data["model"],
        "questions": len(data["payload"]["questions"]),
    }


async def bench_quiz_json(server: ServerProcess, phase: Phase) -> dict[str, Any]:
    """Quiz generation answered as one JSON envelope (`question_count` 5, ~2 KB material)."""
    probe = await probe_quiz(server)
    summary = await measure(server, _quiz_json, phase, headers=_AUTH)
    return {**probe, "question_count": QUESTION_COUNT, **summary}


@dataclass(slots=True)
class StreamRecord:
    """One SSE stream as the client saw it."""

    status: int
    events: Counter[str] = field(default_factory=Counter)
    last_event: str | None = None
    # Seconds from sending the request to the first body line and to the first `messages` event.
    first_byte_s: float | None = None
    first_token_s: float | None = None

    @property
    def total(self) -> int:
        return sum(self.events.values())

    @property
    def completed(self) -> bool:
        return self.status == 200 and self.last_event == "values"


async def read_stream(http: httpx.AsyncClient, body: dict[str, Any]) -> StreamRecord:
    """POST for SSE and count the `event:` lines until the server ends the stream."""
    headers = {"accept": "text/event-stream"}
    started = time.perf_counter()
    async with http.stream("POST", QUIZ_PATH, json=body, headers=headers) as response:
        record = StreamRecord(status=response.status_code)
        async for line in response.aiter_lines():
            if record.first_byte_s is None:
                record.first_byte_s = time.perf_counter() - started
            if line.startswith("event:"):
                name = line.removeprefix("event:").strip()
                record.events[name] += 1
                record.last_event = name
                if name == "messages" and record.first_token_s is None:
                    record.first_token_s = time.perf_counter() - started
    return record


def _p50_ms(values: list[float | None]) -> float | None:
    value = percentile([v for v in values if v is not None], 50)
    return None if value is None else round(value * 1000, 3)


class StreamRecorder:
    """A load `Request` that reads one whole SSE stream and keeps its record."""

    def __init__(self) -> None:
        self.records: list[StreamRecord] = []

    async def __call__(self, http: httpx.AsyncClient) -> bool:
        record = await read_stream(http, quiz_body())
        self.records.append(record)
        return record.completed


async def bench_quiz_sse(
    server: ServerProcess, *, streams: int, concurrency: int, max_duration_s: float = 60.0
) -> dict[str, Any]:
    """`streams` SSE quiz runs at `concurrency`: events per stream and server CPU per event."""
    async with client(server.url, concurrency, _AUTH) as http:
        warmup = StreamRecorder()
        await run_load(
            http,
            warmup,
            concurrency=concurrency,
            duration_s=max_duration_s,
            max_requests=concurrency,
        )
        recorder = StreamRecorder()
        before = server.cpu_seconds()
        result = await run_load(
            http,
            recorder,
            concurrency=concurrency,
            duration_s=max_duration_s,
            max_requests=streams,
        )
        after = server.cpu_seconds()
    cpu_s = _cpu_delta(before, after)
    records = recorder.records
    by_type: Counter[str] = Counter()
    for record in records:
        by_type.update(record.events)
    total_events = sum(by_type.values())
    last_events = Counter(str(record.last_event) for record in records)
    return {
        "streams": len(records),
        "completed_streams": sum(record.completed for record in records),
        "errors": result.errors,
        "concurrency": concurrency,
        "elapsed_s": round(result.elapsed_s, 3),
        "streams_per_s": round(result.rps, 2),
        "p50_ms": _round(result.latency_ms(50)),
        "p95_ms": _round(result.latency_ms(95)),
        "events_total": total_events,
        "events_per_stream": round(total_events / len(records), 2) if records else 0.0,
        "events_by_type": dict(by_type.most_common()),
        "last_events": dict(last_events),
        "server_cpu_s": cpu_s,
        "server_cpu_us_per_event": _cpu_us_per(cpu_s, total_events),
        "server_cpu_us_per_stream": _cpu_us_per(cpu_s, len(records)),
        "first_byte_p50_ms": _p50_ms([record.first_byte_s for record in records]),
        "first_token_p50_ms": _p50_ms([record.first_token_s for record in records]),
    }

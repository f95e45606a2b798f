"""`python -m bench [--quick] [--out PATH]`: benchmark the real server in a child process.

Starts `python -m bench.serve` twice (a scripted fake model, and no provider so the offline
engine answers), drives each over loopback with an asyncio load generator, prints a table and
writes the numbers as JSON (default `bench/out/results.json`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sys
import tempfile
import time
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bench.http_bench import Phase, bench_healthz, bench_quiz_json, bench_quiz_sse
from bench.process import REPO_ROOT, ServerProcess

DEFAULT_OUT = REPO_ROOT / "bench" / "out" / "results.json"


@dataclass(frozen=True, slots=True)
class SuiteConfig:
    healthz: Phase
    quiz_fake: Phase
    quiz_offline: Phase
    sse_streams: int
    sse_concurrency: int


FULL = SuiteConfig(
    healthz=Phase(concurrency=16, duration_s=3.0, warmup_s=0.5),
    quiz_fake=Phase(concurrency=8, duration_s=4.0, warmup_s=0.5),
    quiz_offline=Phase(concurrency=8, duration_s=3.0, warmup_s=0.5),
    sse_streams=40,
    sse_concurrency=4,
)
QUICK = SuiteConfig(
    healthz=Phase(concurrency=4, duration_s=0.3, warmup_s=0.1),
    quiz_fake=Phase(concurrency=2, duration_s=0.3, warmup_s=0.1),
    quiz_offline=Phase(concurrency=2, duration_s=0.3, warmup_s=0.1),
    sse_streams=4,
    sse_concurrency=2,
)


async def _start(servers: Sequence[ServerProcess]) -> dict[str, float]:
    """Start every server at once and wait until each is healthy; seconds each took."""
    started = time.perf_counter()
    took: dict[str, float] = {}

    async def ready(server: ServerProcess) -> None:
        await server.wait_ready()
        took["fake_model" if server.fake_model else "offline"] = round(
            time.perf_counter() - started, 3
        )

    for server in servers:
        server.start()
    async with asyncio.TaskGroup() as group:
        for server in servers:
            group.create_task(ready(server))
    return took


async def run_suite(config: SuiteConfig) -> dict[str, Any]:
    """Run every scenario; the servers are stopped whatever happens."""
    began = time.perf_counter()
    results: dict[str, Any] = {}
    with (
        tempfile.TemporaryDirectory(prefix="stemgraph-bench-") as tmp,
        ExitStack() as stack,
    ):
        root = Path(tmp)
        fake, offline = (
            ServerProcess(data_dir=root / name, log_path=root / f"{name}.log", fake_model=is_fake)
            for name, is_fake in (("fake", True), ("offline", False))
        )
        stack.callback(offline.stop)
        stack.callback(fake.stop)
        startup_s = await _start([fake, offline])
        results["healthz"] = await bench_healthz(fake, config.healthz)
        results["quiz_json_fake"] = await bench_quiz_json(fake, config.quiz_fake)
        results["quiz_sse_fake"] = await bench_quiz_sse(
            fake, streams=config.sse_streams, concurrency=config.sse_concurrency
        )
        results["quiz_json_offline"] = await bench_quiz_json(offline, config.quiz_offline)
    results["meta"] = {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "startup_s": startup_s,
        "total_s": round(time.perf_counter() - began, 3),
        "config": asdict(config),
        "note": "client and server share this machine's CPUs; server CPU is from /proc",
    }
    return results


def _num(value: Any, digits: int = 1) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def format_table(results: dict[str, Any]) -> str:
    """The results as a plain-text table."""
    meta = results["meta"]
    lines = [
        f"stemgraph bench: Python {meta['python']}, {meta['cpus']} CPUs, "
        f"{meta['total_s']:.1f} s in all (server start-up "
        + ", ".join(f"{k} {v:.1f} s" for k, v in meta["startup_s"].items())
        + ")",
        "",
        f"{'scenario':<28}{'conc':>5}{'reqs':>7}{'err':>5}{'req/s':>10}"
        f"{'p50 ms':>9}{'p95 ms':>9}{'srv CPU µs/req':>16}",
    ]
    rows = (
        ("GET /healthz", "healthz"),
        ("quiz JSON (fake model)", "quiz_json_fake"),
        ("quiz JSON (offline engine)", "quiz_json_offline"),
    )
    for label, key in rows:
        row = results[key]
        lines.append(
            f"{label:<28}{row['concurrency']:>5}{row['requests']:>7}{row['errors']:>5}"
            f"{_num(row['rps']):>10}{_num(row['p50_ms']):>9}{_num(row['p95_ms']):>9}"
            f"{_num(row['server_cpu_us_per_request'], 0):>16}"
        )
    sse = results["quiz_sse_fake"]
    by_type = ", ".join(f"{k} {v}" for k, v in sse["events_by_type"].items())
    last = ", ".join(f"{k} ×{v}" for k, v in sse["last_events"].items())
    lines += [
        "",
        f"quiz SSE (fake model): {sse['streams']} streams at concurrency {sse['concurrency']}, "
        f"{sse['completed_streams']} completed",
        f"  streams/s {_num(sse['streams_per_s'])}   stream p50 {_num(sse['p50_ms'])} ms"
        f"   p95 {_num(sse['p95_ms'])} ms",
        f"  events/stream {_num(sse['events_per_stream'])}   events total {sse['events_total']}",
        f"  server CPU µs/event {_num(sse['server_cpu_us_per_event'])}"
        f"   µs/stream {_num(sse['server_cpu_us_per_stream'], 0)}",
        f"  events by type: {by_type}",
        f"  last event: {last}",
    ]
    return "\n".join(lines)


def write_results(results: dict[str, Any], out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="tiny durations (a smoke run)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where the JSON goes")
    args = parser.parse_args(argv)
    results = asyncio.run(run_suite(QUICK if args.quick else FULL))
    print(format_table(results))
    from bench import offline

    results["offline_engine"] = offline.run()
    print()
    print(offline.format_rows(results["offline_engine"]))
    if not args.quick:
        from bench import chat

        results["chat"] = asyncio.run(chat.run(40, os.environ.get("STEMGRAPH_TEST_POSTGRES_URL")))
        print()
        print(chat.format_rows(results["chat"]))
    from bench import checkpoints

    checkpoints.add_to(results, quick=args.quick)
    write_results(results, args.out)
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

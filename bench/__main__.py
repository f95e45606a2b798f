"""`python -m bench [--quick] [--floor-only [--rounds N] | --protocol-only] [--out PATH]`:
benchmark the real server in a child process (`--floor-only`: just its comparison with the
floor; `--protocol-only`: just the LangGraph protocol section).

Starts `python -m bench.serve` twice (a scripted fake model, and no provider so the offline
engine answers) and the floor (`bench.floor`: the same compiled quiz graph behind bare
Starlette + sse-starlette), drives each over loopback with an asyncio load generator, compares
the real server with the floor in the same run, then runs the many-streams load test
(`bench.many_streams`), the LangGraph protocol against the v1 SSE route and `make dev`
(`bench.protocol`), then the storage benches (chat checkpoints on Postgres, retrieval on the
pgvector server: `bench.checkpoints`, `bench.retrieval`), prints tables and writes the numbers
as JSON (default `bench/out/results.json`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from bench import many_streams
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
    # The floor comparison: streams at concurrency 1 and at 8, for the server and the floor.
    floor_streams_c1: int
    floor_streams_c8: int
    floor_rounds: int
    many: many_streams.ManyConfig


FULL = SuiteConfig(
    healthz=Phase(concurrency=16, duration_s=3.0, warmup_s=0.5),
    quiz_fake=Phase(concurrency=8, duration_s=4.0, warmup_s=0.5),
    quiz_offline=Phase(concurrency=8, duration_s=3.0, warmup_s=0.5),
    sse_streams=40,
    sse_concurrency=4,
    floor_streams_c1=30,
    floor_streams_c8=96,
    floor_rounds=3,
    many=many_streams.FULL,
)
QUICK = SuiteConfig(
    healthz=Phase(concurrency=4, duration_s=0.3, warmup_s=0.1),
    quiz_fake=Phase(concurrency=2, duration_s=0.3, warmup_s=0.1),
    quiz_offline=Phase(concurrency=2, duration_s=0.3, warmup_s=0.1),
    sse_streams=4,
    sse_concurrency=2,
    floor_streams_c1=4,
    floor_streams_c8=16,
    floor_rounds=1,
    many=many_streams.QUICK,
)


async def _start(servers: Sequence[ServerProcess]) -> dict[str, float]:
    """Start every server at once and wait until each is healthy; seconds each took."""
    started = time.perf_counter()
    took: dict[str, float] = {}

    async def ready(server: ServerProcess) -> None:
        await server.wait_ready()
        took[server.log_path.stem] = round(time.perf_counter() - started, 3)

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
            for name, is_fake in (("fake_model", True), ("offline", False))
        )
        floor = ServerProcess(
            data_dir=root / "floor",
            log_path=root / "floor.log",
            fake_model=True,
            module="bench.floor",
        )
        timed = many_streams.timed_server(root)
        stall_server = many_streams.timed_server(root, "stalled")
        stack.callback(stall_server.stop)
        stack.callback(timed.stop)
        stack.callback(floor.stop)
        stack.callback(offline.stop)
        stack.callback(fake.stop)
        startup_s = await _start([fake, offline, floor, timed, stall_server])
        # Stalled clients wait out the send timeout while the other scenarios run.
        stall = asyncio.create_task(many_streams.stalled(stall_server, config.many))
        stack.callback(stall.cancel)
        results["healthz"] = await bench_healthz(fake, config.healthz)
        results["quiz_json_fake"] = await bench_quiz_json(fake, config.quiz_fake)
        results["quiz_sse_fake"] = await bench_quiz_sse(
            fake, streams=config.sse_streams, concurrency=config.sse_concurrency
        )
        results["quiz_json_offline"] = await bench_quiz_json(offline, config.quiz_offline)
        results["floor"] = await compare_with_floor(fake, floor, config)
        results["floor"]["json"] = await compare_json_with_floor(fake, floor, config)
        # The other servers would only add memory and noise to the many-streams run.
        offline.stop()
        floor.stop()
        fake.stop()
        results["many_streams"] = await many_streams.run(timed, config.many, stall)
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


async def run_floor_only(config: SuiteConfig) -> dict[str, Any]:
    """The real server (scripted model) against the floor, nothing else."""
    with tempfile.TemporaryDirectory(prefix="stemgraph-bench-") as tmp, ExitStack() as stack:
        root = Path(tmp)
        server = ServerProcess(data_dir=root / "fake", log_path=root / "fake.log", fake_model=True)
        floor = ServerProcess(
            data_dir=root / "floor",
            log_path=root / "floor.log",
            fake_model=True,
            module="bench.floor",
        )
        stack.callback(floor.stop)
        stack.callback(server.stop)
        await _start([server, floor])
        results = await compare_with_floor(server, floor, config)
        results["json"] = await compare_json_with_floor(server, floor, config)
        return results


def _ratio(real: float | None, floor: float | None) -> float | None:
    return None if real is None or not floor else round(real / floor, 3)


def _median(values: list[Any]) -> float | None:
    present = [v for v in values if v is not None]
    return round(statistics.median(present), 3) if present else None


def _side(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """One side's numbers over every round: CPU per event and per stream over all of them,
    the median round's streams/s and p50 latencies."""
    rows = [run for by_concurrency in rounds for run in by_concurrency.values()]
    cpu = [row["server_cpu_s"] for row in rows]
    events = sum(row["events_total"] for row in rows)
    streams = sum(row["streams"] for row in rows)
    total_cpu = None if None in cpu else sum(cpu)
    return {
        "rounds": len(rounds),
        "events_per_stream": round(events / streams, 2) if streams else 0.0,
        "completed_streams": sum(row["completed_streams"] for row in rows),
        "streams": streams,
        "server_cpu_us_per_event": (
            None if total_cpu is None or not events else round(total_cpu * 1e6 / events, 1)
        ),
        "server_cpu_us_per_stream": (
            None if total_cpu is None or not streams else round(total_cpu * 1e6 / streams, 1)
        ),
        "streams_per_s_c1": _median([r["c1"]["streams_per_s"] for r in rounds]),
        "streams_per_s_c8": _median([r["c8"]["streams_per_s"] for r in rounds]),
        # Latency to the first byte and first token without queueing: the c1 runs.
        "first_byte_p50_ms": _median([r["c1"]["first_byte_p50_ms"] for r in rounds]),
        "first_token_p50_ms": _median([r["c1"]["first_token_p50_ms"] for r in rounds]),
        "runs": rounds,
    }


async def compare_with_floor(
    server: ServerProcess, floor: ServerProcess, config: SuiteConfig
) -> dict[str, Any]:
    """The quiz SSE stream from the real server and from the floor, at concurrency 1 and 8,
    in `floor_rounds` rounds, each interleaved so that drift in the machine's load hits both
    alike; ratios are real/floor."""
    rounds: dict[str, list[dict[str, Any]]] = {"server": [], "floor": []}
    for _ in range(config.floor_rounds):
        this: dict[str, dict[str, Any]] = {"server": {}, "floor": {}}
        for concurrency, streams in ((1, config.floor_streams_c1), (8, config.floor_streams_c8)):
            for name, target in (("server", server), ("floor", floor)):
                this[name][f"c{concurrency}"] = await bench_quiz_sse(
                    target, streams=streams, concurrency=concurrency
                )
        for name, by_concurrency in this.items():
            rounds[name].append(by_concurrency)
    sides = {name: _side(side_rounds) for name, side_rounds in rounds.items()}
    metrics = (
        "server_cpu_us_per_event",
        "server_cpu_us_per_stream",
        "streams_per_s_c1",
        "streams_per_s_c8",
        "first_byte_p50_ms",
        "first_token_p50_ms",
    )
    return {
        "server": sides["server"],
        "floor": sides["floor"],
        "ratios": {m: _ratio(sides["server"][m], sides["floor"][m]) for m in metrics},
        "note": "ratios are real server / floor, measured in the same run (CPU over every "
        "round, streams/s and latencies the median round)",
    }


async def compare_json_with_floor(
    server: ServerProcess, floor: ServerProcess, config: SuiteConfig
) -> dict[str, Any]:
    """The quiz JSON route of the real server and of the floor, at concurrency 1 and 8 for
    `quiz_fake.duration_s` each, interleaved; ratios are real/floor (CPU per request and
    requests/s)."""
    sides: dict[str, dict[str, Any]] = {"server": {}, "floor": {}}
    for concurrency in (1, 8):
        phase = replace(config.quiz_fake, concurrency=concurrency)
        for name, target in (("server", server), ("floor", floor)):
            sides[name][f"c{concurrency}"] = await bench_quiz_json(target, phase)
    ratios = {}
    for key in ("c1", "c8"):
        for metric in ("rps", "server_cpu_us_per_request", "p50_ms"):
            ratios[f"{metric}_{key}"] = _ratio(
                sides["server"][key][metric], sides["floor"][key][metric]
            )
    return {**sides, "ratios": ratios}


def format_floor(floor: dict[str, Any]) -> str:
    """The floor comparison as a table."""
    rows = (
        ("server CPU µs/event", "server_cpu_us_per_event", 1),
        ("server CPU µs/stream", "server_cpu_us_per_stream", 0),
        ("streams/s, 1 client", "streams_per_s_c1", 1),
        ("streams/s, 8 clients", "streams_per_s_c8", 1),
        ("p50 first byte ms", "first_byte_p50_ms", 2),
        ("p50 first token ms", "first_token_p50_ms", 2),
        ("events/stream", "events_per_stream", 1),
    )
    lines = [
        "quiz SSE: real server vs floor (same graph, input and fake model; ratio real/floor)",
        f"{'metric':<24}{'server':>12}{'floor':>12}{'ratio':>9}",
    ]
    for label, key, digits in rows:
        ratio = floor["ratios"].get(key)
        lines.append(
            f"{label:<24}{_num(floor['server'][key], digits):>12}"
            f"{_num(floor['floor'][key], digits):>12}{_num(ratio, 2):>9}"
        )
    if "json" in floor:
        json_ = floor["json"]
        lines.append("quiz JSON: real server vs floor")
        for key in ("c1", "c8"):
            for label, metric, digits in (
                ("req/s", "rps", 1),
                ("server CPU µs/req", "server_cpu_us_per_request", 0),
            ):
                lines.append(
                    f"{label + ', ' + key:<24}{_num(json_['server'][key][metric], digits):>12}"
                    f"{_num(json_['floor'][key][metric], digits):>12}"
                    f"{_num(json_['ratios'][f'{metric}_{key}'], 2):>9}"
                )
    return "\n".join(lines)


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
        "",
        format_floor(results["floor"]),
        "",
        many_streams.format_rows(results["many_streams"]),
    ]
    return "\n".join(lines)


def write_results(results: dict[str, Any], out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="tiny durations (a smoke run)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where the JSON goes")
    parser.add_argument(
        "--floor-only",
        action="store_true",
        help="only the comparison with the floor (while iterating on the request path)",
    )
    parser.add_argument("--rounds", type=int, default=None, help="floor comparison rounds")
    parser.add_argument(
        "--protocol-only",
        action="store_true",
        help="only the LangGraph protocol vs the v1 SSE route and `make dev`",
    )
    args = parser.parse_args(argv)
    from bench import protocol

    if args.protocol_only:
        protocol_results: dict[str, Any] = {}
        protocol.add_to(protocol_results, quick=args.quick)
        write_results(protocol_results, args.out)
        print(f"\nwrote {args.out}")
        return 0
    if args.floor_only:
        config = QUICK if args.quick else FULL
        if args.rounds:
            config = replace(config, floor_rounds=args.rounds)
        floor_results = asyncio.run(run_floor_only(config))
        print(format_floor(floor_results))
        write_results({"floor": floor_results}, args.out)
        print(f"\nwrote {args.out}")
        return 0
    # Under CI=true a missing studio venv fails now, not after the other sections.
    protocol.find_studio()
    results = asyncio.run(run_suite(QUICK if args.quick else FULL))
    print(format_table(results))
    from bench import offline

    results["offline_engine"] = offline.run()
    print()
    print(offline.format_rows(results["offline_engine"]))
    protocol.add_to(results, quick=args.quick)
    if not args.quick:
        from bench import chat

        results["chat"] = asyncio.run(chat.run(40, os.environ.get("STEMGRAPH_TEST_POSTGRES_URL")))
        print()
        print(chat.format_rows(results["chat"]))
    from bench import checkpoints

    checkpoints.add_to(results, quick=args.quick)
    from bench import retrieval

    retrieval.add_to(results, quick=args.quick)
    write_results(results, args.out)
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

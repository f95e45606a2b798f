"""The LangGraph Server protocol side by side with the v1 SSE route and with `make dev`.

One graph (`quiz`, offline engine: no provider in either server's environment), one input
(`bench.fixtures.quiz_body`), one httpx streaming client for every server:

- stemgraph (`bench.serve`, no model: the offline engine answers): `POST /runs/stream`
  (stateless), `POST /threads` + `POST /threads/{id}/runs/stream`, and `POST /v1/quiz/generate`
  as SSE;
- `langgraph dev` (the command `make dev` runs, from the studio venv): the same two protocol
  calls.

Each call is measured at 1 and at 8 concurrent clients: runs/s, server CPU per streamed event
(the server process tree's CPU time from /proc), time to the first event. Without a studio
venv the `make dev` half is skipped with a reason, except under CI=true where it must run.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

import httpx

from bench.fixtures import API_KEY, quiz_body
from bench.load import client, percentile, run_load
from bench.process import REPO_ROOT, ServerProcess, _child_env, cpu_seconds, free_port

GRAPH = "quiz"
# Every mode the v1 SSE route streams: the same kinds of events from every server.
STREAM_MODE = ["values", "updates", "custom", "messages-tuple"]
V1_PATH = "/v1/quiz/generate"
IN_CI = os.environ.get("CI", "").lower() == "true"
# The targets.
TARGET_CPU_PER_EVENT_VS_V1 = 1.2
TARGET_RUNS_PER_S_VS_DEV_C8 = 4.0
TARGET_FIRST_EVENT_P50_MS = 20.0


@dataclass(frozen=True, slots=True)
class ProtocolConfig:
    """How many streams each call runs at 1 and at 8 clients (`dev_*`: against `make dev`,
    which is far slower, so fewer keep the section short)."""

    streams_c1: int
    streams_c8: int
    dev_streams_c1: int
    dev_streams_c8: int


FULL = ProtocolConfig(streams_c1=24, streams_c8=64, dev_streams_c1=8, dev_streams_c8=24)
QUICK = ProtocolConfig(streams_c1=3, streams_c8=8, dev_streams_c1=2, dev_streams_c8=8)


class Target(Protocol):
    @property
    def url(self) -> str: ...

    def cpu_seconds(self) -> float | None: ...


def tree_cpu_seconds(pid: int) -> float | None:
    """CPU time of `pid` and every live descendant (`langgraph dev` may run workers)."""
    own = cpu_seconds(pid)
    if own is None:
        return None
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            raw = (entry / "stat").read_text()
        except OSError:
            continue
        parents[int(entry.name)] = int(raw[raw.rindex(")") + 2 :].split()[1])
    total, frontier = own, [pid]
    while frontier:
        parent = frontier.pop()
        for child, its_parent in parents.items():
            if its_parent == parent:
                total += cpu_seconds(child) or 0.0
                frontier.append(child)
    return total


def studio_bin() -> Path | None:
    """`STEMGRAPH_STUDIO_BIN`, or the `.venv-studio/bin` that `make dev` creates."""
    given = os.environ.get("STEMGRAPH_STUDIO_BIN")
    path = Path(given) if given else REPO_ROOT / ".venv-studio" / "bin"
    return path if (path / "langgraph").is_file() else None


def find_studio() -> tuple[Path | None, str | None]:
    """The studio venv's bin, or None and why the `make dev` half is skipped; under CI=true
    there must be one (`make bench` builds it there)."""
    studio = studio_bin()
    if studio is not None:
        return studio, None
    reason = "no studio venv: run `make dev` once, or set STEMGRAPH_STUDIO_BIN"
    if IN_CI:
        raise RuntimeError(reason + " (CI: the bench must compare with `make dev`)")
    return None, reason


class DevServer:
    """`langgraph dev` as `make dev` runs it, on a free port, in dev mode on a fresh data dir
    (its in-memory runtime keeps state in the working directory: a fresh one too)."""

    def __init__(self, studio: Path, work: Path) -> None:
        self.studio = studio
        self.work = work
        self.port = free_port()
        self.log_path = work / "langgraph-dev.log"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.work.mkdir(parents=True, exist_ok=True)
        config = json.loads((REPO_ROOT / "langgraph.json").read_text())
        config["dependencies"] = [str(REPO_ROOT)]
        config["graphs"] = {
            name: str(REPO_ROOT / entry[2:]) for name, entry in config["graphs"].items()
        }
        (self.work / "langgraph.json").write_text(json.dumps(config))
        env = {
            **_child_env(),
            "STEMGRAPH_DATA_DIR": str(self.work / "data"),
            "STEMGRAPH_DEV_MODE": "true",
            "LANGGRAPH_CLI_NO_ANALYTICS": "1",
            "LANGCHAIN_TRACING_V2": "false",
        }
        command = [str(self.studio / "langgraph"), "dev", "--host", "127.0.0.1"]
        command += ["--port", str(self.port), "--no-browser", "--no-reload"]
        with self.log_path.open("wb") as log:
            self._process = subprocess.Popen(
                command, cwd=self.work, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log
            )

    async def wait_ready(self, timeout_s: float = 120.0) -> None:
        deadline = time.monotonic() + timeout_s
        async with httpx.AsyncClient(base_url=self.url, timeout=2.0) as http:
            while True:
                if self._process is None or self._process.poll() is not None:
                    raise RuntimeError(f"langgraph dev exited early:\n{self._tail()}")
                try:
                    if (await http.get("/ok")).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise TimeoutError(f"langgraph dev did not answer:\n{self._tail()}")
                await asyncio.sleep(0.2)

    def _tail(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-3000:]
        except OSError:
            return ""

    def cpu_seconds(self) -> float | None:
        return None if self._process is None else tree_cpu_seconds(self._process.pid)

    def stop(self) -> None:
        """SIGINT, as a developer stops `make dev`; SIGKILL if it lingers."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclass(slots=True)
class Stream:
    """One SSE stream as the client saw it."""

    status: int
    events: Counter[str] = field(default_factory=Counter)
    last_event: str | None = None
    first_event_s: float | None = None

    @property
    def completed(self) -> bool:
        # Every call here ends with the final state; an `error` event ends it otherwise.
        return self.status == 200 and self.last_event == "values" and not self.events["error"]


class Call:
    """A load `Request`: one streamed run of `kind` (`stateless`, `thread` or `v1`)."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.streams: list[Stream] = []

    async def __call__(self, http: httpx.AsyncClient) -> bool:
        body: dict[str, Any]
        if self.kind == "v1":
            path, body = V1_PATH, quiz_body()
        else:
            # The graph's input schema has no nulls (the v1 body turns them into ""): a run
            # that sent one would be refused with 422.
            graph_input = {k: v for k, v in quiz_body().items() if v is not None}
            body = {"assistant_id": GRAPH, "input": graph_input, "stream_mode": STREAM_MODE}
            path = "/runs/stream"
            if self.kind == "thread":
                created = await http.post("/threads", json={})
                if created.status_code != 200:
                    return False
                path = f"/threads/{created.json()['thread_id']}/runs/stream"
        started = time.perf_counter()
        headers = {"accept": "text/event-stream"}
        async with http.stream("POST", path, json=body, headers=headers) as response:
            stream = Stream(status=response.status_code)
            async for line in response.aiter_lines():
                if line.startswith("event:"):
                    if stream.first_event_s is None:
                        stream.first_event_s = time.perf_counter() - started
                    name = line.removeprefix("event:").strip()
                    stream.events[name] += 1
                    stream.last_event = name
        self.streams.append(stream)
        return stream.completed


def _ms(values: list[float], q: float) -> float | None:
    value = percentile(values, q)
    return None if value is None else round(value * 1000, 2)


async def measure(target: Target, kind: str, *, streams: int, concurrency: int) -> dict[str, Any]:
    """`streams` runs of `kind` at `concurrency` after one warm-up run per client."""
    async with client(target.url, concurrency, {"x-api-key": API_KEY}) as http:
        await run_load(
            http, Call(kind), concurrency=concurrency, duration_s=120, max_requests=concurrency
        )
        call = Call(kind)
        before = target.cpu_seconds()
        result = await run_load(
            http, call, concurrency=concurrency, duration_s=120, max_requests=streams
        )
        after = target.cpu_seconds()
    cpu_s = None if before is None or after is None else after - before
    events = sum(sum(s.events.values()) for s in call.streams)
    firsts = [s.first_event_s for s in call.streams if s.first_event_s is not None]
    by_type: Counter[str] = Counter()
    for stream in call.streams:
        by_type.update(stream.events)
    return {
        "streams": len(call.streams),
        "completed": sum(s.completed for s in call.streams),
        "errors": result.errors,
        "runs_per_s": round(result.rps, 2),
        "events_per_stream": round(events / len(call.streams), 2) if call.streams else 0.0,
        "events_by_type": dict(by_type.most_common()),
        "server_cpu_s": None if cpu_s is None else round(cpu_s, 3),
        "server_cpu_us_per_event": (
            None if cpu_s is None or not events else round(cpu_s * 1e6 / events, 1)
        ),
        "first_event_p50_ms": _ms(firsts, 50),
        "first_event_p95_ms": _ms(firsts, 95),
    }


async def measure_kind(
    target: Target, kind: str, streams_c1: int, streams_c8: int
) -> dict[str, Any]:
    """One call at 1 and 8 clients; CPU per event over both runs."""
    c1 = await measure(target, kind, streams=streams_c1, concurrency=1)
    c8 = await measure(target, kind, streams=streams_c8, concurrency=8)
    cpu = [c1["server_cpu_s"], c8["server_cpu_s"]]
    events = c1["events_per_stream"] * c1["streams"] + c8["events_per_stream"] * c8["streams"]
    return {
        "c1": c1,
        "c8": c8,
        "runs_per_s_c1": c1["runs_per_s"],
        "runs_per_s_c8": c8["runs_per_s"],
        "server_cpu_us_per_event": (
            None if None in cpu or not events else round(sum(cpu) * 1e6 / events, 1)
        ),
        # Without queueing: the single-client run.
        "first_event_p50_ms": c1["first_event_p50_ms"],
        "first_event_p95_ms": c1["first_event_p95_ms"],
    }


def _ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or not b else round(a / b, 3)


async def run(root: Path, config: ProtocolConfig) -> dict[str, Any]:
    """Start stemgraph and (when there is a studio venv) `langgraph dev`, measure, stop both."""
    stemgraph = ServerProcess(
        data_dir=root / "protocol", log_path=root / "protocol.log", fake_model=False
    )
    studio, skipped = find_studio()
    dev = None if studio is None else DevServer(studio, root / "langgraph-dev")
    results: dict[str, Any] = {"graph": GRAPH, "stream_mode": STREAM_MODE}
    try:
        stemgraph.start()
        if dev is not None:
            dev.start()
        await stemgraph.wait_ready()
        if dev is not None:
            await dev.wait_ready()
        sides: dict[str, dict[str, Any]] = {"stemgraph": {}, "dev": {}}
        # Interleaved per call so that drift in the machine's load hits every side alike.
        for kind in ("stateless", "thread", "v1"):
            sides["stemgraph"][kind] = await measure_kind(
                stemgraph, kind, config.streams_c1, config.streams_c8
            )
            if dev is not None and kind != "v1":
                sides["dev"][kind] = await measure_kind(
                    dev, kind, config.dev_streams_c1, config.dev_streams_c8
                )
    finally:
        stemgraph.stop()
        if dev is not None:
            dev.stop()
    results["stemgraph"] = sides["stemgraph"]
    results["dev"] = sides["dev"] or None
    results["dev_skipped"] = skipped
    ours, v1 = sides["stemgraph"], sides["stemgraph"]["v1"]
    ratios: dict[str, float | None] = {}
    for kind in ("stateless", "thread"):
        ratios[f"cpu_per_event_{kind}_vs_v1"] = _ratio(
            ours[kind]["server_cpu_us_per_event"], v1["server_cpu_us_per_event"]
        )
        theirs = sides["dev"].get(kind)
        ratios[f"runs_per_s_c8_{kind}_vs_dev"] = (
            None if theirs is None else _ratio(ours[kind]["runs_per_s_c8"], theirs["runs_per_s_c8"])
        )
    results["ratios"] = ratios
    results["targets"] = {
        "cpu_per_event_vs_v1_max": TARGET_CPU_PER_EVENT_VS_V1,
        "runs_per_s_c8_vs_dev_min": TARGET_RUNS_PER_S_VS_DEV_C8,
        "first_event_p50_ms_max": TARGET_FIRST_EVENT_P50_MS,
    }
    results["config"] = asdict(config)
    return results


def _num(value: Any, digits: int = 1) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def format_rows(results: dict[str, Any]) -> str:
    """The section as a table, with the issue's targets beside the ratios."""
    ours, dev = results["stemgraph"], results["dev"] or {}
    columns = [
        ("protocol", ours["stateless"]),
        ("proto thread", ours["thread"]),
        ("v1 SSE", ours["v1"]),
        ("dev", dev.get("stateless")),
        ("dev thread", dev.get("thread")),
    ]
    lines = [
        f"LangGraph protocol vs v1 SSE vs `make dev` ({results['graph']} graph, offline engine)",
        f"{'metric':<22}" + "".join(f"{name:>14}" for name, _ in columns),
    ]
    for label, key, digits in (
        ("runs/s, 1 client", "runs_per_s_c1", 1),
        ("runs/s, 8 clients", "runs_per_s_c8", 1),
        ("server CPU µs/event", "server_cpu_us_per_event", 0),
        ("first event p50 ms", "first_event_p50_ms", 1),
        ("first event p95 ms", "first_event_p95_ms", 1),
    ):
        lines.append(
            f"{label:<22}"
            + "".join(f"{_num(None if c is None else c[key], digits):>14}" for _, c in columns)
        )
    lines.append(
        f"{'events/stream (c8)':<22}"
        + "".join(
            f"{_num(None if c is None else c['c8']['events_per_stream'], 1):>14}"
            for _, c in columns
        )
    )
    ratios, targets = results["ratios"], results["targets"]
    for kind in ("stateless", "thread"):
        lines.append(
            f"  {kind}: CPU/event ÷ v1 SSE {_num(ratios[f'cpu_per_event_{kind}_vs_v1'], 2)}"
            f" (target ≤ {targets['cpu_per_event_vs_v1_max']}), runs/s at 8 ÷ make dev "
            f"{_num(ratios[f'runs_per_s_c8_{kind}_vs_dev'], 1)}"
            f" (target ≥ {targets['runs_per_s_c8_vs_dev_min']})"
        )
    lines.append(
        f"  first event p50: protocol {_num(ours['stateless']['first_event_p50_ms'], 1)} ms"
        f" (target ≤ {targets['first_event_p50_ms_max']:.0f}), make dev "
        f"{_num(dev['stateless']['first_event_p50_ms'] if dev else None, 1)} ms"
    )
    if results["dev_skipped"]:
        lines.append(f"  make dev half skipped: {results['dev_skipped']}")
    return "\n".join(lines)


def add_to(results: dict[str, Any], *, quick: bool) -> None:
    """Run the section into `results["protocol"]` and print it."""
    with tempfile.TemporaryDirectory(prefix="stemgraph-bench-protocol-") as tmp:
        results["protocol"] = asyncio.run(run(Path(tmp), QUICK if quick else FULL))
    print()
    print(format_rows(results["protocol"]))


__all__ = ["FULL", "QUICK", "DevServer", "add_to", "format_rows", "run"]

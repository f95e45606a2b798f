"""Many streams at once: concurrent SSE chat streams against the real server, on loopback.

A section of `make bench`; alone: `python -m bench.many_streams [--quick] [--out PATH]`.

The server (`python -m bench.serve --timed-model`) answers `POST /v1/chat/generate` with the
timed model of `bench.timed`: 50 tokens a second, each stamped with the moment it left the
model. Three checks, each bounded in time:

- load: `streams` clients each stream chat turns back to back for `duration_s`; errors, the
  p50/p99 delay from a token leaving the model to its `messages` event being parsed here, and
  the token rate each stream really got (a saturated server falls behind 50/s);
- stalled clients: a few clients read the first event, then stop reading while their stream
  goes on; after `stall_s` (past the server's 30 s send timeout) they read again and must find
  the stream cut (end of response without the final `values` event);
- leak (first, on the fresh server): `leak_total` short runs; the server's RSS after
  `leak_first` runs and after all of them.

The client is a minimal HTTP/1.1 reader on raw asyncio streams (no httpx): with hundreds of
streams in one process the client's own parsing would otherwise be what is measured.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import statistics
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Final

from bench.fixtures import API_KEY, MATERIAL_CONTEXT
from bench.load import percentile
from bench.process import ServerProcess
from bench.timed import TOKEN, bench_message
from server.streaming import SEND_TIMEOUT_SECONDS
from tools.demo import DEMO_CLASS_ID, DEMO_STUDENT_IDS

CHAT_PATH: Final = "/v1/chat/generate"
TOKENS_PER_S: Final = 50.0
# The server's send timeout for SSE (`server/streaming.py`): a stalled client is cut after it.
SEND_TIMEOUT_S: Final = SEND_TIMEOUT_SECONDS
_STALL_RCVBUF: Final = 128 * 1024
_RUN_SLACK_S: Final = 10.0
_BLUEPRINT: Final = "Unit 1: Photosynthesis. Objectives: explain the light-dependent reactions."


@dataclass(frozen=True, slots=True)
class ManyConfig:
    streams: int
    # A second load run at a concurrency this machine can serve without queueing runs.
    streams_low: int
    duration_s: float
    tokens: int
    ramp_s: float
    leak_concurrency: int
    leak_first: int
    leak_total: int
    leak_tokens: int
    leak_max_s: float
    stalled: int
    stall_s: float
    stall_pad: int
    # The full load once more with each of these token coalescing windows (`coalesce_ms`).
    coalesce_ms: tuple[int, ...]


FULL: Final = ManyConfig(
    streams=500,
    streams_low=50,
    duration_s=15.0,
    # A 5 s answer: a tutor's reply, not a one-second burst of run start-ups.
    tokens=250,
    ramp_s=2.0,
    leak_concurrency=100,
    leak_first=1_000,
    leak_total=10_000,
    leak_tokens=5,
    leak_max_s=300.0,
    stalled=5,
    stall_s=45.0,
    stall_pad=32_000,
    coalesce_ms=(50, 100),
)
QUICK: Final = ManyConfig(
    streams=20,
    streams_low=5,
    duration_s=3.0,
    tokens=25,
    ramp_s=0.5,
    leak_concurrency=10,
    leak_first=20,
    leak_total=100,
    leak_tokens=5,
    leak_max_s=40.0,
    stalled=2,
    stall_s=42.0,
    stall_pad=32_000,
    coalesce_ms=(50,),
)


def timed_server(root: Path, name: str = "timed_model") -> ServerProcess:
    """The real server answering with the timed model (start it with the others).

    The stalled clients get a server of their own (`name="stalled"`): a stalled stream's model
    goes on producing padded tokens until the cut, memory that would blur the leak check.
    """
    return ServerProcess(
        data_dir=root / name,
        log_path=root / f"{name}.log",
        fake_model=False,
        extra_args=("--timed-model",),
    )


def chat_request(tokens: int, pad: int = 0, coalesce_ms: int | None = None) -> bytes:
    """One `chat/generate` SSE request (a stateless turn on the demo class), as raw bytes;
    `coalesce_ms` asks the server to coalesce tokens within that window."""
    body: dict[str, Any] = {
        "class_id": DEMO_CLASS_ID,
        "user_id": DEMO_STUDENT_IDS[0],
        "class_title": "Biology 101",
        "user_message": bench_message(tokens, pad),
        "transcript": [],
        "blueprint_context": _BLUEPRINT,
        "material_context": MATERIAL_CONTEXT,
        "tool_mode": "off",
    }
    if coalesce_ms is not None:
        body["coalesce_ms"] = coalesce_ms
    payload = json.dumps(body).encode()
    head = (
        f"POST {CHAT_PATH} HTTP/1.1\r\nhost: 127.0.0.1\r\nx-api-key: {API_KEY}\r\n"
        "accept: text/event-stream\r\ncontent-type: application/json\r\n"
        f"content-length: {len(payload)}\r\nconnection: close\r\n\r\n"
    )
    return head.encode() + payload


class StreamFailed(Exception):
    """A run that did not end with the final `values` event."""


@dataclass(slots=True)
class RunStats:
    """What the clients of one check saw, over all their runs."""

    runs: int = 0
    completed: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    delays_ms: list[float] = field(default_factory=list)
    tokens: int = 0
    # `messages` events that carried tokens (fewer than tokens when the server coalesces).
    token_events: int = 0
    token_rates: list[float] = field(default_factory=list)
    open_streams: int = 0
    open_samples: list[int] = field(default_factory=list)
    # Streams past their response head (the run has started), and samples of that count.
    streaming: int = 0
    streaming_samples: list[int] = field(default_factory=list)
    # Per run, seconds from connecting to the response head and to the first token.
    head_s: list[float] = field(default_factory=list)
    first_token_s: list[float] = field(default_factory=list)


def _event_name(block: bytes) -> bytes:
    for line in block.split(b"\r\n"):
        if line.startswith(b"event:"):
            return line[6:].strip()
    return b""


async def _read_head(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    if b"transfer-encoding: chunked" not in head.lower():
        raise StreamFailed(f"http {status} (not a stream)")
    return status


async def _chunks(reader: asyncio.StreamReader) -> AsyncIterator[bytes]:
    """The body's chunks (HTTP/1.1 chunked encoding) until the last one."""
    while True:
        line = await reader.readline()
        if not line:
            raise StreamFailed("closed mid-stream")
        size = int(line.split(b";")[0], 16)
        if size == 0:
            return
        data = await reader.readexactly(size + 2)
        yield data[:-2]


async def stream_once(port: int, request: bytes, stats: RunStats) -> None:
    """One chat turn: send, parse every event, time each token's arrival."""
    began = time.monotonic()
    reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=1 << 20)
    stats.open_streams += 1
    streaming = False
    try:
        writer.write(request)
        status = await _read_head(reader)
        if status != 200:
            raise StreamFailed(f"http {status}")
        stats.head_s.append(time.monotonic() - began)
        stats.streaming += 1
        streaming = True
        buffer = b""
        ended: bytes = b""
        first_at = last_at = 0.0
        count = 0
        async for data in _chunks(reader):
            buffer += data
            while (end := buffer.find(b"\r\n\r\n")) >= 0:
                block, buffer = buffer[:end], buffer[end + 4 :]
                name = _event_name(block)
                if name == b"messages":
                    stamps = TOKEN.findall(block)
                    if stamps:
                        stats.token_events += 1
                        now = time.monotonic_ns()
                        stats.delays_ms.extend((now - int(s)) / 1e6 for s in stamps)
                        count += len(stamps)
                        # Counted as they arrive: a run cut later still delivered these.
                        stats.tokens += len(stamps)
                        last_at = now / 1e9
                        if not first_at:
                            first_at = last_at
                            stats.first_token_s.append(time.monotonic() - began)
                elif name in (b"values", b"error"):
                    ended = name
        if count > 1 and last_at > first_at:
            stats.token_rates.append((count - 1) / (last_at - first_at))
        if ended != b"values":
            raise StreamFailed(f"ended with {ended.decode() or 'no final event'}")
    finally:
        stats.open_streams -= 1
        stats.streaming -= streaming
        writer.close()


async def _guarded(port: int, request: bytes, stats: RunStats, timeout_s: float) -> bool:
    stats.runs += 1
    try:
        async with asyncio.timeout(timeout_s):
            await stream_once(port, request, stats)
    except StreamFailed as error:
        stats.errors[str(error)] += 1
        return False
    except TimeoutError:
        # Before OSError, of which it is a subclass.
        stats.errors["timeout"] += 1
        return False
    except (OSError, asyncio.IncompleteReadError, ValueError) as error:
        stats.errors[type(error).__name__] += 1
        return False
    stats.completed += 1
    return True


def _run_timeout(tokens: int) -> float:
    """A run not over 10 s after the model's own streaming time failed (for its reader, a
    server that long behind is down); the bound also keeps a saturated load's drain short."""
    return tokens / TOKENS_PER_S + _RUN_SLACK_S


def _ms(values: list[float], q: float) -> float | None:
    value = percentile(values, q)
    return None if value is None else round(value, 2)


def _summary(stats: RunStats, elapsed_s: float) -> dict[str, Any]:
    return {
        "runs": stats.runs,
        "completed": stats.completed,
        "errors": sum(stats.errors.values()),
        "error_kinds": dict(stats.errors.most_common()),
        "tokens": stats.tokens,
        "token_events": stats.token_events,
        "tokens_per_event": round(stats.tokens / stats.token_events, 2)
        if stats.token_events
        else None,
        "elapsed_s": round(elapsed_s, 3),
        "token_delay_p50_ms": _ms(stats.delays_ms, 50),
        "token_delay_p99_ms": _ms(stats.delays_ms, 99),
        "token_delay_max_ms": round(max(stats.delays_ms), 2) if stats.delays_ms else None,
        "head_p50_ms": _ms([v * 1000 for v in stats.head_s], 50),
        "head_p99_ms": _ms([v * 1000 for v in stats.head_s], 99),
        "first_token_p50_ms": _ms([v * 1000 for v in stats.first_token_s], 50),
        "first_token_p99_ms": _ms([v * 1000 for v in stats.first_token_s], 99),
        "tokens_per_s_per_stream_p50": (
            round(statistics.median(stats.token_rates), 2) if stats.token_rates else None
        ),
    }


async def load(server: ServerProcess, config: ManyConfig) -> dict[str, Any]:
    """`config.streams` clients streaming chat turns back to back for `duration_s`."""
    return await _load(server, config, config.streams)


async def _load(
    server: ServerProcess, config: ManyConfig, streams: int, coalesce_ms: int | None = None
) -> dict[str, Any]:
    stats = RunStats()
    request = chat_request(config.tokens, coalesce_ms=coalesce_ms)
    started = time.monotonic()
    stop_at = started + config.ramp_s + config.duration_s

    async def client(index: int) -> None:
        # Staggered starts: a real crowd does not arrive in the same millisecond.
        await asyncio.sleep(config.ramp_s * index / streams)
        while time.monotonic() < stop_at:
            await _guarded(server.port, request, stats, _run_timeout(config.tokens))

    async def sample() -> None:
        while True:
            await asyncio.sleep(0.5)
            # Steady state only: after the ramp, before clients stop starting runs.
            if started + config.ramp_s < time.monotonic() < stop_at:
                stats.open_samples.append(stats.open_streams)
                stats.streaming_samples.append(stats.streaming)

    cpu_before = server.cpu_seconds()
    client_cpu_before = time.process_time()
    sampler = asyncio.create_task(sample())
    try:
        async with asyncio.TaskGroup() as group:
            for index in range(streams):
                group.create_task(client(index))
    finally:
        sampler.cancel()
    elapsed = time.monotonic() - started
    cpu_after = server.cpu_seconds()
    client_cpu_s = time.process_time() - client_cpu_before
    cpu_s = None if cpu_before is None or cpu_after is None else cpu_after - cpu_before
    samples = stats.open_samples
    return {
        "streams": streams,
        "coalesce_ms": coalesce_ms or 0,
        "tokens_per_run": config.tokens,
        "model_tokens_per_s": TOKENS_PER_S,
        **_summary(stats, elapsed),
        "open_streams_mean": round(statistics.mean(samples), 1) if samples else None,
        "open_streams_min": min(samples) if samples else None,
        # Connections a client holds include runs still waiting for the server to start them.
        "streaming_mean": (
            round(statistics.mean(stats.streaming_samples), 1) if stats.streaming_samples else None
        ),
        "server_cpu_s": None if cpu_s is None else round(cpu_s, 3),
        "server_cores_busy": None if cpu_s is None else round(cpu_s / elapsed, 2),
        "server_cpu_us_per_token": (
            None if cpu_s is None or not stats.tokens else round(cpu_s / stats.tokens * 1e6, 1)
        ),
        # The clients run in this process, beside the server on the same cores.
        "client_cores_busy": round(client_cpu_s / elapsed, 2),
        "server_rss_mb": _mb(server.rss_bytes()),
    }


def _mb(value: int | None) -> float | None:
    return None if value is None else round(value / 2**20, 1)


async def leak(server: ServerProcess, config: ManyConfig) -> dict[str, Any]:
    """`leak_total` short runs at `leak_concurrency`; RSS after `leak_first` and at the end."""
    stats = RunStats()
    request = chat_request(config.leak_tokens)
    rss: dict[str, int | None] = {}
    issued = finished = 0
    started = time.monotonic()
    cpu_before = server.cpu_seconds()

    async def client() -> None:
        nonlocal issued, finished
        while issued < config.leak_total:
            issued += 1
            await _guarded(server.port, request, stats, _run_timeout(config.leak_tokens))
            finished += 1
            if finished == config.leak_first:
                rss["first"] = server.rss_bytes()

    try:
        async with asyncio.timeout(config.leak_max_s), asyncio.TaskGroup() as group:
            for _ in range(config.leak_concurrency):
                group.create_task(client())
        bounded = False
    except TimeoutError:
        bounded = True
    rss["last"] = server.rss_bytes()
    cpu_after = server.cpu_seconds()
    cpu_s = None if cpu_before is None or cpu_after is None else cpu_after - cpu_before
    first, last = rss.get("first"), rss.get("last")
    return {
        "concurrency": config.leak_concurrency,
        "tokens_per_run": config.leak_tokens,
        "runs_first": config.leak_first,
        "runs_target": config.leak_total,
        **_summary(stats, time.monotonic() - started),
        "stopped_by_time_bound": bounded,
        # A short run's whole cost on the server: start-up (auth, store, graph) dominates it.
        "server_cpu_ms_per_run": (
            None if cpu_s is None or not stats.runs else round(cpu_s / stats.runs * 1000, 2)
        ),
        "rss_first_mb": _mb(first),
        "rss_last_mb": _mb(last),
        "rss_ratio": None if not first or last is None else round(last / first, 4),
        "target_ratio_max": 1.05,
    }


async def _stalled_client(port: int, config: ManyConfig) -> dict[str, Any]:
    """Read the head and the first event, stop reading for `stall_s`, then see what is left."""
    loop = asyncio.get_running_loop()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    # A fixed receive buffer (no autotuning) so the server's buffers fill and its sends block
    # soon; not below the loopback MSS, or the window reopens only at the sender's zero-window
    # probes, which back off to tens of seconds.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, _STALL_RCVBUF)
    sock.setblocking(False)
    # The stream would last well past the stall and the drain: only a cut ends it early.
    tokens = int((config.stall_s + 2 * SEND_TIMEOUT_S) * TOKENS_PER_S)
    try:
        await loop.sock_connect(sock, ("127.0.0.1", port))
        await loop.sock_sendall(sock, chat_request(tokens, config.stall_pad))
        first = await asyncio.wait_for(loop.sock_recv(sock, 4096), 30.0)
        stalled_at = time.monotonic()
        await asyncio.sleep(config.stall_s)
        tail = b""
        ended = False
        try:
            async with asyncio.timeout(SEND_TIMEOUT_S / 2):
                while data := await loop.sock_recv(sock, 1 << 16):
                    tail = (tail + data)[-4096:]
                ended = True
        except TimeoutError:
            pass
        except ConnectionResetError:
            ended = True
        return {
            "started": first.startswith(b"HTTP/1.1 200"),
            "closed": ended and b"event: values" not in tail,
            "completed": b"event: values" in tail,
            "ended_after_s": round(time.monotonic() - stalled_at, 1) if ended else None,
        }
    finally:
        sock.close()


def server_connections(port: int) -> int | None:
    """How many established TCP connections the server on `port` holds (its side, read from
    `/proc/net/tcp`); None where that cannot be read."""
    try:
        lines = Path("/proc/net/tcp").read_text().splitlines()[1:]
    except OSError:
        return None
    local = f":{port:04X}"
    # Columns: sl, local address, remote address, state (01 is ESTABLISHED), ...
    return sum(1 for line in lines if (cols := line.split())[1].endswith(local) and cols[3] == "01")


async def stalled(server: ServerProcess, config: ManyConfig) -> dict[str, Any]:
    """Whether every stalled client was cut by the send timeout (run beside the other checks;
    `server` is stopped once they are done). The server's own count of connections, sampled
    each second, says when it let go of them (the client sees it only when it reads again)."""
    began = time.monotonic()
    counts: list[tuple[float, int | None]] = []

    async def watch() -> None:
        while True:
            counts.append((time.monotonic() - began, server_connections(server.port)))
            await asyncio.sleep(1.0)

    watcher = asyncio.create_task(watch())
    try:
        outcomes = await asyncio.gather(
            *(_stalled_client(server.port, config) for _ in range(config.stalled)),
            return_exceptions=True,
        )
    finally:
        watcher.cancel()
        server.stop()
    held = [(at, n) for at, n in counts if n is not None]
    peak = max((n for _, n in held), default=None)
    # The first sample after the peak at which the server held none of them.
    peak_at = next((at for at, n in held if n == peak), None)
    released_at = next(
        (at for at, n in held if peak_at is not None and at > peak_at and n == 0), None
    )
    rows = [o for o in outcomes if isinstance(o, dict)]
    return {
        "clients": config.stalled,
        "stall_s": config.stall_s,
        "send_timeout_s": SEND_TIMEOUT_S,
        "started": sum(row["started"] for row in rows),
        "closed": sum(row["closed"] for row in rows),
        "completed_anyway": sum(row["completed"] for row in rows),
        "failed": [repr(o) for o in outcomes if not isinstance(o, dict)],
        # How long after the client started reading again its stream ended (a cut stream ends
        # as soon as the server's buffered bytes are read).
        "ended_after_stall_s_max": max(
            (row["ended_after_s"] - config.stall_s for row in rows if row["ended_after_s"]),
            default=None,
        ),
        "all_closed": len(rows) == config.stalled and all(row["closed"] for row in rows),
        "server_connections_peak": peak,
        # Seconds from the clients' start until the server held none of their connections.
        "server_released_after_s": None if released_at is None else round(released_at, 1),
    }


async def run(
    server: ServerProcess, config: ManyConfig, stall: asyncio.Task[dict[str, Any]]
) -> dict[str, Any]:
    """The leak check, then the load checks, then the stalled clients' outcome (started
    earlier with `stalled`, since waiting out the send timeout takes a while).

    The leak check runs on a fresh server: after the 500-stream peak, freed memory the process
    keeps would absorb a slow leak and hide it.
    """
    results: dict[str, Any] = {"config": asdict(config)}
    results["leak"] = await leak(server, config)
    results["load"] = await load(server, config)
    results["load_coalesced"] = [
        await _load(server, config, config.streams, window) for window in config.coalesce_ms
    ]
    results["load_low"] = await _load(server, config, config.streams_low)
    # Coalescing where the server is not saturated: what it saves per token.
    results["load_low_coalesced"] = await _load(
        server, config, config.streams_low, config.coalesce_ms[0]
    )
    results["stalled"] = await stall
    return results


def _num(value: Any, digits: int = 1) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def _load_rows(load_: dict[str, Any]) -> list[str]:
    kinds = ", ".join(f"{k} ×{v}" for k, v in load_["error_kinds"].items()) or "none"
    return [
        f"many streams: {load_['streams']} concurrent chat SSE clients, "
        f"{load_['tokens_per_run']} tokens/run at {load_['model_tokens_per_s']:.0f} tokens/s,"
        f" {load_['elapsed_s']:.1f} s"
        + (f", coalescing {load_['coalesce_ms']} ms" if load_.get("coalesce_ms") else ""),
        f"  runs {load_['runs']}   completed {load_['completed']}   errors {load_['errors']}"
        f" ({kinds})",
        f"  connections open mean {_num(load_['open_streams_mean'])}"
        f"   min {_num(load_['open_streams_min'], 0)}"
        f"   streaming (run started) mean {_num(load_['streaming_mean'])}",
        f"  response head p50 {_num(load_['head_p50_ms'])} ms   p99 {_num(load_['head_p99_ms'])}"
        f" ms   first token p50 {_num(load_['first_token_p50_ms'])} ms"
        f"   p99 {_num(load_['first_token_p99_ms'])} ms",
        f"  token delay (model → client) p50 {_num(load_['token_delay_p50_ms'])} ms"
        f"   p99 {_num(load_['token_delay_p99_ms'])} ms"
        f"   max {_num(load_['token_delay_max_ms'])} ms",
        f"  tokens/s per stream p50 {_num(load_['tokens_per_s_per_stream_p50'])}"
        f"   tokens/event {_num(load_.get('tokens_per_event'), 2)}"
        f"   server cores busy {_num(load_['server_cores_busy'], 2)}"
        f" ({_num(load_.get('server_cpu_us_per_token'), 0)} µs/token),"
        f" clients {_num(load_.get('client_cores_busy'), 2)}"
        f"   RSS {_num(load_['server_rss_mb'])} MB",
    ]


def format_rows(results: dict[str, Any]) -> str:
    """The many-streams results as text."""
    leak_, stall = results["leak"], results["stalled"]
    return "\n".join(
        [
            *_load_rows(results["load"]),
            *(row for coalesced in results["load_coalesced"] for row in _load_rows(coalesced)),
            *_load_rows(results["load_low"]),
            *_load_rows(results["load_low_coalesced"]),
            f"  stalled clients: {stall['closed']}/{stall['clients']} closed by the "
            f"{stall['send_timeout_s']:.0f} s send timeout"
            f" (checked after {stall['stall_s']:.0f} s; the server held"
            f" {_num(stall.get('server_connections_peak'), 0)} connections and released them"
            f" after {_num(stall.get('server_released_after_s'))} s)",
            f"  leak: {leak_['runs']} runs at concurrency {leak_['concurrency']}"
            f" ({leak_['errors']} errors): RSS {_num(leak_['rss_first_mb'])} MB after"
            f" {leak_['runs_first']:,}, {_num(leak_['rss_last_mb'])} MB after {leak_['runs']:,}"
            f" (ratio {_num(leak_['rss_ratio'], 3)}, target ≤ 1.05"
            + (", stopped by the time bound" if leak_["stopped_by_time_bound"] else "")
            + f"); server CPU {_num(leak_.get('server_cpu_ms_per_run'), 2)} ms per"
            f" {leak_['tokens_per_run']}-token run",
        ]
    )


async def _alone(config: ManyConfig) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="stemgraph-many-") as tmp:
        root = Path(tmp)
        timed, stall_server = timed_server(root), timed_server(root, "stalled")
        try:
            for server in (timed, stall_server):
                server.start()
            await asyncio.gather(timed.wait_ready(), stall_server.wait_ready())
            stall = asyncio.create_task(stalled(stall_server, config))
            return await run(timed, config, stall)
        finally:
            timed.stop()
            stall_server.stop()


def main(argv: Sequence[str] | None = None) -> None:
    """This section on its own (while working on the streaming path)."""
    parser = argparse.ArgumentParser(prog="python -m bench.many_streams", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="tiny durations (a smoke run)")
    parser.add_argument("--out", type=Path, default=None, help="also write the JSON here")
    args = parser.parse_args(argv)
    results = asyncio.run(_alone(QUICK if args.quick else FULL))
    print(format_rows(results))
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()

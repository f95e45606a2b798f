"""`python -m bench.inproc [--floor | --protocol] [--streams N] [--repeat R]`: CPU per streamed
quiz event of the app itself, called as an ASGI app in this process (no sockets, no HTTP parser).

What the HTTP server and the kernel spend is the same for the server and the floor; without
it, and with the best of `--repeat` batches of process CPU time, the app's own cost per event
stays comparable on a busy machine where wall-clock numbers do not. Used to measure one change
of the request path at a time (ARCHITECTURE.md, "Performance").

`--protocol` measures LangGraph Server's protocol (`POST /runs/stream`, and `POST /threads` +
`/threads/{id}/runs/stream`) beside the v1 SSE route in the same process, on the offline engine
and with the stream modes of `bench.protocol`, the three calls' batches alternating so that a
change in the machine's load hits each alike.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from starlette.types import ASGIApp, Message

from bench.fixtures import API_KEY, quiz_body

_PATH = "/v1/quiz/generate"


async def _call(
    app: ASGIApp, path: str, body: bytes, state: dict[str, Any], *, accept: bytes
) -> bytes:
    """One POST as an ASGI call; the response body."""
    sent = bytearray()
    done = asyncio.Event()
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"bench"),
            (b"x-api-key", API_KEY.encode()),
            (b"accept", accept),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 2),
        "state": dict(state),
    }
    delivered = False

    async def receive() -> Message:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        await done.wait()
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        if message["type"] == "http.response.body":
            sent.extend(message.get("body", b""))
            if not message.get("more_body"):
                done.set()

    await app(scope, receive, send)
    return bytes(sent)


async def stream_once(app: ASGIApp, body: bytes, state: dict[str, Any], path: str = _PATH) -> int:
    """One SSE quiz request; the number of events it streamed (raises unless it ended with
    the final `values` event)."""
    sent = await _call(app, path, body, state, accept=b"text/event-stream")
    names = [line for line in sent.splitlines() if line.startswith(b"event: ")]
    if not names or names[-1] != b"event: values":
        raise RuntimeError(f"the stream did not end with values: {sent[-300:]!r}")
    return len(names)


async def protocol_once(
    app: ASGIApp, kind: str, state: dict[str, Any], *, body: bytes, v1_body: bytes
) -> int:
    """One streamed run of `kind` (`v1`, `stateless` or `thread`); its number of events."""
    if kind == "v1":
        return await stream_once(app, v1_body, state)
    path = "/runs/stream"
    if kind == "thread":
        created = await _call(app, "/threads", b"{}", state, accept=b"application/json")
        path = f"/threads/{json.loads(created)['thread_id']}/runs/stream"
    return await stream_once(app, body, state, path)


async def measure(app: ASGIApp, *, streams: int, repeat: int, state: dict[str, Any]) -> float:
    """The best, over `repeat` batches of `streams` sequential streams, of process CPU µs per
    streamed event."""
    body = json.dumps(quiz_body()).encode()
    for _ in range(3):
        await stream_once(app, body, state)
    best = float("inf")
    for _ in range(repeat):
        events = 0
        began = time.process_time()
        for _ in range(streams):
            events += await stream_once(app, body, state)
        best = min(best, (time.process_time() - began) * 1e6 / events)
    return round(best, 1)


async def measure_protocol(
    app: ASGIApp, *, streams: int, repeat: int, state: dict[str, Any]
) -> dict[str, float]:
    """The best, over `repeat` rounds, of process CPU µs per streamed event of each call
    (`streams` sequential runs a batch; the calls' batches alternate within a round)."""
    from bench.protocol import GRAPH, STREAM_MODE

    v1_body = json.dumps(quiz_body()).encode()
    # The graph's input schema has no nulls (as in `bench.protocol`: a null is refused).
    graph_input = {k: v for k, v in quiz_body().items() if v is not None}
    body = json.dumps(
        {"assistant_id": GRAPH, "input": graph_input, "stream_mode": STREAM_MODE}
    ).encode()
    kinds = ("v1", "stateless", "thread")
    for kind in kinds:
        for _ in range(3):
            await protocol_once(app, kind, state, body=body, v1_body=v1_body)
    best = dict.fromkeys(kinds, float("inf"))
    for _ in range(repeat):
        for kind in kinds:
            events = 0
            began = time.process_time()
            for _ in range(streams):
                events += await protocol_once(app, kind, state, body=body, v1_body=v1_body)
            best[kind] = min(best[kind], (time.process_time() - began) * 1e6 / events)
    result = {f"{kind}_cpu_us_per_event": round(cpu, 1) for kind, cpu in best.items()}
    for kind in ("stateless", "thread"):
        result[f"{kind}_vs_v1"] = round(best[kind] / best["v1"], 3)
    return result


async def run_protocol(*, streams: int, repeat: int) -> dict[str, float]:
    from server.app import create_app
    from server.settings import Settings

    with tempfile.TemporaryDirectory(prefix="stemgraph-inproc-") as tmp:
        settings = Settings(
            data_dir=Path(tmp), python_backend_api_key=API_KEY, seed_demo=True, log_level="WARNING"
        )
        app = create_app(settings)
        async with app.router.lifespan_context(app) as state:
            return await measure_protocol(
                app, streams=streams, repeat=repeat, state=dict(state or {})
            )


async def run(*, floor: bool, streams: int, repeat: int) -> float:
    if floor:
        from bench.floor import create_floor_app

        return await measure(create_floor_app(), streams=streams, repeat=repeat, state={})
    from bench.serve import fake_chat_factory
    from server.app import create_app
    from server.settings import Settings

    with tempfile.TemporaryDirectory(prefix="stemgraph-inproc-") as tmp:
        settings = Settings(
            data_dir=Path(tmp), python_backend_api_key=API_KEY, seed_demo=False, log_level="WARNING"
        )
        app = create_app(settings, chat_provider_factory=fake_chat_factory())
        async with app.router.lifespan_context(app) as state:
            return await measure(app, streams=streams, repeat=repeat, state=dict(state or {}))


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.inproc", description=__doc__)
    parser.add_argument("--floor", action="store_true", help="the floor app instead")
    parser.add_argument(
        "--protocol", action="store_true", help="the protocol's calls beside v1 SSE (offline)"
    )
    parser.add_argument("--streams", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    if args.protocol:
        print(json.dumps(asyncio.run(run_protocol(streams=args.streams, repeat=args.repeat))))
        return
    cpu = asyncio.run(run(floor=args.floor, streams=args.streams, repeat=args.repeat))
    print(json.dumps({"floor": args.floor, "cpu_us_per_event": cpu}))


if __name__ == "__main__":
    main()

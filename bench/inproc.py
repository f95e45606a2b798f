"""`python -m bench.inproc [--floor] [--streams N] [--repeat R]`: CPU per streamed quiz event
of the app itself, called as an ASGI app in this process (no sockets, no HTTP parser).

What the HTTP server and the kernel spend is the same for the server and the floor; without
it, and with the best of `--repeat` batches of process CPU time, the app's own cost per event
stays comparable on a busy machine where wall-clock numbers do not. Used to measure one change
of the request path at a time (ARCHITECTURE.md, "Performance").
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


async def stream_once(app: ASGIApp, body: bytes, state: dict[str, Any]) -> int:
    """One SSE quiz request; the number of events it streamed (raises unless it ended with
    the final `values` event)."""
    sent = bytearray()
    done = asyncio.Event()
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": _PATH,
        "raw_path": _PATH.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"bench"),
            (b"x-api-key", API_KEY.encode()),
            (b"accept", b"text/event-stream"),
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
    names = [line for line in bytes(sent).split(b"\r\n") if line.startswith(b"event: ")]
    if not names or names[-1] != b"event: values":
        raise RuntimeError(f"the stream did not end with values: {bytes(sent[-300:])!r}")
    return len(names)


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
    parser.add_argument("--streams", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    cpu = asyncio.run(run(floor=args.floor, streams=args.streams, repeat=args.repeat))
    print(json.dumps({"floor": args.floor, "cpu_us_per_event": cpu}))


if __name__ == "__main__":
    main()

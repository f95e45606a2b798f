"""`python -m bench.profile [--json] [--floor] [--streams N] [--concurrency C]`: where the
server's CPU goes on the bench's quiz workload.

Serves the real app (`bench.serve`'s scripted model), or the floor with `--floor`, with uvicorn
in this process's main thread under cProfile, while a client thread sends quiz requests over
loopback (SSE by default, `--json` for the envelope). Prints the functions that cost most; the
client's thread is not profiled.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import pstats
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import httpx
import uvicorn

from bench.fixtures import API_KEY, quiz_body
from bench.http_bench import QUIZ_PATH, read_stream
from bench.process import free_port


def _client(url: str, *, streams: int, concurrency: int, sse: bool, ready: threading.Event) -> None:
    async def main() -> None:
        ready.wait()
        async with httpx.AsyncClient(
            base_url=url, headers={"x-api-key": API_KEY}, timeout=30.0
        ) as http:
            left = streams

            async def worker() -> None:
                nonlocal left
                while left > 0:
                    left -= 1
                    if sse:
                        record = await read_stream(http, quiz_body())
                        assert record.completed, record
                    else:
                        response = await http.post(QUIZ_PATH, json=quiz_body())
                        assert response.status_code == 200, response.text

            await asyncio.gather(*(worker() for _ in range(concurrency)))

    asyncio.run(main())


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__)
    parser.add_argument("--json", action="store_true", help="the JSON route instead of SSE")
    parser.add_argument("--floor", action="store_true", help="profile the floor instead")
    parser.add_argument("--streams", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--top", type=int, default=45)
    parser.add_argument("--dump", default=None, help="also write the raw stats here")
    parser.add_argument("--sort", default="tottime", choices=["tottime", "cumulative"])
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="stemgraph-profile-") as tmp:
        if args.floor:
            from bench.floor import create_floor_app

            app = create_floor_app()
            lifespan: Literal["on", "off"] = "off"
        else:
            from bench.serve import fake_chat_factory
            from server.app import create_app
            from server.settings import Settings

            settings = Settings(data_dir=Path(tmp), python_backend_api_key=API_KEY, seed_demo=False)
            app = create_app(settings, chat_provider_factory=fake_chat_factory())
            lifespan = "on"
        port = free_port()
        server = uvicorn.Server(
            uvicorn.Config(
                app,
                host="127.0.0.1",
                port=port,
                log_config=None,
                access_log=False,
                lifespan=lifespan,
                ws="none",
            )
        )
        ready = threading.Event()
        client = threading.Thread(
            target=_client,
            args=(f"http://127.0.0.1:{port}",),
            kwargs={
                "streams": args.streams,
                "concurrency": args.concurrency,
                "sse": not args.json,
                "ready": ready,
            },
        )
        profiler = cProfile.Profile()

        async def serve() -> None:
            task = asyncio.create_task(server.serve())
            while not server.started:
                await asyncio.sleep(0.01)
            client.start()
            ready.set()
            began = time.process_time()
            profiler.enable()
            while client.is_alive():
                await asyncio.sleep(0.05)
            profiler.disable()
            print(f"process CPU while profiling: {time.process_time() - began:.2f} s")
            server.should_exit = True
            await task

        asyncio.run(serve())
    if args.dump:
        profiler.dump_stats(args.dump)
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats(args.sort).print_stats(args.top)
    print(out.getvalue())


if __name__ == "__main__":
    main()

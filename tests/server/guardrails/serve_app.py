"""Redis guardrails in a process of their own, standing in for one server process.

    python -m tests.server.guardrails.serve_app URL PREFIX burst SANDBOX --count 8 --limit 10
    python -m tests.server.guardrails.serve_app URL PREFIX hold SANDBOX --max 1
    python -m tests.server.guardrails.serve_app URL PREFIX admit SANDBOX --max 1 --wait 0.5

Every command prints `ready` and waits for a `go` line on stdin, so several processes can start
at the same moment, then prints its outcome as one JSON line:
- burst: `count` concurrent admits, each then succeeds → {"admitted": n, "refused": {code: n}};
- hold: one admit → {"held": true}, then waits for another stdin line and succeeds → {"done": true};
- admit: one admit (waiting up to `wait`) → {"ok": bool, "code": str | null, "waited": seconds}.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections import Counter
from typing import Any

from server.errors import ApiError
from server.guardrails.redis_backend import RedisGuardrails
from server.settings import Settings


def say(message: Any) -> None:
    print(message if isinstance(message, str) else json.dumps(message), flush=True)


async def line() -> str:
    return await asyncio.to_thread(sys.stdin.readline)


async def burst(guardrails: RedisGuardrails, sandbox: str, count: int) -> None:
    async def attempt() -> str | None:
        try:
            ticket = await guardrails.admit(sandbox, "quiz")
        except ApiError as error:
            return error.code
        await asyncio.sleep(0.01)  # the model call
        await ticket.succeed()
        return None

    outcomes = await asyncio.gather(*(attempt() for _ in range(count)))
    refused = Counter(code for code in outcomes if code is not None)
    say({"admitted": outcomes.count(None), "refused": dict(refused)})


async def hold(guardrails: RedisGuardrails, sandbox: str) -> None:
    ticket = await guardrails.admit(sandbox, "quiz")
    say({"held": True})
    await line()
    await ticket.succeed()
    say({"done": True})


async def admit(guardrails: RedisGuardrails, sandbox: str) -> None:
    started = time.monotonic()
    try:
        ticket = await guardrails.admit(sandbox, "quiz")
    except ApiError as error:
        say({"ok": False, "code": error.code, "waited": time.monotonic() - started})
        return
    waited = time.monotonic() - started
    await ticket.succeed()
    say({"ok": True, "code": None, "waited": waited})


async def main(args: argparse.Namespace) -> None:
    settings = Settings(
        redis_url=args.url,
        guest_quiz_limit=args.limit,
        guest_max_concurrent=args.max,
        guest_slot_wait_seconds=args.wait,
    )
    guardrails = RedisGuardrails(settings, prefix=args.prefix)
    try:
        say("ready")
        await line()
        if args.command == "burst":
            await burst(guardrails, args.sandbox, args.count)
        elif args.command == "hold":
            await hold(guardrails, args.sandbox)
        else:
            await admit(guardrails, args.sandbox)
    finally:
        await guardrails.aclose()


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("url")
    parser.add_argument("prefix")
    parser.add_argument("command", choices=["burst", "hold", "admit"])
    parser.add_argument("sandbox")
    parser.add_argument("--count", type=int, default=1)
    parser.add_argument("--limit", type=int, default=10)
    parser.add_argument("--max", type=int, default=20)
    parser.add_argument("--wait", type=float, default=60.0)
    return parser.parse_args(argv)


if __name__ == "__main__":
    asyncio.run(main(parse(sys.argv[1:])))

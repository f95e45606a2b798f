"""The app with `STEMGRAPH_REDIS_URL`: a run's events are written to a Redis stream, numbered as
on the wire, and `join_stream` with `Last-Event-ID` replays what followed (the official Python
client, on both stores; reading the stream from another process is `test_replay.py`'s)."""

from __future__ import annotations

from typing import Any

import pytest
from langgraph_sdk import get_client
from redis.asyncio import Redis

from tests.conftest import redis_url_or_skip
from tests.fakes import SlowChatModel
from tests.server.conftest import API_KEY, Serve, only
from tests.server.protocol.durable.conftest import delete_redis_prefix, fresh_redis_prefix

pytestmark = pytest.mark.live
ASK = {"user": "What is a newton?", "system": ""}


async def test_a_runs_events_are_kept_in_redis_and_replayed_after_an_id(serve: Serve) -> None:
    url, prefix = redis_url_or_skip(), fresh_redis_prefix()
    try:
        model = SlowChatModel(delay_s=0.1, reply="A newton is a unit of force.")
        with serve(chat=only(model), replay_redis_url=url, replay_redis_prefix=prefix) as api:
            client = get_client(url=api.url, api_key=API_KEY, timeout=30)
            try:
                thread = await client.threads.create()
                tid = thread["thread_id"]
                first: list[Any] = [
                    part
                    async for part in client.runs.stream(
                        tid,
                        "llm",
                        input=ASK,
                        stream_mode=["values", "updates"],
                        stream_resumable=True,
                    )
                ]
                run_id = first[0].data["run_id"]
                redis = Redis.from_url(url)
                try:
                    stored: Any = await redis.xrange(f"{prefix}:{run_id}")
                finally:
                    await redis.aclose()
                # Every event, then the end marker, under Redis ids 0-1, 0-2, ...
                assert [entry_id.decode() for entry_id, _ in stored] == [
                    f"0-{n}" for n in range(1, len(first) + 2)
                ]
                replay = [
                    part
                    async for part in client.runs.join_stream(
                        tid, run_id, last_event_id=first[1].id
                    )
                ]
                assert [(p.id, p.event, p.data) for p in replay] == [
                    (p.id, p.event, p.data) for p in first[2:]
                ]
            finally:
                await client.aclose()
    finally:
        await delete_redis_prefix(url, prefix)

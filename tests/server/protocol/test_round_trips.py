"""How many trips to aiosqlite's thread a protocol run makes (SQLite): each is a hand-off
between threads, and the run's own records, queue rows, replay log and checkpoints were ~100 of
them a run before they were batched. Counted, not timed."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from pathlib import Path
from typing import Any

import aiosqlite
import pytest

from bench.fixtures import API_KEY, quiz_body
from bench.inproc import protocol_once
from bench.protocol import GRAPH, STREAM_MODE
from server.app import create_app
from server.settings import Settings


async def test_a_streamed_run_makes_few_trips_to_sqlites_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    trips: Counter[str] = Counter()
    original = aiosqlite.Connection._execute
    counting = False

    async def counted(self: aiosqlite.Connection, fn: Any, *args: Any, **kwargs: Any) -> Any:
        if counting:
            trips["all"] += 1
        return await original(self, fn, *args, **kwargs)

    monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
    settings = Settings(
        data_dir=tmp_path, python_backend_api_key=API_KEY, seed_demo=True, log_level="WARNING"
    )
    app = create_app(settings)
    graph_input = {k: v for k, v in quiz_body().items() if v is not None}
    body = json.dumps(
        {"assistant_id": GRAPH, "input": graph_input, "stream_mode": STREAM_MODE}
    ).encode()
    v1_body = json.dumps(quiz_body()).encode()
    async with app.router.lifespan_context(app) as state:
        scope_state = dict(state or {})
        for kind in ("stateless", "thread"):
            await protocol_once(app, kind, scope_state, body=body, v1_body=v1_body)  # warm
            await asyncio.sleep(0.2)  # the warm-up's written-behind log lands first
            trips.clear()
            counting = True
            events = await protocol_once(app, kind, scope_state, body=body, v1_body=v1_body)
            await asyncio.sleep(0.2)
            counting = False
            assert events > 100
            # Before: 101 (stateless) and 97 (on a thread); then 27 and 31. A stateless run
            # checkpoints once, at its end (14-15 of its trips were checkpoint writes).
            assert trips["all"] <= (20 if kind == "stateless" else 36), (kind, trips)

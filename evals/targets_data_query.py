"""The data-query suite's target: the real graph on the offline engine over the seeded demo class.

The demo class is seeded once per process into a temporary SQLite file (module-level cache);
each case opens its own connection to that file, so cases can run concurrently and from any
event loop, and none can change what another reads.
"""

from __future__ import annotations

import asyncio
import atexit
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Any

from graphs.data_query import graph as data_query_graph
from graphs.shared.context import GenerationContext
from tools.models.router import ModelRouter
from tools.store import open_store
from tools.store.seed import DEMO_CLASS_ID, seed_demo

_lock = threading.Lock()
_seeded: Path | None = None


async def _seed(path: Path) -> None:
    store = await open_store(str(path))
    try:
        await seed_demo(store)
    finally:
        await store.close()


def demo_database() -> Path:
    """The seeded demo store's file, created on first use (in a thread of its own)."""
    global _seeded
    with _lock:
        if _seeded is None:
            folder = tempfile.mkdtemp(prefix="stemgraph-dq-eval-")
            atexit.register(shutil.rmtree, folder, ignore_errors=True)
            path = Path(folder) / "demo.sqlite3"
            asyncio.run(_seed(path))
            _seeded = path
        return _seeded


async def data_query_target(case: dict[str, Any]) -> dict[str, Any]:
    """The graph's `{spec, provider, model, query}` for one question about the demo class."""
    path = await asyncio.to_thread(demo_database)
    store = await open_store(str(path))
    try:
        result = await data_query_graph.ainvoke(
            {"class_id": DEMO_CLASS_ID, "query": case["question"], "as_of": case.get("as_of")},
            # No providers: every plan comes from the offline engine, so scores reproduce.
            context=GenerationContext(router=ModelRouter([]), store=store, timeout_ms=60_000),
        )
    finally:
        await store.close()
    return dict(result)

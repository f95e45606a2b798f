"""Chat storage and paging: checkpoint bytes per session over 40 turns, and listing speed.

    python -m bench.chat [--turns 40] [--postgres-url URL]

The Postgres rows run when a URL is given (or STEMGRAPH_TEST_POSTGRES_URL is set), each in a
fresh schema that is dropped afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from langchain_core.messages import AIMessage, HumanMessage
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import START, MessagesState, StateGraph

from graphs.chat import graph as chat_graph
from graphs.shared.context import GenerationContext
from server.checkpoints import open_checkpointer, prune_thread
from server.settings import Settings
from tests.fakes import ScriptedChatModel
from tools.clock import to_iso, utc_now
from tools.demo import DEMO_CLASS_ID, DEMO_STUDENT_IDS, seed_demo
from tools.models.providers import ChatProvider
from tools.models.router import ModelRouter
from tools.store import Store, open_store
from tools.store.base import ChatMessage

QUESTION = "Could you explain how the net force on a trolley changes its acceleration? " * 1
ANSWER_SENTENCE = (
    "Newton's second law says the net force equals mass times acceleration [Source 1]. "
)


def _reply(turn: int) -> str:
    # ~780 characters of answer: with the question, ~35 KB of text over 40 turns.
    answer = f"Turn {turn}. " + ANSWER_SENTENCE * 9
    return json.dumps(
        {
            "safety": "ok",
            "answer": answer,
            "citations": [{"sourceLabel": "Source 1", "rationale": "second law"}],
        }
    )


@asynccontextmanager
async def _backend(name: str, postgres_url: str | None) -> AsyncIterator[tuple[Store, Settings]]:
    with tempfile.TemporaryDirectory(prefix="sg-bench-") as tmp:
        if name == "sqlite":
            settings = Settings(data_dir=Path(tmp))
            store = await open_store(settings.resolved_database_url)
            try:
                yield store, settings
            finally:
                await store.close()
            return
        assert postgres_url
        schema = f"sg_bench_{uuid.uuid4().hex[:10]}"
        settings = Settings(data_dir=Path(tmp), database_url=postgres_url, database_schema=schema)
        store = await open_store(postgres_url, schema=schema)
        try:
            yield store, settings
        finally:
            await store.close()
            from psycopg import AsyncConnection

            async with await AsyncConnection.connect(postgres_url, autocommit=True) as conn:
                await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


async def _thread_bytes(saver: BaseCheckpointSaver[Any], thread_id: str) -> int:
    """Bytes the checkpointer holds for one thread (every table it writes)."""
    from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

    if isinstance(saver, AsyncSqliteSaver):
        total = 0
        for sql in (
            "SELECT coalesce(sum(length(checkpoint) + length(metadata)), 0) FROM checkpoints"
            " WHERE thread_id = ?",
            "SELECT coalesce(sum(length(value)), 0) FROM writes WHERE thread_id = ?",
        ):
            async with saver.conn.execute(sql, (thread_id,)) as cursor:
                row = await cursor.fetchone()
                total += int(row[0]) if row else 0
        return total
    from psycopg_pool import AsyncConnectionPool

    pool = getattr(saver, "conn", None)
    assert isinstance(pool, AsyncConnectionPool), "the Postgres saver runs on a pool here"
    total = 0
    async with pool.connection() as conn:
        for table in ("checkpoints", "checkpoint_blobs", "checkpoint_writes"):
            cursor = await conn.execute(
                f"SELECT coalesce(sum(pg_column_size(t.*)), 0) AS n FROM {table} t"
                " WHERE thread_id = %s",
                (thread_id,),
            )
            row = await cursor.fetchone()
            total += int(row["n"]) if row else 0
    return total


async def _stock_chat_bytes(saver: BaseCheckpointSaver[Any], turns: int) -> int:
    """The baseline: messages in graph state, every step checkpointed (LangGraph's defaults)."""
    builder = StateGraph(MessagesState)

    def answer(state: MessagesState) -> dict[str, Any]:
        turn = len(state["messages"]) // 2 + 1
        return {"messages": [AIMessage(json.loads(_reply(turn))["answer"])]}

    builder.add_node(answer)
    builder.add_edge(START, "answer")
    stock = builder.compile(checkpointer=saver)
    thread = f"stock-{uuid.uuid4()}"
    config: Any = {"configurable": {"thread_id": thread}}
    for _ in range(turns):
        await stock.ainvoke({"messages": [HumanMessage(QUESTION)]}, config)
    return await _thread_bytes(saver, thread)


async def storage_row(name: str, postgres_url: str | None, turns: int) -> dict[str, Any]:
    async with _backend(name, postgres_url) as (store, settings):
        await seed_demo(store)
        session = await store.create_session(
            session_id=str(uuid.uuid4()),
            class_id=DEMO_CLASS_ID,
            owner_user_id=DEMO_STUDENT_IDS[0],
            title="bench",
        )
        model = ScriptedChatModel.replying(*(_reply(n) for n in range(1, turns + 1)))
        router = ModelRouter([ChatProvider("openai", "fake", model)])
        async with open_checkpointer(settings) as saver:
            chat = chat_graph.copy(update={"checkpointer": saver})
            started = time.perf_counter()
            peak = 0
            for _ in range(turns):
                await chat.ainvoke(
                    {
                        "class_id": DEMO_CLASS_ID,
                        "class_title": "Bench",
                        "user_message": QUESTION,
                        "session_id": session.id,
                        "author_user_id": DEMO_STUDENT_IDS[0],
                        "author_kind": "student",
                    },
                    {"configurable": {"thread_id": session.id}},
                    context=GenerationContext(router=router, store=store),
                    durability="exit",
                )
                await prune_thread(saver, session.id)
                peak = max(peak, await _thread_bytes(saver, session.id))
            elapsed = time.perf_counter() - started
            final = await _thread_bytes(saver, session.id)
            stock = await _stock_chat_bytes(saver, turns)
        text = sum(len(m.content) for m in await store.session_messages(session.id))
        return {
            "backend": name,
            "turns": turns,
            "conversation_text_bytes": text,
            "checkpoint_bytes_final": final,
            "checkpoint_bytes_peak": peak,
            "stock_checkpoint_bytes": stock,
            "ms_per_turn": round(elapsed / turns * 1000, 1),
        }


async def paging_row(name: str, postgres_url: str | None) -> dict[str, Any]:
    """A 1,000-message session and a user with 100 sessions: listing and paging latency."""
    async with _backend(name, postgres_url) as (store, _):
        await seed_demo(store)
        owner = DEMO_STUDENT_IDS[1]
        sessions = []
        for n in range(100):
            sessions.append(
                await store.create_session(
                    session_id=str(uuid.uuid4()),
                    class_id=DEMO_CLASS_ID,
                    owner_user_id=owner,
                    title=f"Session {n}",
                )
            )
        big = sessions[0]
        base = utc_now()
        batch: list[ChatMessage] = []
        for n in range(1000):
            from datetime import timedelta

            batch.append(
                ChatMessage(
                    id=str(uuid.uuid4()),
                    session_id=big.id,
                    class_id=DEMO_CLASS_ID,
                    author_user_id=owner if n % 2 == 0 else None,
                    author_kind="student" if n % 2 == 0 else "assistant",
                    content=f"message {n} " + "about forces and motion " * 8,
                    created_at=to_iso(base + timedelta(milliseconds=n)),
                )
            )
            if len(batch) == 100:
                await store.append_messages(big.id, batch)
                batch = []

        async def timed(fn: Any) -> float:
            start = time.perf_counter()
            await fn()
            return (time.perf_counter() - start) * 1000

        list_sessions = [
            await timed(lambda: store.list_sessions(DEMO_CLASS_ID, owner)) for _ in range(30)
        ]
        first_page = [
            await timed(lambda: store.list_messages(big.id, before=None, limit=120))
            for _ in range(30)
        ]
        start = time.perf_counter()
        pages, cursor = 0, None
        while True:
            page, more = await store.list_messages(big.id, before=cursor, limit=120)
            pages += 1
            if not more:
                break
            cursor = (page[0].created_at, page[0].id)
        walk_ms = (time.perf_counter() - start) * 1000
        return {
            "backend": name,
            "list_sessions_100_p50_ms": round(statistics.median(list_sessions), 2),
            "first_page_120_of_1000_p50_ms": round(statistics.median(first_page), 2),
            "walk_all_pages_ms": round(walk_ms, 1),
            "pages": pages,
        }


async def run(turns: int, postgres_url: str | None) -> dict[str, Any]:
    backends = ["sqlite", *(["postgres"] if postgres_url else [])]
    return {
        "storage": [await storage_row(b, postgres_url, turns) for b in backends],
        "paging": [await paging_row(b, postgres_url) for b in backends],
    }


def format_rows(results: dict[str, Any]) -> str:
    lines = [
        "chat storage (checkpoint bytes for one session thread)",
        f"{'backend':<10}{'turns':>6}{'text B':>10}{'ours B':>10}{'peak B':>10}"
        f"{'stock B':>11}{'ms/turn':>9}",
    ]
    for r in results["storage"]:
        lines.append(
            f"{r['backend']:<10}{r['turns']:>6}{r['conversation_text_bytes']:>10,}"
            f"{r['checkpoint_bytes_final']:>10,}{r['checkpoint_bytes_peak']:>10,}"
            f"{r['stock_checkpoint_bytes']:>11,}{r['ms_per_turn']:>9}"
        )
    lines += [
        "",
        "chat paging (1,000-message session; user with 100 sessions)",
        f"{'backend':<10}{'sessions p50 ms':>17}{'page p50 ms':>13}{'walk ms':>9}{'pages':>7}",
    ]
    for r in results["paging"]:
        lines.append(
            f"{r['backend']:<10}{r['list_sessions_100_p50_ms']:>17}"
            f"{r['first_page_120_of_1000_p50_ms']:>13}{r['walk_all_pages_ms']:>9}"
            f"{r['pages']:>7}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.chat", description=__doc__)
    parser.add_argument("--turns", type=int, default=40)
    parser.add_argument("--postgres-url", default=os.environ.get("STEMGRAPH_TEST_POSTGRES_URL"))
    args = parser.parse_args(argv)
    results = asyncio.run(run(args.turns, args.postgres_url))
    print(format_rows(results))
    out = Path("bench/out/chat.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Chat turns per second on Postgres checkpoints: LangGraph's stock saver beside the pooled one.

    python -m bench.checkpoints [--quick] [--postgres-url URL]

Each row runs workspace chat turns the way `/v1/chat/send` does (the chat graph on a checkpointer,
`durability="exit"`, then `prune_thread`) with a scripted model, on a fresh schema that is
dropped afterwards: `concurrency` sessions at once, each taking `turns` turns in a row. The
stock saver (`AsyncPostgresSaver`, one lock per instance) and stemgraph's `PooledPostgresSaver`
run on the same pool size in the same run, so their ratio is the anchor.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import operator
import os
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass
from typing import Annotated, Any, TypedDict

from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from langgraph.graph import START, StateGraph
from psycopg import AsyncConnection
from psycopg.rows import DictRow
from psycopg_pool import AsyncConnectionPool

from graphs.chat import graph as chat_graph
from graphs.shared.context import GenerationContext
from server.checkpoints import PooledPostgresSaver, checkpoint_connection_kwargs, prune_thread
from server.settings import Settings
from tests.fakes import ScriptedChatModel
from tools.demo import DEMO_CLASS_ID, DEMO_STUDENT_IDS, seed_demo
from tools.models.providers import ChatProvider
from tools.models.router import ModelRouter
from tools.store import Store, open_store

QUESTION = "How does the net force on a trolley change its acceleration?"
REPLY = json.dumps(
    {
        "safety": "ok",
        "answer": "The acceleration is the net force divided by the mass [Source 1].",
        "citations": [{"sourceLabel": "Source 1", "rationale": "second law"}],
    }
)
# The server default: both savers get the pool `open_checkpointer` would open.
_POOL_SIZE: int = Settings.model_fields["checkpoint_pool_size"].default
SAVERS: dict[str, Callable[[Any], AsyncPostgresSaver]] = {
    "stock": AsyncPostgresSaver,
    "pooled": PooledPostgresSaver,
}


@dataclass(frozen=True, slots=True)
class Config:
    concurrencies: tuple[int, ...]
    turns: int  # per thread, after one warm-up turn each
    pool_size: int
    rounds: int


FULL = Config(concurrencies=(1, 10), turns=20, pool_size=_POOL_SIZE, rounds=2)
QUICK = Config(concurrencies=(1, 10), turns=2, pool_size=_POOL_SIZE, rounds=1)


@asynccontextmanager
async def _schema(url: str) -> AsyncIterator[tuple[Store, str]]:
    """A seeded store in a fresh schema (dropped afterwards) and the schema's name."""
    schema = f"sg_bench_{uuid.uuid4().hex[:10]}"
    store = await open_store(url, schema=schema)
    try:
        await seed_demo(store)
        yield store, schema
    finally:
        await store.close()
        async with await AsyncConnection.connect(url, autocommit=True) as conn:
            await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


class _Step(TypedDict):
    count: Annotated[int, operator.add]
    last: dict[str, Any]


def _one_step_graph(saver: AsyncPostgresSaver) -> Any:
    """The checkpoint-bound workload: one node, one small blob channel, nothing else to wait on."""
    builder = StateGraph(_Step)

    def step(state: _Step) -> dict[str, Any]:
        return {"count": 1, "last": {"reply": REPLY, "after": state["count"]}}

    builder.add_node(step)
    builder.add_edge(START, "step")
    return builder.compile(checkpointer=saver)


Turn = Callable[[str], Awaitable[None]]


async def _chat_turns(
    store: Store, saver: AsyncPostgresSaver, concurrency: int
) -> tuple[list[str], Turn]:
    chat = chat_graph.copy(update={"checkpointer": saver})
    model = ScriptedChatModel(messages=itertools.repeat(REPLY), prompts=[])
    context = GenerationContext(
        router=ModelRouter([ChatProvider("openai", "fake", model)]), store=store
    )
    sessions = [
        (
            await store.create_session(
                session_id=str(uuid.uuid4()),
                class_id=DEMO_CLASS_ID,
                owner_user_id=DEMO_STUDENT_IDS[0],
                title=f"bench {n}",
            )
        ).id
        for n in range(concurrency)
    ]

    async def turn(session_id: str) -> None:
        await chat.ainvoke(
            {
                "class_id": DEMO_CLASS_ID,
                "class_title": "Bench",
                "user_message": QUESTION,
                "session_id": session_id,
                "author_user_id": DEMO_STUDENT_IDS[0],
                "author_kind": "student",
            },
            {"configurable": {"thread_id": session_id}},
            context=context,
            durability="exit",
        )
        await prune_thread(saver, session_id)

    return sessions, turn


async def _step_turns(saver: AsyncPostgresSaver, concurrency: int) -> tuple[list[str], Turn]:
    graph = _one_step_graph(saver)

    async def turn(thread_id: str) -> None:
        config: Any = {"configurable": {"thread_id": thread_id}}
        await graph.ainvoke({"count": 0}, config, durability="exit")
        await prune_thread(saver, thread_id)

    return [str(uuid.uuid4()) for _ in range(concurrency)], turn


async def _done_turns(store: Store, saver: AsyncPostgresSaver, workload: str, thread: str) -> int:
    """Turns a thread has taken, read back from where that workload keeps them."""
    if workload == "chat":
        return len(await store.session_messages(thread)) // 2
    saved = await saver.aget_tuple({"configurable": {"thread_id": thread}})
    assert saved is not None
    return int(saved.checkpoint["channel_values"]["count"])


async def _row(
    url: str, workload: str, saver_name: str, concurrency: int, config: Config
) -> dict[str, Any]:
    async with _schema(url) as (store, schema):
        pool: AsyncConnectionPool[AsyncConnection[DictRow]] = AsyncConnectionPool(
            url,
            min_size=config.pool_size,
            max_size=config.pool_size,
            kwargs=checkpoint_connection_kwargs(schema),
            open=False,
        )
        async with pool:
            await pool.wait()
            saver = SAVERS[saver_name](pool)
            await saver.setup()
            if workload == "chat":
                threads, turn = await _chat_turns(store, saver, concurrency)
            else:
                threads, turn = await _step_turns(saver, concurrency)

            async def thread_turns(thread: str, count: int) -> None:
                for _ in range(count):
                    await turn(thread)

            async def all_threads(count: int) -> None:
                async with asyncio.TaskGroup() as group:
                    for thread in threads:
                        group.create_task(thread_turns(thread, count))

            await all_threads(1)  # warm-up: each thread's first checkpoint, the caches
            started, cpu_started = time.perf_counter(), time.process_time()
            await all_threads(config.turns)
            elapsed = time.perf_counter() - started
            cpu = time.process_time() - cpu_started
            for thread in threads:
                done = await _done_turns(store, saver, workload, thread)
                assert done == config.turns + 1, (workload, thread, done)
            turns = concurrency * config.turns
            return {
                "workload": workload,
                "saver": saver_name,
                "concurrency": concurrency,
                "turns": turns,
                "seconds": round(elapsed, 3),
                "turns_per_s": round(turns / elapsed, 1),
                "ms_per_turn": round(elapsed / config.turns * 1000, 1),
                # This process's CPU (graph, store and saver calls): one core is the ceiling.
                "cpu_ms_per_turn": round(cpu / turns * 1000, 1),
            }


WORKLOADS = {
    "chat": "chat turns (chat graph + store, prune after each)",
    "one_step": "one-step graph invokes (checkpoint-bound, prune after each)",
}


async def run(postgres_url: str, config: Config) -> dict[str, Any]:
    """Each workload with each saver at each concurrency (best of `rounds`, the two savers back
    to back), then each saver's scaling from the lowest to the highest concurrency."""
    low, high = min(config.concurrencies), max(config.concurrencies)
    results: dict[str, Any] = {"config": asdict(config)}
    for workload in WORKLOADS:
        rows = []
        for concurrency in config.concurrencies:
            for name in SAVERS:
                tries = [
                    await _row(postgres_url, workload, name, concurrency, config)
                    for _ in range(config.rounds)
                ]
                rows.append(max(tries, key=lambda r: float(r["turns_per_s"])))
        rate = {(r["saver"], r["concurrency"]): float(r["turns_per_s"]) for r in rows}
        results[workload] = {
            "rows": rows,
            "scaling": {name: round(rate[name, high] / rate[name, low], 2) for name in SAVERS},
            "pooled_over_stock": {
                str(c): round(rate["pooled", c] / rate["stock", c], 2) for c in config.concurrencies
            },
        }
    return results


def format_rows(results: dict[str, Any]) -> str:
    concurrencies = results["config"]["concurrencies"]
    low, high = min(concurrencies), max(concurrencies)
    lines = [
        "Postgres checkpoints: LangGraph's AsyncPostgresSaver (stock) vs PooledPostgresSaver"
        f" (pool of {results['config']['pool_size']}, best of {results['config']['rounds']})",
    ]
    for workload, title in WORKLOADS.items():
        block = results[workload]
        lines += [
            "",
            title,
            f"{'saver':<8}{'conc':>5}{'turns':>7}{'turns/s':>9}{'ms/turn':>9}{'CPU ms/turn':>13}",
        ]
        for r in block["rows"]:
            lines.append(
                f"{r['saver']:<8}{r['concurrency']:>5}{r['turns']:>7}{r['turns_per_s']:>9}"
                f"{r['ms_per_turn']:>9}{r['cpu_ms_per_turn']:>13}"
            )
        lines.append(
            f"  turns/s at {high} over {low}: "
            + ", ".join(f"{k} {v}×" for k, v in block["scaling"].items())
            + f"; pooled over stock at {high}: {block['pooled_over_stock'][str(high)]}×"
        )
    return "\n".join(lines)


def add_to(results: dict[str, Any], *, quick: bool) -> None:
    """`python -m bench`'s hook: the rows go into `results["checkpoints"]` and are printed;
    without a Postgres URL (STEMGRAPH_TEST_POSTGRES_URL) there is nothing to measure."""
    url = os.environ.get("STEMGRAPH_TEST_POSTGRES_URL")
    if not url:
        print("\nchat turns on Postgres checkpoints: skipped (STEMGRAPH_TEST_POSTGRES_URL unset)")
        return
    results["checkpoints"] = asyncio.run(run(url, QUICK if quick else FULL))
    print()
    print(format_rows(results["checkpoints"]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.checkpoints", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="two turns per session")
    parser.add_argument("--postgres-url", default=os.environ.get("STEMGRAPH_TEST_POSTGRES_URL"))
    args = parser.parse_args(argv)
    if not args.postgres_url:
        parser.error("needs --postgres-url or STEMGRAPH_TEST_POSTGRES_URL")
    results = asyncio.run(run(args.postgres_url, QUICK if args.quick else FULL))
    print(format_rows(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

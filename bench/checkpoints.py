"""Chat turns per second on Postgres checkpoints: LangGraph's stock saver beside the pooled one.

    python -m bench.checkpoints [--quick] [--postgres-url URL] [--out bench/out/results.json]

The chat rows run workspace sends the way `/v1/chat/workspace/messages/send` does after
authentication (the class rule and session check, the session's send lease, the checkpointed
chat graph through `start_run` with `durability="exit"`, then `prune_thread` and the lease
release) with a scripted model; the invoke rows are the issue's measurement, plain invokes of a
one-step graph. Each row runs on a fresh schema that is dropped afterwards: `concurrency`
threads at once, each taking `turns` turns in a row. The stock saver (`AsyncPostgresSaver`, one
lock per instance) and stemgraph's `PooledPostgresSaver` run on the same pool size in the same
run, so their ratio is the anchor. Each row also reports the process's CPU per turn, its share
of one core over the run, and the SQL statements sent per turn.
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
from pathlib import Path
from typing import Annotated, Any, TypedDict

from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from langgraph.graph import START, StateGraph
from psycopg import AsyncConnection, AsyncCursor, AsyncTransaction
from psycopg.rows import DictRow
from psycopg_pool import AsyncConnectionPool

from graphs.shared.context import GenerationContext
from server.access import WORKSPACE, class_member, session_in_class
from server.auth.principal import Principal
from server.auth.tokens import UserClaims
from server.checkpoints import PooledPostgresSaver, checkpoint_connection_kwargs, prune_thread
from server.registry import build_registry
from server.runs import run_to_completion, start_run
from server.settings import Settings
from tests.fakes import ScriptedChatModel
from tools.demo import DEMO_CLASS_ID, DEMO_STUDENT_IDS, seed_demo
from tools.models.providers import ChatProvider
from tools.models.router import Deadline, ModelRouter
from tools.store import Store, open_store
from tools.store.pool import CancelSafePool

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
    concurrencies: dict[str, tuple[int, ...]]  # by workload
    turns: int  # per thread, after one warm-up turn each
    pool_size: int
    rounds: int


FULL = Config(
    concurrencies={"chat": (1, 10), "invoke": (1, 10, 50)},
    turns=20,
    pool_size=_POOL_SIZE,
    rounds=2,
)
QUICK = Config(
    concurrencies={"chat": (1, 10), "invoke": (1, 10, 50)},
    turns=2,
    pool_size=_POOL_SIZE,
    rounds=1,
)


class _StatementCounter:
    """Counts the SQL statements this process sends while it is open, by wrapping psycopg's
    async cursor and transaction: an `executemany` counts each of its parameter sets, an
    explicit transaction its BEGIN and its COMMIT (or ROLLBACK)."""

    def __init__(self) -> None:
        self.count = 0
        self._saved: tuple[Any, Any, Any] | None = None

    def __enter__(self) -> _StatementCounter:
        execute, executemany = AsyncCursor.execute, AsyncCursor.executemany
        enter = AsyncTransaction.__aenter__
        self._saved = (execute, executemany, enter)
        counter = self

        async def counted_execute(cur: Any, query: Any, params: Any = None, **kw: Any) -> Any:
            counter.count += 1
            return await execute(cur, query, params, **kw)

        async def counted_executemany(cur: Any, query: Any, params_seq: Any, **kw: Any) -> Any:
            params = list(params_seq)
            counter.count += len(params)
            return await executemany(cur, query, params, **kw)

        async def counted_enter(transaction: Any) -> Any:
            counter.count += 2
            return await enter(transaction)

        setattr(AsyncCursor, "execute", counted_execute)  # noqa: B010 - a patch, undone on exit
        setattr(AsyncCursor, "executemany", counted_executemany)  # noqa: B010
        setattr(AsyncTransaction, "__aenter__", counted_enter)  # noqa: B010
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._saved is not None
        for owner, name, saved in zip(
            (AsyncCursor, AsyncCursor, AsyncTransaction),
            ("execute", "executemany", "__aenter__"),
            self._saved,
            strict=True,
        ):
            setattr(owner, name, saved)


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
    """The issue's checkpoint-bound workload: one node, one small blob channel, nothing else to
    wait on."""
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
    """`/v1/chat/workspace/messages/send`'s work after authentication: the class rule and the
    session check, the session's send lease, the checkpointed chat graph through `start_run`,
    then the route's cleanup (prune, lease release)."""
    graphs = build_registry(saver)
    model = ScriptedChatModel(messages=itertools.repeat(REPLY), prompts=[])
    settings = Settings()
    student = DEMO_STUDENT_IDS[0]
    principal = Principal(
        user=UserClaims(
            user_id=student, is_anonymous=False, role="authenticated", email=None, claims={}
        )
    )
    lease_seconds = settings.session_lease_seconds
    sessions = [
        (
            await store.create_session(
                session_id=str(uuid.uuid4()),
                class_id=DEMO_CLASS_ID,
                owner_user_id=student,
                title=f"bench {n}",
            )
        ).id
        for n in range(concurrency)
    ]

    async def turn(session_id: str) -> None:
        member = await class_member(store, principal, DEMO_CLASS_ID, None, codes=WORKSPACE)
        session = await session_in_class(store, member, session_id)
        lease = await store.acquire_session(session.id, hold_seconds=lease_seconds)
        assert lease is not None, "a bench session is never busy"

        async def cleanup(_succeeded: bool) -> None:
            try:
                await prune_thread(saver, session.id)
            finally:
                await store.release_session(session.id, lease)

        run = start_run(
            graphs,
            "chat_session",
            input={
                "class_id": member.klass.id,
                "class_title": member.klass.title,
                "user_message": QUESTION,
                "session_id": session.id,
                "author_user_id": member.user_id,
                "author_kind": "student",
                "max_tokens": None,
            },
            # As `AppState.generation_context` builds it for each request.
            context=GenerationContext(
                router=ModelRouter(
                    [ChatProvider("openai", "fake", model)],
                    rate_limit_retries=settings.ai_rate_limit_retries,
                ),
                store=store,
                embedding_providers=(),
                timeout_ms=settings.ai_request_timeout_ms,
                deadline=Deadline.after_ms(settings.ai_request_timeout_ms),
            ),
            error_code="response_generation_failed",
            thread_id=session.id,
            cleanup=cleanup,
        )
        await run_to_completion(run)

    return sessions, turn


async def _invoke_turns(saver: AsyncPostgresSaver, concurrency: int) -> tuple[list[str], Turn]:
    """Plain invokes of a one-step graph (read the thread's checkpoint, write the next), no
    prune: what the issue measured the stock saver with."""
    graph = _one_step_graph(saver)

    async def turn(thread_id: str) -> None:
        config: Any = {"configurable": {"thread_id": thread_id}}
        await graph.ainvoke({"count": 0}, config, durability="exit")

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
        pool: AsyncConnectionPool[AsyncConnection[DictRow]] = CancelSafePool(
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
                threads, turn = await _invoke_turns(saver, concurrency)

            async def thread_turns(thread: str, count: int) -> None:
                for _ in range(count):
                    await turn(thread)

            async def all_threads(count: int) -> None:
                async with asyncio.TaskGroup() as group:
                    for thread in threads:
                        group.create_task(thread_turns(thread, count))

            await all_threads(1)  # warm-up: each thread's first checkpoint, the caches
            with _StatementCounter() as statements:
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
                # Its share of one core over the run: near 1, the process is the bottleneck;
                # well below 1 at high concurrency, it waits (on Postgres, or on a busy machine).
                "cpu_share": round(cpu / elapsed, 2),
                "statements_per_turn": round(statements.count / turns, 1),
            }


WORKLOADS = {
    "chat": "chat turns (chat graph + store, prune after each)",
    "invoke": "one-step graph invokes (checkpoint-bound, no prune: the issue's measurement)",
}


async def run(postgres_url: str, config: Config) -> dict[str, Any]:
    """Each workload with each saver at each concurrency (best of `rounds`, the two savers back
    to back), then each saver's scaling from the lowest concurrency to each higher one."""
    results: dict[str, Any] = {"config": asdict(config)}
    for workload in WORKLOADS:
        concurrencies = config.concurrencies[workload]
        low = min(concurrencies)
        rows = []
        for concurrency in concurrencies:
            for name in SAVERS:
                tries = [
                    await _row(postgres_url, workload, name, concurrency, config)
                    for _ in range(config.rounds)
                ]
                rows.append(max(tries, key=lambda r: float(r["turns_per_s"])))
        rate = {(r["saver"], r["concurrency"]): float(r["turns_per_s"]) for r in rows}
        results[workload] = {
            "rows": rows,
            "scaling": {
                name: {str(c): round(rate[name, c] / rate[name, low], 2) for c in concurrencies}
                for name in SAVERS
            },
            "pooled_over_stock": {
                str(c): round(rate["pooled", c] / rate["stock", c], 2) for c in concurrencies
            },
        }
    return results


def format_rows(results: dict[str, Any]) -> str:
    lines = [
        "Postgres checkpoints: LangGraph's AsyncPostgresSaver (stock) vs PooledPostgresSaver"
        f" (pool of {results['config']['pool_size']}, best of {results['config']['rounds']})",
    ]
    for workload, title in WORKLOADS.items():
        block = results[workload]
        concurrencies = sorted(int(c) for c in block["pooled_over_stock"])
        low = concurrencies[0]
        lines += [
            "",
            title,
            f"{'saver':<8}{'conc':>5}{'turns':>7}{'turns/s':>9}{'ms/turn':>9}{'CPU ms/turn':>13}"
            f"{'CPU share':>11}{'SQL/turn':>10}",
        ]
        for r in block["rows"]:
            lines.append(
                f"{r['saver']:<8}{r['concurrency']:>5}{r['turns']:>7}{r['turns_per_s']:>9}"
                f"{r['ms_per_turn']:>9}{r['cpu_ms_per_turn']:>13}{r['cpu_share']:>11}"
                f"{r['statements_per_turn']:>10}"
            )
        for c in concurrencies[1:]:
            lines.append(
                f"  turns/s at {c} over {low}: "
                + ", ".join(f"{k} {v[str(c)]}×" for k, v in block["scaling"].items())
                + f"; pooled over stock at {c}: {block['pooled_over_stock'][str(c)]}×"
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
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="a results JSON (e.g. bench/out/results.json) whose `checkpoints` entry to replace",
    )
    args = parser.parse_args(argv)
    if not args.postgres_url:
        parser.error("needs --postgres-url or STEMGRAPH_TEST_POSTGRES_URL")
    results = asyncio.run(run(args.postgres_url, QUICK if args.quick else FULL))
    print(format_rows(results))
    if args.out is not None:
        previous = json.loads(args.out.read_text()) if args.out.exists() else {}
        previous["checkpoints"] = results
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(previous, indent=2, ensure_ascii=False) + "\n")
        print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

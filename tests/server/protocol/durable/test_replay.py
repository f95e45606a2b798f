"""The replay log on every backend: numbering, reading after an id, following live across
connections (another process's view), the terminal marker, expiry."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from redis.asyncio import Redis

from server.errors import ApiError
from server.protocol.queue import RunQueue
from server.protocol.replay import (
    RedisReplayLog,
    ReplayEvent,
    ReplayLog,
    SqlReplayLog,
    parse_event_id,
)
from tests.conftest import redis_url_or_skip
from tests.server.protocol.durable.conftest import (
    Database,
    delete_redis_prefix,
    fresh_redis_prefix,
    open_database,
)

MakeLog = Callable[..., Awaitable[ReplayLog]]


@pytest.fixture(params=["sqlite", "postgres", "redis"])
def replay_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def make_log(replay_backend: str, tmp_path: Path) -> AsyncIterator[MakeLog]:
    """`await make_log(ttl_seconds=, poll_seconds=)`: a log on the backend. Each call is another
    process's view of the same log: its own connections and wake-ups (LISTEN on Postgres)."""
    logs: list[ReplayLog] = []
    if replay_backend == "redis":
        url, prefix = redis_url_or_skip(), fresh_redis_prefix()

        async def make_redis(ttl_seconds: float = 3600, poll_seconds: float = 5.0) -> ReplayLog:
            log = RedisReplayLog(
                url, prefix=prefix, ttl_seconds=ttl_seconds, poll_seconds=poll_seconds
            )
            logs.append(log)
            return log

        try:
            yield make_redis
        finally:
            for log in logs:
                await log.aclose()
            await delete_redis_prefix(url, prefix)
        return

    async with open_database(replay_backend, tmp_path) as database:

        async def make_sql(ttl_seconds: float = 3600, poll_seconds: float = 5.0) -> ReplayLog:
            store = await database.open()
            return SqlReplayLog(
                store,
                await database.wakeups(),
                ttl_seconds=ttl_seconds,
                poll_seconds=poll_seconds,
            )

        yield make_sql


def ids(events: list[ReplayEvent]) -> list[str]:
    return [event.id for event in events]


async def collect(iterator: AsyncIterator[ReplayEvent]) -> list[ReplayEvent]:
    return [event async for event in iterator]


async def test_events_are_numbered_per_run_and_read_after_an_id(make_log: MakeLog) -> None:
    log = await make_log()
    run, other = str(uuid.uuid4()), str(uuid.uuid4())
    for n in range(1, 6):
        added = await log.append(run, "updates", f'{{"n":{n}}}'.encode())
        assert added.id == f"{run}:{n}"
    assert (await log.append(other, "values", b"{}")).id == f"{other}:1"

    everything = await collect(log.read_after(run, None, follow=False))
    assert ids(everything) == [f"{run}:{n}" for n in range(1, 6)]
    assert [event.data for event in everything] == [f'{{"n":{n}}}'.encode() for n in range(1, 6)]
    assert {event.event for event in everything} == {"updates"}
    assert ids(await collect(log.read_after(run, f"{run}:3", follow=False))) == [
        f"{run}:4",
        f"{run}:5",
    ]
    # A bare number names the same place; past the end there is nothing.
    assert ids(await collect(log.read_after(run, "4", follow=False))) == [f"{run}:5"]
    assert await collect(log.read_after(run, f"{run}:5", follow=False)) == []


async def test_reading_from_the_latest_event_gives_only_what_comes_next(
    make_log: MakeLog,
) -> None:
    log = await make_log(poll_seconds=0.1)
    run = str(uuid.uuid4())
    assert await log.last_seq(run) == 0
    await log.append(run, "custom", b"1")
    await log.append(run, "custom", b"2")
    assert await log.last_seq(run) == 2
    head = str(await log.last_seq(run))
    joined = asyncio.create_task(collect(log.read_after(run, head)))
    await asyncio.sleep(0.2)
    await log.append(run, "custom", b"3")
    await log.finish(run)
    assert [event.data for event in await asyncio.wait_for(joined, 10)] == [b"3"]
    # After the end, "from now on" is still before the marker: the reader ends at once.
    assert await log.last_seq(run) == 3
    ended = log.read_after(run, str(await log.last_seq(run)))
    assert await asyncio.wait_for(collect(ended), 5) == []


async def test_a_batch_numbered_by_its_writer_reads_back_and_appends_number_on(
    make_log: MakeLog, replay_backend: str
) -> None:
    writer = await make_log()
    # As above: SQLite's followers share the writer's log; elsewhere another process's view.
    reader = writer if replay_backend == "sqlite" else await make_log(poll_seconds=30)
    run = str(uuid.uuid4())
    joined = asyncio.create_task(collect(reader.read_after(run, "0")))
    await asyncio.sleep(0.2)
    await writer.append_numbered(run, [(1, "metadata", b"{}"), (2, "values", b"1")])
    await writer.append_numbered(run, [(3, "values", b"2")])
    assert await writer.last_seq(run) == 3
    assert (await writer.append(run, "values", b"3")).seq == 4
    await writer.finish(run)
    events = await asyncio.wait_for(joined, 10)
    assert [(e.seq, e.event, e.data) for e in events] == [
        (1, "metadata", b"{}"),
        (2, "values", b"1"),
        (3, "values", b"2"),
        (4, "values", b"3"),
    ]


async def test_a_read_from_the_middle_of_a_written_batch_gets_each_later_event_once(
    make_log: MakeLog, replay_backend: str
) -> None:
    writer = await make_log()
    reader = writer if replay_backend == "sqlite" else await make_log(poll_seconds=30)
    run = str(uuid.uuid4())
    await writer.append_numbered(run, [(n, "custom", f"e{n}".encode()) for n in range(1, 6)])
    await writer.append_numbered(run, [(n, "custom", f"e{n}".encode()) for n in (6, 7, 8)])
    assert await writer.last_seq(run) == 8
    for after in (0, 1, 3, 5, 6, 7, 8):
        events = await collect(reader.read_after(run, f"{run}:{after}", follow=False))
        assert [(e.seq, e.data) for e in events] == [
            (n, f"e{n}".encode()) for n in range(after + 1, 9)
        ]
    # Live from the middle of the second batch: the rest of it, the next ones, then the end.
    joined = asyncio.create_task(collect(reader.read_after(run, f"{run}:7")))
    await asyncio.sleep(0.2)
    await writer.append_numbered(run, [(9, "values", b"e9"), (10, "values", b"e10")])
    await writer.finish(run)
    events = await asyncio.wait_for(joined, 10)
    assert [(e.seq, e.event, e.data) for e in events] == [
        (8, "custom", b"e8"),
        (9, "values", b"e9"),
        (10, "values", b"e10"),
    ]


async def test_a_written_batch_is_one_row_and_purges_as_its_events(database: Database) -> None:
    store = await database.open()
    log = SqlReplayLog(store, await database.wakeups(), ttl_seconds=0.2)
    run = str(uuid.uuid4())
    await log.append_numbered(run, [(n, "custom", b"x" * n) for n in range(1, 41)])
    await log.finish(run)
    async with store.session() as db:
        rows = await db.query(
            "SELECT COUNT(*) AS n FROM stemgraph_run_events WHERE run_id = :r", {"r": run}
        )
    assert int(rows[0]["n"]) == 2  # the batch and the end marker
    await asyncio.sleep(0.3)
    assert await log.purge_expired() == 41  # every event of the batch, and the marker


async def test_a_process_that_lost_its_run_writes_nothing_more(database: Database) -> None:
    # A stalled process whose run another took over still holds a written-behind batch: its
    # numbers are the new holder's too, so the write is refused in its own transaction.
    store = await database.open()
    log = SqlReplayLog(store, await database.wakeups())
    queue = RunQueue(store, await database.wakeups())
    run, thread = str(uuid.uuid4()), str(uuid.uuid4())
    await queue.enqueue(run, thread, {})
    assert await queue.claim("stalled") is not None
    assert await log.append_numbered(run, [(1, "metadata", b"{}")], holder="stalled")
    async with store.session() as db:  # what the sweeper and another claim leave behind
        await db.execute(
            "UPDATE stemgraph_run_queue SET worker_id = 'new-holder' WHERE run_id = :r",
            {"r": run},
        )
    late = [(2, "values", b"old"), (3, "values", b"old")]
    assert not await log.append_numbered(run, late, holder="stalled")
    assert await log.last_seq(run) == 1
    assert await log.append_numbered(run, [(2, "values", b"new")], holder="new-holder")
    await log.finish(run)
    events = await collect(log.read_after(run, None))
    assert [(e.seq, e.data) for e in events] == [(1, b"{}"), (2, b"new")]
    # Once the run is over, no holder writes to it either.
    assert await queue.finish(run, "new-holder", "success")
    assert not await log.append_numbered(run, [(9, "values", b"x")], holder="new-holder")


async def test_redis_takes_a_holders_batch_only_while_it_holds_the_run() -> None:
    # Redis cannot see the run queue (the SQL logs' fence, above): the holder is kept beside
    # the stream, and checked in the same script as the write.
    url, prefix = redis_url_or_skip(), fresh_redis_prefix()
    stalled = RedisReplayLog(url, prefix=prefix)  # two processes' views of one log
    taken_over = RedisReplayLog(url, prefix=prefix)
    try:
        await _hold_and_take_over(stalled, taken_over)
    finally:
        await stalled.aclose()
        await taken_over.aclose()
        await delete_redis_prefix(url, prefix)


async def _hold_and_take_over(stalled: ReplayLog, taken_over: ReplayLog) -> None:
    run = str(uuid.uuid4())
    await stalled.hold(run, "stalled")
    assert await stalled.append_numbered(run, [(1, "metadata", b"{}")], holder="stalled")
    # Another process claims the run: it holds it from now on, then numbers on.
    await taken_over.hold(run, "new-holder")
    first = await taken_over.last_seq(run) + 1
    late = [(2, "values", b"old"), (3, "values", b"old")]
    assert not await stalled.append_numbered(run, late, holder="stalled")
    assert await taken_over.append_numbered(run, [(first, "values", b"new")], holder="new-holder")
    # Nothing goes in at or below what the stream holds, even for its holder: all or nothing.
    again = [(first, "values", b"dup"), (first + 1, "values", b"x")]
    assert not await taken_over.append_numbered(run, again, holder="new-holder")
    await taken_over.finish(run)
    events = await collect(taken_over.read_after(run, None))
    assert [(e.seq, e.data) for e in events] == [(1, b"{}"), (2, b"new")]


async def test_a_joiner_elsewhere_gets_the_missed_events_then_the_live_ones(
    make_log: MakeLog, replay_backend: str
) -> None:
    writer = await make_log()
    # SQLite is the embedded default's single process: its followers share the writer's log.
    # Elsewhere the joiner is another process's log, woken by NOTIFY / XREAD, not its timer.
    reader = writer if replay_backend == "sqlite" else await make_log(poll_seconds=30)
    run = str(uuid.uuid4())
    for n in range(1, 4):
        await writer.append(run, "custom", str(n).encode())

    joined = asyncio.create_task(collect(reader.read_after(run, f"{run}:1")))
    await asyncio.sleep(0.3)
    started = time.monotonic()
    for n in range(4, 7):
        await writer.append(run, "custom", str(n).encode())
        await asyncio.sleep(0.05)
    await writer.finish(run)
    events = await asyncio.wait_for(joined, timeout=10)
    # Exactly the missed events, then the live ones, then the end: no repeats, no gaps.
    assert ids(events) == [f"{run}:{n}" for n in range(2, 7)]
    assert [event.data for event in events] == [str(n).encode() for n in range(2, 7)]
    # Woken by the appends, far sooner than the 30 s re-read timer.
    assert time.monotonic() - started < 5


async def test_two_writers_never_share_a_number(make_log: MakeLog) -> None:
    first, second = await make_log(), await make_log()
    run = str(uuid.uuid4())

    async def write(log: ReplayLog, tag: str) -> None:
        for n in range(15):
            await log.append(run, "custom", f"{tag}{n}".encode())

    await asyncio.gather(write(first, "a"), write(second, "b"))
    events = await collect(first.read_after(run, None, follow=False))
    assert [event.seq for event in events] == list(range(1, 31))
    assert sorted(event.data for event in events) == sorted(
        f"{tag}{n}".encode() for tag in "ab" for n in range(15)
    )


async def test_a_follow_ends_when_the_run_is_gone_without_its_marker(make_log: MakeLog) -> None:
    log = await make_log(poll_seconds=0.1)
    run = str(uuid.uuid4())
    await log.append(run, "values", b"{}")
    asked: list[float] = []

    async def still_live() -> bool:
        asked.append(time.monotonic())
        return False

    events = await asyncio.wait_for(collect(log.read_after(run, None, still_live=still_live)), 10)
    assert ids(events) == [f"{run}:1"]
    assert len(asked) == 1


async def test_events_expire_a_ttl_after_the_latest_append(
    make_log: MakeLog, replay_backend: str
) -> None:
    log = await make_log(ttl_seconds=1)
    run = str(uuid.uuid4())
    await log.append(run, "values", b"1")
    await asyncio.sleep(0.6)
    await log.finish(run)  # refreshes the whole run's expiry
    await asyncio.sleep(0.6)
    assert ids(await collect(log.read_after(run, None, follow=False))) == [f"{run}:1"]
    await asyncio.sleep(0.7)
    assert await collect(log.read_after(run, None, follow=False)) == []
    if replay_backend == "redis":
        # Redis dropped the stream by itself.
        assert isinstance(log, RedisReplayLog)
        client = Redis.from_url(redis_url_or_skip())
        try:
            assert await client.exists(log._key(run)) == 0
        finally:
            await client.aclose()
    else:
        assert await log.purge_expired() == 2  # the event and the marker
        assert await log.purge_expired() == 0


async def test_purge_drops_only_what_expired(database: Database) -> None:
    store = await database.open()
    wakeups = await database.wakeups()
    short = SqlReplayLog(store, wakeups, ttl_seconds=0.2)
    long = SqlReplayLog(store, wakeups, ttl_seconds=3600)
    gone, kept = str(uuid.uuid4()), str(uuid.uuid4())
    await short.append(gone, "values", b"1")
    await long.append(kept, "values", b"2")
    await asyncio.sleep(0.3)
    assert await long.purge_expired() == 1
    assert ids(await collect(long.read_after(kept, None, follow=False))) == [f"{kept}:1"]
    # The purged run's counter went with it; the kept run numbers on.
    assert (await long.append(kept, "values", b"3")).seq == 2


@pytest.mark.parametrize("bad", ["other-run:3", "abc", "run:-1", "run:", "1" * 19])
def test_a_last_event_id_of_something_else_is_a_clear_error(bad: str) -> None:
    with pytest.raises(ApiError) as caught:
        parse_event_id("run", bad)
    assert caught.value.status == 400
    assert caught.value.code == "invalid_last_event_id"


def test_event_ids_parse_to_their_number() -> None:
    assert parse_event_id("run", None) == 0
    assert parse_event_id("run", "") == 0
    assert parse_event_id("run", "run:12") == 12
    assert parse_event_id("run", " 7 ") == 7

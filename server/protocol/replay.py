"""The replay log: a resumable run's events, kept so a client can rejoin after what it saw.

Each run's events are numbered from 1 in the order they were appended; an event's id is
`<run_id>:<n>`, the `id:` the SSE streams carry, so a `Last-Event-ID` names a place in the log.
`finish` appends a terminal marker: `read_after` replays what came after a given id, then
follows the run live until that marker.

Backends, chosen by `open_replay_log`:
- `SqlReplayLog`: the `stemgraph_run_events` table of the store's database (Postgres, or the
  embedded default's SQLite file), a batch written behind one row; followers are woken
  in-process and, on Postgres, by `NOTIFY` from other processes (`server/protocol/wakeups.py`),
  and re-read on a timer besides;
- `RedisReplayLog` (`STEMGRAPH_REDIS_URL`): one Redis stream per run, entry ids `0-<n>`
  (`XADD` with `0-*` numbers them atomically), followed with `XREAD BLOCK`.

Everything is kept `ttl_seconds` (`STEMGRAPH_REPLAY_TTL_SECONDS`, one hour by default) after the
latest append: Redis expires the stream itself, the SQL log drops rows in `purge_expired`
(the run worker calls it on every sweep).
"""

from __future__ import annotations

import struct
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final, Protocol

from server.errors import ApiError
from server.protocol.wakeups import Wakeups, notify_sql, wait
from tools.store.base import Params, Store
from tools.store.migrations import ROOT as MIGRATIONS
from tools.store.migrations import sql_statements

DEFAULT_TTL_SECONDS = 3600.0
DEFAULT_POLL_SECONDS = 1.0
END = "__end__"
"""The event name of the terminal marker; never handed to readers."""
_BATCH = 500
PACKED = "__batch__"
"""The event-name prefix of a row holding several events (`__batch__<count>`): a written
batch goes in as one row, keyed by its last event's number, its events packed in `data`."""
_HEAD = struct.Struct(">QHI")  # an event's number, its name's and its data's lengths
# An event is kept while its own expiry (its append's) or its run's counter row's (the latest
# append's, the end marker's included) is ahead: every row need not be rewritten at the end.
_LIVE = (
    "(stemgraph_run_events.expires_at > :now OR EXISTS (SELECT 1 FROM stemgraph_run_streams s"
    " WHERE s.run_id = stemgraph_run_events.run_id AND s.expires_at > :now))"
)

Numbered = tuple[int, str, bytes]
"""An event with the number its writer gave it: (seq, event, data)."""
StillLive = Callable[[], Awaitable[bool]]
"""Asked when a follower has waited a poll interval for nothing: False ends the read (a run
that ended without its marker, e.g. its log expired)."""


@dataclass(frozen=True, slots=True)
class ReplayEvent:
    """One logged event: `id` is `<run_id>:<seq>`, `data` the SSE data as sent (UTF-8)."""

    run_id: str
    seq: int
    event: str
    data: bytes

    @property
    def id(self) -> str:
        return f"{self.run_id}:{self.seq}"


def parse_event_id(run_id: str, last_event_id: str | None) -> int:
    """The sequence number a `Last-Event-ID` names: `<run_id>:<n>` (or a bare `<n>`); 0 for none.

    Raises ApiError 400 `invalid_last_event_id` for anything else, or another run's id.
    """
    if last_event_id is None or not last_event_id.strip():
        return 0
    text = last_event_id.strip()
    owner, _, number = text.rpartition(":")
    if (owner and owner != run_id) or not number.isdigit() or len(number) > 18:
        raise ApiError(
            400,
            "invalid_last_event_id",
            f"Last-Event-ID must be an event id of this run ('{run_id}:<n>').",
        )
    return int(number)


class ReplayLog(Protocol):
    """Append-only event log per run, read from a position and followed live."""

    ttl_seconds: float

    async def append(self, run_id: str, event: str, data: bytes) -> ReplayEvent:
        """Log the run's next event; returns it with its id."""
        ...

    async def append_numbered(
        self, run_id: str, events: Sequence[Numbered], *, holder: str | None = None
    ) -> bool:
        """Log events the caller numbered itself, in order (the run's only writer, numbering on
        from `last_seq`): one write for the batch; later `append`s number on after the last.
        With `holder`, only while that worker still holds the run, checked in the write itself:
        a process whose run another one took over must not write numbers the new holder also
        uses. Whether the batch was written."""
        ...

    async def hold(self, run_id: str, holder: str) -> None:
        """`holder` writes the run's numbered events from now on (call it before reading
        `last_seq` to number on): a log fenced by the run queue's row needs nothing here."""
        ...

    async def finish(self, run_id: str) -> None:
        """Append the terminal marker: followers stop after what came before it."""
        ...

    def read_after(
        self,
        run_id: str,
        last_event_id: str | None,
        *,
        follow: bool = True,
        still_live: StillLive | None = None,
    ) -> AsyncIterator[ReplayEvent]:
        """The events after `last_event_id` (all for None); with `follow`, then the live ones
        until the terminal marker (or until `still_live` says the run is gone)."""
        ...

    async def last_seq(self, run_id: str) -> int:
        """The number of the run's latest event (0: none yet); reading after it gives only
        what comes from now on, or nothing if the run has ended."""
        ...

    async def purge_expired(self) -> int:
        """Drop what is older than the TTL; how many events went."""
        ...

    async def aclose(self) -> None: ...


# --- SQL (Postgres or SQLite, through the store's connections) ---


def now_ms(plus_seconds: float = 0.0) -> int:
    """Unix time in milliseconds, as the run tables keep it."""
    return int((time.time() + plus_seconds) * 1000)


async def ensure_run_tables(store: Store) -> None:
    """Apply the replay log's and the run queue's tables (`0210_stemgraph_replay.sql`) when
    missing: idempotent, one creator at a time on Postgres."""
    async with store.transaction() as db:
        if store.backend == "postgres":
            await db.query("SELECT pg_advisory_xact_lock(hashtext('stemgraph_migrations')) AS l")
        script = (MIGRATIONS / store.backend / "0210_stemgraph_replay.sql").read_text("utf-8")
        for statement in sql_statements(script):
            await db.execute(statement)


class SqlReplayLog:
    """The log in the store's database (`stemgraph_run_events`)."""

    def __init__(
        self,
        store: Store,
        wakeups: Wakeups,
        *,
        ttl_seconds: float = DEFAULT_TTL_SECONDS,
        poll_seconds: float = DEFAULT_POLL_SECONDS,
    ) -> None:
        self._store = store
        self._wakeups = wakeups
        self._postgres = store.backend == "postgres"
        self.ttl_seconds = ttl_seconds
        self.poll_seconds = poll_seconds

    async def append(self, run_id: str, event: str, data: bytes) -> ReplayEvent:
        params: dict[str, Any] = {
            "r": run_id,
            "e": event,
            "d": data,
            "x": now_ms(self.ttl_seconds),
        }
        # The run's counter row hands out numbers: its row lock orders concurrent appenders
        # (a resumed run's old process may still be flushing), so no two share a number.
        count = (
            "INSERT INTO stemgraph_run_streams (run_id, last_seq, expires_at) VALUES (:r, 1, :x)"
            " ON CONFLICT (run_id) DO UPDATE SET"
            " last_seq = stemgraph_run_streams.last_seq + 1, expires_at = :x RETURNING last_seq"
        )
        if self._postgres:
            # One round trip: the number, the row and every process's followers woken.
            notify, extra = notify_sql(f"replay:{run_id}")
            params.update(extra)
            async with self._store.session() as db:
                rows = await db.query(
                    f"WITH n AS ({count}) INSERT INTO stemgraph_run_events"
                    " (run_id, seq, event, data, expires_at) SELECT :r, last_seq, :e, :d, :x"
                    f" FROM n RETURNING seq, ({notify})",
                    params,
                )
            seq = int(rows[0]["seq"])
        else:
            # One trip: the number, then the row under it (the same transaction).
            counted, _ = await self._store.batch(
                [
                    (count, params),
                    (
                        "INSERT INTO stemgraph_run_events (run_id, seq, event, data, expires_at)"
                        " SELECT :r, last_seq, :e, :d, :x FROM stemgraph_run_streams"
                        " WHERE run_id = :r",
                        params,
                    ),
                ]
            )
            seq = int(counted[0]["last_seq"])
        self._wakeups.notify(f"replay:{run_id}")
        return ReplayEvent(run_id, seq, event, data)

    async def hold(self, run_id: str, holder: str) -> None:
        """Nothing to do: the queue row that `append_numbered` checks says who holds the run."""

    async def append_numbered(
        self, run_id: str, events: Sequence[Numbered], *, holder: str | None = None
    ) -> bool:
        if not events:
            return True
        # One row for the whole batch (one insert, one index entry per index, not one per
        # event): keyed by its last number, so `seq > n` still finds every row holding an
        # event after n; readers unpack it and skip what they saw.
        top, event, data = events[-1]
        if len(events) > 1:
            event, data = f"{PACKED}{len(events)}", pack(events)
        params: dict[str, Any] = {
            "r": run_id,
            "x": now_ms(self.ttl_seconds),
            "top": top,
            "e": event,
            "d": data,
        }
        greatest = "GREATEST" if self._postgres else "MAX"
        held = ""
        if holder is not None:
            params["w"] = holder
            held = (
                " WHERE EXISTS (SELECT 1 FROM stemgraph_run_queue WHERE run_id = :r"
                " AND worker_id = :w AND status = 'running')"
            )
        statements: list[tuple[str, Params | None]] = [
            (
                "INSERT INTO stemgraph_run_events (run_id, seq, event, data, expires_at)"
                f" SELECT :r, :top, :e, :d, :x{held} RETURNING seq",
                params,
            ),
            (
                "INSERT INTO stemgraph_run_streams (run_id, last_seq, expires_at)"
                # `WHERE true`: SQLite reads an upsert after a bare SELECT as a join otherwise.
                f" SELECT :r, :top, :x{held or ' WHERE true'}"
                " ON CONFLICT (run_id) DO UPDATE SET last_seq ="
                f" {greatest}(stemgraph_run_streams.last_seq, :top), expires_at = :x",
                params,
            ),
        ]
        if self._postgres:
            statements.append(notify_sql(f"replay:{run_id}"))
        # One transaction (one trip to SQLite's thread).
        written, *_ = await self._store.batch(statements)
        if written:
            self._wakeups.notify(f"replay:{run_id}")
        return bool(written)

    async def finish(self, run_id: str) -> None:
        # The marker's append moves the run's counter row's expiry a full TTL on, and the
        # whole log lives as long as that row (`_LIVE`), however long the run ran: no row of
        # the run is rewritten.
        await self.append(run_id, END, b"")

    async def _rows_after(self, run_id: str, seq: int) -> tuple[list[ReplayEvent], int]:
        """The events after `seq` in the next rows (at most `_BATCH`), and how many rows."""
        async with self._store.session() as db:
            rows = await db.query(
                "SELECT seq, event, data FROM stemgraph_run_events"
                f" WHERE run_id = :r AND seq > :s AND {_LIVE} ORDER BY seq LIMIT :n",
                {"r": run_id, "s": seq, "now": now_ms(), "n": _BATCH},
            )
        events: list[ReplayEvent] = []
        for row in rows:
            event, data = str(row["event"]), bytes(row["data"])
            if event.startswith(PACKED):
                # A stored batch may start at or before `seq` (the id named its middle).
                events.extend(
                    ReplayEvent(run_id, n, name, body) for n, name, body in unpack(data) if n > seq
                )
            else:
                events.append(ReplayEvent(run_id, int(row["seq"]), event, data))
        return events, len(rows)

    async def read_after(
        self,
        run_id: str,
        last_event_id: str | None,
        *,
        follow: bool = True,
        still_live: StillLive | None = None,
    ) -> AsyncIterator[ReplayEvent]:
        seq = parse_event_id(run_id, last_event_id)
        last_look = False
        with self._wakeups.watch(f"replay:{run_id}") as woken:
            while True:
                woken.clear()
                batch, rows = await self._rows_after(run_id, seq)
                for item in batch:
                    if item.event == END:
                        return
                    seq = item.seq
                    yield item
                if rows == _BATCH:
                    continue
                if not follow or last_look:
                    return
                if not await wait(woken, self.poll_seconds) and still_live is not None:
                    # The run is gone without its marker: one last read, then stop.
                    last_look = not await still_live()

    async def last_seq(self, run_id: str) -> int:
        async with self._store.session() as db:
            rows = await db.query(
                "SELECT seq, event FROM stemgraph_run_events WHERE run_id = :r"
                " ORDER BY seq DESC LIMIT 1",
                {"r": run_id},
            )
        if not rows:
            return 0
        # Before the terminal marker, so a reader from here still sees the end.
        return int(rows[0]["seq"]) - (1 if rows[0]["event"] == END else 0)

    async def purge_expired(self) -> int:
        now = {"now": now_ms()}
        async with self._store.transaction() as db:
            rows = await db.query(
                f"DELETE FROM stemgraph_run_events WHERE NOT {_LIVE} RETURNING event", now
            )
            # A counter outlives its events only while the run may still append.
            await db.execute("DELETE FROM stemgraph_run_streams WHERE expires_at <= :now", now)
        return sum(_count(str(row["event"])) for row in rows)

    async def aclose(self) -> None:
        """Nothing of its own to close: the store's connections belong to the store."""


def pack(events: Sequence[Numbered]) -> bytes:
    """Several events as one row's data: each its header (`_HEAD`), name and data."""
    parts: list[bytes] = []
    for seq, event, data in events:
        name = event.encode()
        parts += (_HEAD.pack(seq, len(name), len(data)), name, data)
    return b"".join(parts)


def unpack(packed: bytes) -> list[Numbered]:
    """The events `pack` packed, in their order."""
    events: list[Numbered] = []
    at, size = 0, _HEAD.size
    while at < len(packed):
        seq, name_length, data_length = _HEAD.unpack_from(packed, at)
        at += size
        name = packed[at : at + name_length].decode()
        at += name_length
        events.append((seq, name, packed[at : at + data_length]))
        at += data_length
    return events


def _count(event: str) -> int:
    """How many events a row holds, from its event name."""
    return int(event[len(PACKED) :]) if event.startswith(PACKED) else 1


# --- Redis streams ---


# A holder's batch, only while the holder key (KEYS[2]) names it (ARGV[1]) and only after what
# the stream holds (a script is not rolled back: nothing is added unless all of it can be);
# ARGV[2] the TTL, then (id, event, data) per event, ids `0-<n>`. Both keys' expiry moves on.
_APPEND_HELD: Final = """
if redis.call('GET', KEYS[2]) ~= ARGV[1] then return 0 end
local top = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)[1]
local first = tonumber(string.match(ARGV[3], '-(%d+)$'))
if top and tonumber(string.match(top[1], '-(%d+)$')) >= first then return 0 end
for i = 3, #ARGV, 3 do
  redis.call('XADD', KEYS[1], ARGV[i], 'e', ARGV[i + 1], 'd', ARGV[i + 2])
end
redis.call('EXPIRE', KEYS[1], ARGV[2])
redis.call('EXPIRE', KEYS[2], ARGV[2])
return 1
"""


class RedisReplayLog:
    """One Redis stream per run under `prefix`, expiring `ttl_seconds` after the last append."""

    def __init__(
        self,
        url: str,
        *,
        prefix: str = "stemgraph:replay",
        ttl_seconds: float = DEFAULT_TTL_SECONDS,
        poll_seconds: float = DEFAULT_POLL_SECONDS,
    ) -> None:
        from redis.asyncio import Redis

        self._redis: Redis = Redis.from_url(url)
        self._prefix = prefix
        self.ttl_seconds = ttl_seconds
        self.poll_seconds = poll_seconds

    def _key(self, run_id: str) -> str:
        return f"{self._prefix}:{run_id}"

    async def append(self, run_id: str, event: str, data: bytes) -> ReplayEvent:
        key = self._key(run_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            # `0-*`: Redis numbers the entry 0-1, 0-2, ... atomically, whoever appends.
            pipe.xadd(key, {"e": event, "d": data}, id="0-*")
            pipe.expire(key, max(1, round(self.ttl_seconds)))
            entry_id, _ = await pipe.execute()
        seq = int(entry_id.decode().partition("-")[2])
        return ReplayEvent(run_id, seq, event, data)

    def _holder_key(self, run_id: str) -> str:
        return f"{self._prefix}:holder:{run_id}"

    async def hold(self, run_id: str, holder: str) -> None:
        # Redis cannot see the run queue: the holder is kept beside the stream, and a holder's
        # batch goes in (by `_APPEND_HELD`, atomically) only while the key still names it.
        ttl = max(1, round(self.ttl_seconds))
        await self._redis.set(self._holder_key(run_id), holder, ex=ttl)

    async def append_numbered(
        self, run_id: str, events: Sequence[Numbered], *, holder: str | None = None
    ) -> bool:
        if not events:
            return True
        key = self._key(run_id)
        ttl = max(1, round(self.ttl_seconds))
        if holder is not None:
            args: list[Any] = [holder, ttl]
            for seq, event, data in events:
                args += [f"0-{seq}", event, data]
            written = await self._redis.eval(_APPEND_HELD, 2, key, self._holder_key(run_id), *args)
            return bool(written)
        async with self._redis.pipeline(transaction=True) as pipe:
            for seq, event, data in events:
                pipe.xadd(key, {"e": event, "d": data}, id=f"0-{seq}")
            pipe.expire(key, ttl)
            await pipe.execute()
        return True

    async def finish(self, run_id: str) -> None:
        await self.append(run_id, END, b"")

    async def _read(self, run_id: str, seq: int, block_ms: int | None) -> list[ReplayEvent]:
        reply: Any = await self._redis.xread(
            {self._key(run_id): f"0-{seq}"}, count=_BATCH, block=block_ms
        )
        events = []
        for _stream, entries in reply or ():
            for entry_id, fields in entries:
                number = int(entry_id.decode().partition("-")[2])
                events.append(ReplayEvent(run_id, number, fields[b"e"].decode(), fields[b"d"]))
        return events

    async def read_after(
        self,
        run_id: str,
        last_event_id: str | None,
        *,
        follow: bool = True,
        still_live: StillLive | None = None,
    ) -> AsyncIterator[ReplayEvent]:
        seq = parse_event_id(run_id, last_event_id)
        block_ms: int | None = None
        last_look = False
        while True:
            batch = await self._read(run_id, seq, None if last_look else block_ms)
            for item in batch:
                if item.event == END:
                    return
                seq = item.seq
                yield item
            if batch:
                continue
            if not follow or last_look:
                return
            if block_ms is not None and still_live is not None:
                # Waited a poll interval for nothing: the run may be gone without its marker.
                last_look = not await still_live()
            block_ms = max(1, int(self.poll_seconds * 1000))

    async def last_seq(self, run_id: str) -> int:
        entries: Any = await self._redis.xrevrange(self._key(run_id), count=1)
        if not entries:
            return 0
        entry_id, fields = entries[0]
        seq = int(entry_id.decode().partition("-")[2])
        return seq - (1 if fields[b"e"].decode() == END else 0)

    async def purge_expired(self) -> int:
        """Redis expires each run's stream by itself."""
        return 0

    async def delete(self, run_id: str) -> None:
        await self._redis.delete(self._key(run_id))

    async def aclose(self) -> None:
        await self._redis.aclose()


async def open_replay_log(
    store: Store,
    wakeups: Wakeups,
    *,
    redis_url: str | None,
    ttl_seconds: float = DEFAULT_TTL_SECONDS,
    redis_prefix: str = "stemgraph:replay",
) -> ReplayLog:
    """Redis streams when `redis_url` is set, else the store's own database."""
    if redis_url:
        return RedisReplayLog(redis_url, prefix=redis_prefix, ttl_seconds=ttl_seconds)
    await ensure_run_tables(store)
    return SqlReplayLog(store, wakeups, ttl_seconds=ttl_seconds)


__all__ = [
    "END",
    "RedisReplayLog",
    "ReplayEvent",
    "ReplayLog",
    "SqlReplayLog",
    "ensure_run_tables",
    "open_replay_log",
    "parse_event_id",
]

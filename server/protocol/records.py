"""The protocol's rows: `stemgraph_threads` and `stemgraph_runs`, on the store's database.

A thread's state is the checkpointer's; its row holds the owner (None: created under the
service key alone), the graph it runs, its status, metadata and the last values and interrupts
(so search answers without loading checkpoints). A run's row holds its kwargs, so any process
can execute it from its id.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import psycopg

from tools.clock import now_iso
from tools.store.base import Row, Store

ThreadStatus = Literal["idle", "busy", "interrupted", "error"]
RunStatus = Literal["pending", "running", "error", "success", "timeout", "interrupted"]
ACTIVE: tuple[RunStatus, ...] = ("pending", "running")


@dataclass(frozen=True, slots=True)
class ThreadRecord:
    thread_id: str
    owner_user_id: str | None
    graph_id: str | None
    status: ThreadStatus = "idle"
    metadata: Mapping[str, Any] = field(default_factory=dict)
    values: Any = None
    interrupts: Mapping[str, Any] = field(default_factory=dict)
    created_at: str = ""
    updated_at: str = ""

    def as_wire(self) -> dict[str, Any]:
        return {
            "thread_id": self.thread_id,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "state_updated_at": self.updated_at,
            "metadata": dict(self.metadata),
            "status": self.status,
            "config": {},
            "values": self.values,
            "interrupts": dict(self.interrupts),
        }


@dataclass(frozen=True, slots=True)
class RunRecord:
    run_id: str
    thread_id: str
    assistant_id: str
    graph_id: str
    owner_user_id: str | None
    status: RunStatus = "pending"
    metadata: Mapping[str, Any] = field(default_factory=dict)
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    multitask_strategy: str = "reject"
    created_at: str = ""
    updated_at: str = ""

    def as_wire(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "thread_id": self.thread_id,
            "assistant_id": self.assistant_id,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "status": self.status,
            "metadata": dict(self.metadata),
            "kwargs": {k: v for k, v in self.kwargs.items() if not k.startswith("_")},
            "multitask_strategy": self.multitask_strategy,
        }


def _matches(state: Any, wanted: Mapping[str, Any]) -> bool:
    if not wanted:
        return True
    return isinstance(state, dict) and all(state.get(k) == v for k, v in wanted.items())


def _dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _thread(row: Row) -> ThreadRecord:
    values = row["state_values"]
    return ThreadRecord(
        thread_id=row["thread_id"],
        owner_user_id=row["owner_user_id"],
        graph_id=row["graph_id"],
        status=row["status"],
        metadata=json.loads(row["metadata"]),
        values=None if values is None else json.loads(values),
        interrupts=json.loads(row["interrupts"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def _run(row: Row) -> RunRecord:
    return RunRecord(
        run_id=row["run_id"],
        thread_id=row["thread_id"],
        assistant_id=row["assistant_id"],
        graph_id=row["graph_id"],
        owner_user_id=row["owner_user_id"],
        status=row["status"],
        metadata=json.loads(row["metadata"]),
        kwargs=json.loads(row["kwargs"]),
        multitask_strategy=row["multitask_strategy"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


_THREAD_COLUMNS = (
    "thread_id, owner_user_id, graph_id, status, metadata, state_values, interrupts,"
    " created_at, updated_at"
)
_RUN_COLUMNS = (
    "run_id, thread_id, assistant_id, graph_id, owner_user_id, status, metadata, kwargs,"
    " multitask_strategy, created_at, updated_at"
)


class Records:
    """Threads and runs on the store's SQL database (both backends, one set of statements)."""

    def __init__(self, store: Store) -> None:
        self._db = store

    async def create_thread(
        self,
        thread_id: str,
        *,
        owner_user_id: str | None,
        graph_id: str | None,
        metadata: Mapping[str, Any],
    ) -> ThreadRecord | None:
        """The new thread, or None when `thread_id` is taken."""
        now = now_iso()
        async with self._db.session() as db:
            rows = await db.query(
                f"INSERT INTO stemgraph_threads ({_THREAD_COLUMNS})"
                " VALUES (:t, :o, :g, 'idle', :m, NULL, '{}', :now, :now)"
                f" ON CONFLICT (thread_id) DO NOTHING RETURNING {_THREAD_COLUMNS}",
                {
                    "t": thread_id,
                    "o": owner_user_id,
                    "g": graph_id,
                    "m": _dump(metadata),
                    "now": now,
                },
            )
        return _thread(rows[0]) if rows else None

    async def get_thread(self, thread_id: str) -> ThreadRecord | None:
        async with self._db.session() as db:
            rows = await db.query(
                f"SELECT {_THREAD_COLUMNS} FROM stemgraph_threads WHERE thread_id = :t",
                {"t": thread_id},
            )
        return _thread(rows[0]) if rows else None

    async def search_threads(
        self,
        *,
        owner_user_id: str | None,
        everyone: bool,
        status: str | None,
        metadata: Mapping[str, Any],
        limit: int,
        offset: int,
        values: Mapping[str, Any] | None = None,
        ids: Sequence[str] = (),
    ) -> list[ThreadRecord]:
        """Threads newest first: the owner's (or `everyone`'s), matching `status`, every key
        of `metadata` and of `values` (compared as JSON values), and one of `ids` if given."""
        clauses = ["1 = 1" if everyone else "owner_user_id = :o"]
        params: dict[str, Any] = {"o": owner_user_id}
        if status is not None:
            clauses.append("status = :s")
            params["s"] = status
        async with self._db.session() as db:
            rows = await db.query(
                f"SELECT {_THREAD_COLUMNS} FROM stemgraph_threads WHERE {' AND '.join(clauses)}"
                " ORDER BY updated_at DESC, thread_id",
                params,
            )
        # Metadata is filtered here, the same way on both backends (JSON is text in both).
        wanted = set(ids)
        found = [
            thread
            for thread in map(_thread, rows)
            if all(thread.metadata.get(key) == value for key, value in metadata.items())
            and _matches(thread.values, values or {})
            and (not wanted or thread.thread_id in wanted)
        ]
        return found[offset : offset + limit]

    async def update_thread(
        self,
        thread_id: str,
        *,
        graph_id: str | None = None,
        status: ThreadStatus | None = None,
        metadata: Mapping[str, Any] | None = None,
        values: Any = ...,
        interrupts: Mapping[str, Any] | None = None,
        run: tuple[str, RunStatus] | None = None,
    ) -> ThreadRecord | None:
        """Set what is given; with `run`, that run's status too, in the same transaction."""
        sets = ["updated_at = :now"]
        params: dict[str, Any] = {"t": thread_id, "now": now_iso()}
        if graph_id is not None:
            sets.append("graph_id = COALESCE(graph_id, :g)")
            params["g"] = graph_id
        if status is not None:
            sets.append("status = :s")
            params["s"] = status
        if metadata is not None:
            sets.append("metadata = :m")
            params["m"] = _dump(metadata)
        if values is not ...:
            sets.append("state_values = :v")
            params["v"] = None if values is None else _dump(values)
        if interrupts is not None:
            sets.append("interrupts = :i")
            params["i"] = _dump(interrupts)
        update = (
            f"UPDATE stemgraph_threads SET {', '.join(sets)} WHERE thread_id = :t"
            f" RETURNING {_THREAD_COLUMNS}"
        )
        if run is None:
            async with self._db.session() as db:
                rows = await db.query(update, params)
            return _thread(rows[0]) if rows else None
        params.update({"r": run[0], "rs": run[1]})
        set_run = "UPDATE stemgraph_runs SET status = :rs, updated_at = :now WHERE run_id = :r"
        if self._db.backend == "postgres":
            # One statement, one round trip (a data-modifying CTE; SQLite has none).
            async with self._db.session() as db:
                rows = await db.query(f"WITH finished AS ({set_run}) {update}", params)
        else:
            rows, _ = await self._db.batch([(update, params), (set_run, params)])
        return _thread(rows[0]) if rows else None

    async def delete_thread(self, thread_id: str) -> bool:
        async with self._db.session() as db:
            rows = await db.query(
                "DELETE FROM stemgraph_threads WHERE thread_id = :t RETURNING thread_id",
                {"t": thread_id},
            )
        return bool(rows)

    async def create_run(self, run: RunRecord) -> RunRecord:
        now = now_iso()
        async with self._db.session() as db:
            rows = await db.query(
                f"INSERT INTO stemgraph_runs ({_RUN_COLUMNS}) VALUES"
                " (:r, :t, :a, :g, :o, 'pending', :m, :k, :s, :now, :now)"
                f" RETURNING {_RUN_COLUMNS}",
                {
                    "r": run.run_id,
                    "t": run.thread_id,
                    "a": run.assistant_id,
                    "g": run.graph_id,
                    "o": run.owner_user_id,
                    "m": _dump(run.metadata),
                    "k": _dump(run.kwargs),
                    "s": run.multitask_strategy,
                    "now": now,
                },
            )
        return _run(rows[0])

    async def get_run(self, run_id: str) -> RunRecord | None:
        async with self._db.session() as db:
            rows = await db.query(
                f"SELECT {_RUN_COLUMNS} FROM stemgraph_runs WHERE run_id = :r", {"r": run_id}
            )
        return _run(rows[0]) if rows else None

    async def list_runs(
        self, thread_id: str, *, status: str | None, limit: int, offset: int
    ) -> list[RunRecord]:
        params: dict[str, Any] = {"t": thread_id, "n": limit, "off": offset}
        where = "thread_id = :t"
        if status is not None:
            where += " AND status = :s"
            params["s"] = status
        async with self._db.session() as db:
            rows = await db.query(
                f"SELECT {_RUN_COLUMNS} FROM stemgraph_runs WHERE {where}"
                " ORDER BY created_at DESC, run_id LIMIT :n OFFSET :off",
                params,
            )
        return [_run(row) for row in rows]

    async def active_runs(self, thread_id: str) -> list[RunRecord]:
        """The thread's pending and running runs, oldest first."""
        async with self._db.session() as db:
            rows = await db.query(
                f"SELECT {_RUN_COLUMNS} FROM stemgraph_runs WHERE thread_id = :t"
                " AND status IN ('pending', 'running') ORDER BY created_at, run_id",
                {"t": thread_id},
            )
        return [_run(row) for row in rows]

    async def start_run(self, run_id: str, thread_id: str) -> bool:
        """pending → running, only when the thread runs nothing else and no older run waits
        (so enqueued runs go in order), and the thread `busy` with it, in one transaction;
        False means not now (or not any more)."""
        params = {"r": run_id, "t": thread_id, "now": now_iso()}
        try:
            started, _ = await self._db.batch(
                [
                    (
                        "UPDATE stemgraph_runs SET status = 'running', updated_at = :now"
                        " WHERE run_id = :r AND status = 'pending' AND NOT EXISTS ("
                        " SELECT 1 FROM stemgraph_runs o"
                        " WHERE o.thread_id = stemgraph_runs.thread_id"
                        " AND o.run_id <> stemgraph_runs.run_id AND (o.status = 'running' OR"
                        " (o.status = 'pending' AND (o.created_at, o.run_id) <"
                        " (stemgraph_runs.created_at, stemgraph_runs.run_id))))"
                        " RETURNING run_id",
                        params,
                    ),
                    (
                        # Only if the statement above started it (its row now says so).
                        "UPDATE stemgraph_threads SET status = 'busy', updated_at = :now"
                        " WHERE thread_id = :t AND EXISTS (SELECT 1 FROM stemgraph_runs"
                        " WHERE run_id = :r AND status = 'running' AND updated_at = :now)",
                        params,
                    ),
                ]
            )
        except (sqlite3.IntegrityError, psycopg.errors.UniqueViolation):
            # The one-running index: another process started a run on the thread first.
            return False
        return bool(started)

    async def set_run_status(
        self, run_id: str, status: RunStatus, *, only_from: Sequence[RunStatus] = ()
    ) -> bool:
        params: dict[str, Any] = {"r": run_id, "s": status, "now": now_iso()}
        where = "run_id = :r"
        if only_from:
            where += " AND status IN (" + ", ".join(f":f{n}" for n in range(len(only_from))) + ")"
            params.update({f"f{n}": value for n, value in enumerate(only_from)})
        async with self._db.session() as db:
            rows = await db.query(
                f"UPDATE stemgraph_runs SET status = :s, updated_at = :now WHERE {where}"
                " RETURNING run_id",
                params,
            )
        return bool(rows)

    async def set_run_kwargs(self, run_id: str, kwargs: Mapping[str, Any]) -> None:
        async with self._db.session() as db:
            await db.execute(
                "UPDATE stemgraph_runs SET kwargs = :k WHERE run_id = :r",
                {"k": _dump(kwargs), "r": run_id},
            )

    async def delete_run(self, run_id: str) -> bool:
        async with self._db.session() as db:
            rows = await db.query(
                "DELETE FROM stemgraph_runs WHERE run_id = :r RETURNING run_id", {"r": run_id}
            )
        return bool(rows)

"""The durable queue of background runs: rows in `stemgraph_run_queue`, taken by any process.

The job pattern of the materials worker, for runs:
- `enqueue` writes a `pending` row (the run's request as JSON, opaque here);
- `claim` takes the oldest pending run whose thread has nothing running, marks it `running`
  with a lease (`FOR UPDATE SKIP LOCKED` on Postgres, `BEGIN IMMEDIATE` on SQLite); a partial
  unique index keeps one running run per thread even if two claims race;
- the holder renews its lease with `heartbeat` (which also hands it a cancel request) and
  records the outcome with `finish`, both only while it still holds the run;
- `sweep` finds runs whose lease ran out (their process died): a resumable run goes back to
  `pending` marked `resumed`, to be re-run from the thread's last checkpoint with no input;
  a run that cannot be resumed (its payload says so, or it was resumed too often) ends
  `error`.
  A run is never left `running`.

Statuses are LangGraph's run statuses: pending, running, success, error, timeout, interrupted.
Times are kept in Unix milliseconds from each process's clock (seconds on `QueuedRun`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

from server.protocol.replay import now_ms
from server.protocol.wakeups import Wakeups, notify_sql
from tools.store.base import Row, Session, Store
from tools.store.core import is_unique_violation

RunStatus = Literal["pending", "running", "success", "error", "timeout", "interrupted"]
FINAL_STATUSES: frozenset[str] = frozenset({"success", "error", "timeout", "interrupted"})
CancelAction = Literal["interrupt", "rollback"]
DEFAULT_LEASE_SECONDS = 30.0
DEFAULT_MAX_RESUMES = 2
QUEUE_KEY = "queue"
DIED = "The server process running this run stopped; it was resumed from its last checkpoint."
CANNOT_RESUME = "The server process running this run stopped, and the run could not be resumed."

_COLUMNS = (
    "run_id, thread_id, payload, status, resumes, attempts, worker_id, lease_expires_at,"
    " cancel_action, error, created_at"
)


@dataclass(frozen=True, slots=True)
class QueuedRun:
    """A run as the queue holds it. `resumed`: its process died and it runs again from the
    thread's last checkpoint with no input."""

    run_id: str
    thread_id: str | None
    payload: dict[str, Any]
    status: RunStatus
    resumes: int
    attempts: int
    worker_id: str | None
    lease_expires_at: float | None
    cancel_action: CancelAction | None
    error: str | None
    created_at: float

    @property
    def resumed(self) -> bool:
        return self.resumes > 0

    @property
    def resumable(self) -> bool:
        """Whether another process may re-run it from its checkpoint (`"resumable": false` in
        the payload says it cannot, e.g. a run with nothing checkpointed)."""
        return self.payload.get("resumable", True) is not False


@dataclass(frozen=True, slots=True)
class Swept:
    """A run `sweep` took from a dead process: `resumed` (pending again), or ended `error`
    (`interrupted` if it had been asked to stop)."""

    run: QueuedRun
    outcome: Literal["resumed", "error", "interrupted"]


def _run(row: Row) -> QueuedRun:
    lease = row["lease_expires_at"]
    return QueuedRun(
        run_id=str(row["run_id"]),
        thread_id=None if row["thread_id"] is None else str(row["thread_id"]),
        payload=json.loads(row["payload"]),
        status=row["status"],
        resumes=int(row["resumes"]),
        attempts=int(row["attempts"]),
        worker_id=row["worker_id"],
        lease_expires_at=None if lease is None else int(lease) / 1000,
        cancel_action=row["cancel_action"],
        error=row["error"],
        created_at=int(row["created_at"]) / 1000,
    )


class RunQueue:
    """Background runs waiting in, and leased from, the store's database."""

    def __init__(
        self,
        store: Store,
        wakeups: Wakeups,
        *,
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
        max_resumes: int = DEFAULT_MAX_RESUMES,
    ) -> None:
        self._store = store
        self._wakeups = wakeups
        self._postgres = store.backend == "postgres"
        self.lease_seconds = lease_seconds
        self.max_resumes = max_resumes
        self._last_created = 0

    def _lease_end(self, now: int) -> int:
        return now + int(self.lease_seconds * 1000)

    async def _wake_workers(self, db: Session) -> None:
        if self._postgres:
            sql, params = notify_sql(QUEUE_KEY)
            await db.query(sql, params)

    async def enqueue(
        self,
        run_id: str,
        thread_id: str | None,
        payload: dict[str, Any],
        *,
        claim_as: str | None = None,
    ) -> QueuedRun | None:
        """Queue a run; any worker of any process may take it. With `claim_as`, that worker
        takes it in the same transaction when its thread is free (no other process can get
        there first): the claimed run, or None when it waits in the queue."""
        # Strictly increasing within this process, so runs enqueued in one millisecond still
        # start in the order they came.
        now = self._last_created = max(now_ms(), self._last_created + 1)
        insert = (
            "INSERT INTO stemgraph_run_queue (run_id, thread_id, payload, status,"
            " created_at, updated_at) VALUES (:r, :t, :p, 'pending', :now, :now)",
            {"r": run_id, "t": thread_id, "p": json.dumps(payload), "now": now},
        )
        try:
            if not self._postgres:
                # SQLite: the insert and the claim in one trip (no workers to notify in SQL).
                statements = [insert]
                if claim_as:
                    statements.append(self._claim_statement(claim_as, run_id, now))
                results = await self._store.batch(statements)
                claimed = _run(results[1][0]) if claim_as and results[1] else None
            else:
                async with self._store.transaction() as db:
                    await db.execute(*insert)
                    claimed = await self._claim(db, claim_as, run_id, now) if claim_as else None
                    if claimed is None:
                        await self._wake_workers(db)
        except Exception as error:
            if claim_as is None or not is_unique_violation(error):
                raise
            # Another process started a run of this thread at this very moment: queue it.
            return await self.enqueue(run_id, thread_id, payload)
        if claimed is None:
            self._wakeups.notify(QUEUE_KEY)
        return claimed

    async def get(self, run_id: str) -> QueuedRun | None:
        async with self._store.session() as db:
            rows = await db.query(
                f"SELECT {_COLUMNS} FROM stemgraph_run_queue WHERE run_id = :r", {"r": run_id}
            )
        return _run(rows[0]) if rows else None

    async def claim(self, worker_id: str, *, run_id: str | None = None) -> QueuedRun | None:
        """Lease the oldest pending run (or `run_id`, if it may start) whose thread is idle and
        that no earlier pending run of its thread precedes; None when there is none."""
        try:
            (rows,) = await self._store.batch([self._claim_statement(worker_id, run_id, now_ms())])
            return _run(rows[0]) if rows else None
        except Exception as error:
            # Another process started a run of the same thread between our read and write:
            # the partial unique index refused the second; this one waits its turn.
            if is_unique_violation(error):
                return None
            raise

    async def _claim(
        self, db: Session, worker_id: str, run_id: str | None, now: int
    ) -> QueuedRun | None:
        rows = await db.query(*self._claim_statement(worker_id, run_id, now))
        return _run(rows[0]) if rows else None

    def _claim_statement(
        self, worker_id: str, run_id: str | None, now: int
    ) -> tuple[str, dict[str, Any]]:
        skip_locked = " FOR UPDATE SKIP LOCKED" if self._postgres else ""
        only = " AND q.run_id = :only" if run_id is not None else ""
        return (
            "UPDATE stemgraph_run_queue SET status = 'running', worker_id = :w,"
            " lease_expires_at = :lease, attempts = attempts + 1, updated_at = :now"
            " WHERE run_id = (SELECT q.run_id FROM stemgraph_run_queue q"
            f" WHERE q.status = 'pending'{only} AND (q.thread_id IS NULL OR NOT EXISTS ("
            "  SELECT 1 FROM stemgraph_run_queue o WHERE o.thread_id = q.thread_id"
            "  AND (o.status = 'running' OR (o.status = 'pending' AND"
            "  (o.created_at < q.created_at OR"
            "  (o.created_at = q.created_at AND o.run_id < q.run_id))))))"
            f" ORDER BY q.created_at, q.run_id LIMIT 1{skip_locked})"
            f" RETURNING {_COLUMNS}",
            {"w": worker_id, "lease": self._lease_end(now), "now": now, "only": run_id},
        )

    async def heartbeat(self, run_id: str, worker_id: str) -> tuple[bool, CancelAction | None]:
        """Renew the lease: (still held, cancel requested). Not held: stop, it is not ours."""
        now = now_ms()
        async with self._store.session() as db:
            rows = await db.query(
                "UPDATE stemgraph_run_queue SET lease_expires_at = :lease, updated_at = :now"
                " WHERE run_id = :r AND worker_id = :w AND status = 'running'"
                " RETURNING cancel_action",
                {"r": run_id, "w": worker_id, "lease": self._lease_end(now), "now": now},
            )
        if not rows:
            return False, None
        return True, rows[0]["cancel_action"]

    async def finish(
        self, run_id: str, worker_id: str, status: RunStatus, error: str | None = None
    ) -> bool:
        """Record the outcome while `worker_id` still holds the run; whether it did."""
        if status not in FINAL_STATUSES:
            raise ValueError(f"not a final run status: {status}")
        update = (
            "UPDATE stemgraph_run_queue SET status = :s, error = :e, worker_id = NULL,"
            " lease_expires_at = NULL, updated_at = :now"
            " WHERE run_id = :r AND worker_id = :w AND status = 'running' RETURNING run_id",
            {"r": run_id, "w": worker_id, "s": status, "e": error, "now": now_ms()},
        )
        if not self._postgres:
            (rows,) = await self._store.batch([update])  # one trip
        else:
            async with self._store.transaction() as db:
                rows = await db.query(*update)
                if rows:
                    # The thread's next pending run may go now.
                    await self._wake_workers(db)
        if rows:
            self._wakeups.notify(QUEUE_KEY)
        return bool(rows)

    async def release(self, run: QueuedRun, worker_id: str) -> bool:
        """Give a held run back (this process is shutting down): pending again, resumed from
        its checkpoint by whichever process claims it next. False: not held, or not resumable."""
        if not run.resumable:
            return False
        async with self._store.transaction() as db:
            rows = await db.query(
                "UPDATE stemgraph_run_queue SET status = 'pending', resumes = resumes + 1,"
                " worker_id = NULL, lease_expires_at = NULL, updated_at = :now"
                " WHERE run_id = :r AND worker_id = :w AND status = 'running' RETURNING run_id",
                {"r": run.run_id, "w": worker_id, "now": now_ms()},
            )
            if rows:
                await self._wake_workers(db)
        return bool(rows)

    async def cancel(
        self, run_id: str, action: CancelAction = "interrupt"
    ) -> Literal["cancelled", "requested", "finished", "unknown"]:
        """Cancel a run: a pending one ends `interrupted` now; a running one is asked to stop
        (its holder sees the request at its next heartbeat)."""
        now = now_ms()
        async with self._store.transaction() as db:
            rows = await db.query(
                "UPDATE stemgraph_run_queue SET status = CASE WHEN status = 'pending'"
                " THEN 'interrupted' ELSE status END, cancel_action = :a, updated_at = :now"
                " WHERE run_id = :r AND status IN ('pending', 'running') RETURNING status",
                {"r": run_id, "a": action, "now": now},
            )
            if not rows:
                exists = await db.query(
                    "SELECT 1 AS found FROM stemgraph_run_queue WHERE run_id = :r", {"r": run_id}
                )
                return "finished" if exists else "unknown"
        return "cancelled" if rows[0]["status"] == "interrupted" else "requested"

    async def sweep(self, *, alive: str | None = None) -> list[Swept]:
        """Take back every run whose lease ran out: resume it, or end it `error`. `alive`: the
        sweeping worker, whose own runs are not taken back (it is running, so they are too:
        a late heartbeat, e.g. after a stalled event loop, still renews them)."""
        now = now_ms()
        skip_locked = " FOR UPDATE SKIP LOCKED" if self._postgres else ""
        swept: list[Swept] = []
        async with self._store.transaction() as db:
            stale = await db.query(
                f"SELECT {_COLUMNS} FROM stemgraph_run_queue WHERE status = 'running'"
                " AND lease_expires_at < :now AND worker_id <> :me"
                f" ORDER BY created_at{skip_locked}",
                {"now": now, "me": alive or ""},
            )
            for row in stale:
                run = _run(row)
                if run.resumable and run.resumes < self.max_resumes and not run.cancel_action:
                    await db.execute(
                        "UPDATE stemgraph_run_queue SET status = 'pending',"
                        " resumes = resumes + 1, worker_id = NULL, lease_expires_at = NULL,"
                        " error = :e, updated_at = :now WHERE run_id = :r",
                        {"r": run.run_id, "e": DIED, "now": now},
                    )
                    swept.append(Swept(run, "resumed"))
                else:
                    # A cancelled run whose holder died is not worth resuming either.
                    final: Literal["error", "interrupted"] = (
                        "interrupted" if run.cancel_action else "error"
                    )
                    await db.execute(
                        "UPDATE stemgraph_run_queue SET status = :s, worker_id = NULL,"
                        " lease_expires_at = NULL, error = :e, updated_at = :now"
                        " WHERE run_id = :r",
                        {"r": run.run_id, "s": final, "e": CANNOT_RESUME, "now": now},
                    )
                    swept.append(Swept(run, final))
            if swept:
                await self._wake_workers(db)
        if swept:
            self._wakeups.notify(QUEUE_KEY)
        return swept

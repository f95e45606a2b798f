"""The materials worker: claim queued jobs, run the ingest for each, record the outcome.

Jobs are claimed one at a time, right before they run, so a job never waits under a lock it
is not using (and another worker cannot mistake a waiting job for a stuck one). Any number of
workers may run at once, in one process or many: the store's claim hands each job to one of
them (`FOR UPDATE SKIP LOCKED` on Postgres, one write transaction at a time on SQLite).

Outcomes:
- the ingest returns: the job succeeds (the ingest itself stored the chunks, atomically);
- it raises `MaterialUnreadable`: the material fails now with that reason as its warning and
  the job ends done, as on the platform; `MaterialMissing` (row or file gone): the job and the
  material fail now;
- it raises anything else: the job is requeued after a backoff while attempts remain, else the
  job and the material fail. A failed ingest never touches the chunks already stored.

A worker that dies mid-job leaves the job `running`; the next claim (by any worker) puts it back
on the queue once it has been quiet for `stale_after_seconds`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from tools.materials.extract import MaterialMissing, MaterialUnreadable
from tools.store.base import MaterialJob, Store

logger = logging.getLogger("stemgraph.materials")

RunIngest = Callable[[str], Awaitable[object]]
"""Ingest one material by id; returns on success, raises on failure."""

DEFAULT_BACKOFF: tuple[float, ...] = (5, 30, 120)


@dataclass(frozen=True, slots=True)
class BatchResult:
    """What one `process_batch` call did.

    `recovered` counts the stuck jobs this call recovered (put back on the queue, or failed when
    out of attempts) because their worker stopped responding; `processed` counts the jobs it
    ran, each of which either `succeeded`, `failed` or was `retried` (requeued with a backoff).
    """

    recovered: int = 0
    processed: int = 0
    succeeded: int = 0
    failed: int = 0
    retried: int = 0
    errors: tuple[str, ...] = ()

    def as_wire(self) -> dict[str, Any]:
        """The contract's `{triggered, processed, succeeded, failed, retried, errors}` plus
        `recovered`. `triggered` is a boolean: a result exists only for a batch that ran."""
        return {
            "triggered": True,
            "recovered": self.recovered,
            "processed": self.processed,
            "succeeded": self.succeeded,
            "failed": self.failed,
            "retried": self.retried,
            "errors": list(self.errors),
        }


@dataclass
class _Tally:
    recovered: int = 0
    processed: int = 0
    succeeded: int = 0
    failed: int = 0
    retried: int = 0
    errors: list[str] = field(default_factory=list)

    def result(self) -> BatchResult:
        return BatchResult(
            self.recovered,
            self.processed,
            self.succeeded,
            self.failed,
            self.retried,
            tuple(self.errors),
        )


def describe_error(error: BaseException) -> str:
    """A one-line reason: the exception class and the first line of its message."""
    if isinstance(error, TimeoutError):
        return "timed out"
    text = str(error).strip()
    first_line = text.splitlines()[0][:200] if text else ""
    return f"{type(error).__name__}: {first_line}" if first_line else type(error).__name__


async def _label(store: Store, material_id: str) -> str:
    try:
        material = await store.get_material(material_id)
    except Exception:  # noqa: BLE001 - the id is a good enough label
        return material_id
    return material.title if material is not None and material.title else material_id


async def _run_job(
    store: Store,
    run_ingest: RunIngest,
    job: MaterialJob,
    backoff: Sequence[float],
    tally: _Tally,
) -> None:
    try:
        await run_ingest(job.material_id)
    except MaterialMissing as error:
        reason = str(error) or "The material is gone."
        await store.fail_material_job(
            job.id, reason, retry_in_seconds=None, worker_id=job.locked_by
        )
        tally.failed += 1
        tally.errors.append(f"{await _label(store, job.material_id)}: {reason}")
        logger.info("material missing", extra={"job_id": job.id, "reason": reason})
    except MaterialUnreadable as error:
        reason = str(error) or "The material could not be read."
        # As the platform's worker: the material fails with the reason as its warning, the
        # job itself ends done (nothing to retry).
        await store.finish_material_job(job.id, worker_id=job.locked_by, material_failed=reason)
        tally.failed += 1
        tally.errors.append(f"{await _label(store, job.material_id)}: {reason}")
        logger.info("material unreadable", extra={"job_id": job.id, "reason": reason})
    except Exception as error:
        reason = describe_error(error)
        delay = backoff[min(max(job.attempts, 1), len(backoff)) - 1] if backoff else 0
        status = await store.fail_material_job(
            job.id, reason, retry_in_seconds=delay, worker_id=job.locked_by
        )
        label = await _label(store, job.material_id)
        if status == "retry":
            tally.retried += 1
            tally.errors.append(f"{label}: {reason} (retrying in {delay:g}s)")
        else:
            tally.failed += 1
            tally.errors.append(f"{label}: {reason}")
        logger.warning(
            "material ingest failed",
            exc_info=error,
            extra={"job_id": job.id, "attempts": job.attempts, "job_status": status},
        )
    else:
        await store.finish_material_job(job.id, worker_id=job.locked_by)
        tally.succeeded += 1
    tally.processed += 1


async def process_batch(
    store: Store,
    run_ingest: RunIngest,
    *,
    batch_size: int,
    worker_id: str,
    stale_after_seconds: float = 600,
    backoff_seconds: Sequence[float] = DEFAULT_BACKOFF,
    concurrency: int = 1,
) -> BatchResult:
    """Run up to `batch_size` queued jobs (`concurrency` at a time) and report the outcomes.

    Errors of the queue itself (claiming, recording an outcome) propagate; an ingest's errors
    never do.
    """
    tally = _Tally()
    reserved = 0

    async def lane() -> None:
        nonlocal reserved
        while reserved < batch_size:
            reserved += 1  # before the await, so lanes never claim more than the batch
            jobs, recovered = await store.claim_material_jobs(
                limit=1, worker_id=worker_id, stale_after_seconds=stale_after_seconds
            )
            tally.recovered += recovered
            if not jobs:
                return
            for job in jobs:
                await _run_job(store, run_ingest, job, backoff_seconds, tally)

    lanes = max(1, min(concurrency, batch_size))
    if lanes == 1:
        await lane()
    else:
        async with asyncio.TaskGroup() as group:
            for _ in range(lanes):
                group.create_task(lane())
    return tally.result()

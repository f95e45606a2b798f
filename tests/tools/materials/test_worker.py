"""The materials worker on both backends: outcomes, retries, recovery and concurrent workers."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import pytest

from graphs.materials import IngestContext, ingest_runner
from tests.conftest import drop_schema, fresh_schema_name, postgres_url_or_skip
from tests.tools.materials.test_extract import make_pdf
from tests.uploads import upload_material, use_local_file_store
from tools.materials import MaterialUnreadable, RunIngest, process_batch
from tools.store import Store, open_store

NOTES = (
    "# Waves\n\nWaves transfer energy from place to place without transferring matter.\n\n"
    "## Sound\n\nSound is a longitudinal wave. The speed of sound in air is about 343 m/s."
)
NO_WAIT = (0.0, 0.0, 0.0)


@pytest.fixture(autouse=True)
def local_files(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    use_local_file_store(monkeypatch, tmp_path / "data")


async def make_class(store: Store) -> str:
    teacher = str(uuid.uuid4())
    await store.upsert_profile(teacher, "teacher", "Teacher")
    class_id = str(uuid.uuid4())
    await store.create_class(
        class_id=class_id, owner_id=teacher, title="Physics", join_code=uuid.uuid4().hex[:8]
    )
    return class_id


async def upload(
    store: Store,
    class_id: str,
    *,
    title: str = "Waves",
    content: bytes = NOTES.encode(),
    mime_type: str | None = "text/markdown",
    file_name: str | None = "waves.md",
) -> tuple[str, str]:
    """A pending material with a queued job: (material_id, job_id)."""
    material_id = str(uuid.uuid4())
    await upload_material(
        store,
        material_id=material_id,
        class_id=class_id,
        title=title,
        mime_type=mime_type,
        file_name=file_name,
        content=content,
        created_by=None,
    )
    job, created = await store.enqueue_material_job(material_id, class_id)
    assert created
    return material_id, job.id


async def stored_chunks(store: Any, material_id: str) -> list[str]:
    """The material's chunk rows, whatever its status, read straight from the table."""
    async with store.session() as db:
        rows = await db.query(
            "SELECT text FROM material_chunks WHERE material_id = :m ORDER BY source_index",
            {"m": material_id},
        )
    return [row["text"] for row in rows]


def ingest(store: Store) -> RunIngest:
    return ingest_runner(IngestContext(store=store))


class Flaky:
    """An ingest that raises `error` for the first `failures` calls, then runs `inner`."""

    def __init__(self, inner: RunIngest, *, failures: int, error: Exception) -> None:
        self.inner, self.failures, self.error = inner, failures, error
        self.calls: Counter[str] = Counter()

    async def __call__(self, material_id: str) -> object:
        self.calls[material_id] += 1
        if self.calls[material_id] <= self.failures:
            raise self.error
        return await self.inner(material_id)


async def test_success_marks_the_material_ready_with_its_chunks(store: Store) -> None:
    class_id = await make_class(store)
    material_id, job_id = await upload(store, class_id)
    result = await process_batch(store, ingest(store), batch_size=3, worker_id="w1")
    assert result.as_wire() == {
        "triggered": True,
        "recovered": 0,
        "processed": 1,
        "succeeded": 1,
        "failed": 0,
        "retried": 0,
        "errors": [],
    }
    material = await store.get_material(material_id)
    assert material is not None
    assert (material.status, material.error, material.source_type) == ("ready", None, "markdown")
    job = await store.get_material_job(job_id)
    assert job is not None and (job.status, job.attempts) == ("done", 1)
    hits = await store.search_chunks(class_id, "speed of sound", limit=5)
    assert hits and hits[0].material_id == material_id and "343 m/s" in hits[0].content
    assert {hit.section for hit in await store.class_chunks(class_id)} == {"Waves", "Sound"}
    # An empty queue is a quiet no-op.
    empty = await process_batch(store, ingest(store), batch_size=3, worker_id="w1")
    assert (empty.processed, empty.recovered, empty.errors) == (0, 0, ())


async def test_a_pdf_upload_is_ingested(store: Store) -> None:
    class_id = await make_class(store)
    pdf = make_pdf("Photosynthesis makes glucose.", "Chlorophyll absorbs light.")
    material_id, _ = await upload(
        store, class_id, title="Plants", content=pdf, mime_type="application/pdf", file_name=None
    )
    result = await process_batch(store, ingest(store), batch_size=1, worker_id="w1")
    assert result.succeeded == 1
    material = await store.get_material(material_id)
    assert material is not None and (material.status, material.source_type) == ("ready", "pdf")
    assert "Chlorophyll absorbs light." in "".join(await stored_chunks(store, material_id))


async def test_an_unreadable_material_fails_at_once_with_the_reason(store: Store) -> None:
    class_id = await make_class(store)
    material_id, job_id = await upload(
        store, class_id, title="Diagram", content=b"\x89PNG\r\n\x1a\n", mime_type="image/png"
    )
    result = await process_batch(store, ingest(store), batch_size=3, worker_id="w1")
    assert (result.processed, result.failed, result.retried, result.succeeded) == (1, 1, 0, 0)
    assert len(result.errors) == 1
    assert result.errors[0].startswith("Diagram: This file looks like an image")
    material = await store.get_material(material_id)
    assert material is not None and material.status == "failed"
    assert material.error is not None and "an image" in material.error
    # As the platform's worker: an unusable file fails the material, the job itself is done.
    job = await store.get_material_job(job_id)
    assert job is not None and (job.status, job.attempts) == ("done", 1)
    assert await stored_chunks(store, material_id) == []


async def test_a_transient_error_is_retried_then_succeeds(store: Store) -> None:
    class_id = await make_class(store)
    material_id, job_id = await upload(store, class_id)
    flaky = Flaky(ingest(store), failures=1, error=ConnectionError("database went away"))
    first = await process_batch(
        store, flaky, batch_size=1, worker_id="w1", backoff_seconds=(30, 60)
    )
    assert (first.processed, first.retried, first.failed) == (1, 1, 0)
    assert first.errors == ("Waves: ConnectionError: database went away (retrying in 30s)",)
    job = await store.get_material_job(job_id)
    assert job is not None and (job.status, job.attempts) == ("retry", 1)
    # The backoff holds the job back...
    held = await process_batch(store, flaky, batch_size=1, worker_id="w1")
    assert held.processed == 0
    # ...until it is due (moved forward here rather than waiting 30 s).
    async with store.session() as db:
        await db.execute(
            "UPDATE stemgraph_job_leases SET run_after = '2000-01-01T00:00:00.000000Z'"
            " WHERE job_id = :id",
            {"id": job_id},
        )
    second = await process_batch(store, flaky, batch_size=1, worker_id="w1")
    assert (second.processed, second.succeeded, second.errors) == (1, 1, ())
    material = await store.get_material(material_id)
    assert material is not None and material.status == "ready"
    job = await store.get_material_job(job_id)
    assert job is not None and (job.status, job.attempts) == ("done", 2)
    assert flaky.calls[material_id] == 2


async def test_attempts_exhausted_fails_the_job_and_the_material(store: Store) -> None:
    class_id = await make_class(store)
    material_id, job_id = await upload(store, class_id)
    broken = Flaky(ingest(store), failures=99, error=RuntimeError("embedding service exploded"))
    result = await process_batch(
        store, broken, batch_size=10, worker_id="w1", backoff_seconds=NO_WAIT
    )
    assert (result.processed, result.retried, result.failed, result.succeeded) == (3, 2, 1, 0)
    assert result.errors[-1] == "Waves: RuntimeError: embedding service exploded"
    job = await store.get_material_job(job_id)
    assert job is not None and (job.status, job.attempts) == ("failed", 3)
    material = await store.get_material(material_id)
    assert material is not None and material.status == "failed"
    assert material.error == "RuntimeError: embedding service exploded"
    assert broken.calls[material_id] == 3
    # A new dispatch starts over with a fresh job.
    job2, created = await store.enqueue_material_job(material_id, class_id)
    assert created and job2.id != job_id
    retry = await process_batch(store, ingest(store), batch_size=1, worker_id="w1")
    assert retry.succeeded == 1


class FailingSave:
    """The real store, except that saving chunks fails (after the graph did all its work)."""

    def __init__(self, inner: Store) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def save_material(self, **kwargs: Any) -> None:
        raise OSError("disk full")


async def test_a_failed_re_ingest_keeps_the_previous_chunks(store: Store) -> None:
    class_id = await make_class(store)
    material_id, _ = await upload(store, class_id)
    assert (await process_batch(store, ingest(store), batch_size=1, worker_id="w1")).succeeded
    before = await stored_chunks(store, material_id)
    assert before

    await store.enqueue_material_job(material_id, class_id)
    failing = ingest_runner(IngestContext(store=FailingSave(store)))  # type: ignore[arg-type]
    result = await process_batch(
        store, failing, batch_size=10, worker_id="w1", backoff_seconds=NO_WAIT
    )
    assert (result.retried, result.failed) == (2, 1)
    assert result.errors[-1] == "Waves: OSError: disk full"
    assert await stored_chunks(store, material_id) == before

    # And an unreadable re-upload path: the failure never deletes what was stored.
    await store.enqueue_material_job(material_id, class_id)

    async def unreadable(_: str) -> None:
        raise MaterialUnreadable("The PDF is password-protected: upload a copy without a password.")

    result = await process_batch(store, unreadable, batch_size=1, worker_id="w1")
    assert result.failed == 1
    assert await stored_chunks(store, material_id) == before


async def test_a_stuck_job_is_recovered_and_processed(store: Store) -> None:
    class_id = await make_class(store)
    material_id, job_id = await upload(store, class_id)
    # A worker claims the job and dies without a word.
    claimed, _ = await store.claim_material_jobs(
        limit=1, worker_id="dead-worker", stale_after_seconds=600
    )
    assert [job.id for job in claimed] == [job_id]
    material = await store.get_material(material_id)
    assert material is not None and material.status == "processing"
    # Within the stale window nobody touches it.
    quiet = await process_batch(store, ingest(store), batch_size=3, worker_id="w2")
    assert (quiet.recovered, quiet.processed) == (0, 0)
    await asyncio.sleep(0.01)
    result = await process_batch(
        store, ingest(store), batch_size=3, worker_id="w2", stale_after_seconds=0
    )
    assert (result.recovered, result.processed, result.succeeded) == (1, 1, 1)
    job = await store.get_material_job(job_id)
    assert job is not None and (job.status, job.attempts) == ("done", 2)
    material = await store.get_material(material_id)
    assert material is not None and material.status == "ready"


async def test_lanes_on_one_store_process_each_job_once(store: Store) -> None:
    class_id = await make_class(store)
    ids = [(await upload(store, class_id, title=f"Notes {n}"))[0] for n in range(8)]
    counting = Flaky(ingest(store), failures=0, error=RuntimeError())
    result = await process_batch(store, counting, batch_size=6, worker_id="w1", concurrency=3)
    assert (result.processed, result.succeeded) == (6, 6)
    rest = await process_batch(store, counting, batch_size=25, worker_id="w1", concurrency=4)
    assert (rest.processed, rest.succeeded) == (2, 2)
    assert counting.calls == Counter({material_id: 1 for material_id in ids})


# --- several workers at once (Postgres) ---------------------------------------------------------


@pytest.fixture
async def worker_stores() -> AsyncIterator[list[Store]]:
    """Five stores (own connection pools) on one fresh schema: a setup store and four workers."""
    url = postgres_url_or_skip()
    schema = fresh_schema_name()
    stores: list[Store] = []
    try:
        for _ in range(5):
            stores.append(await open_store(url, schema=schema))
        yield stores
    finally:
        for opened in stores:
            await opened.close()
        await drop_schema(url, schema)


@pytest.mark.postgres
async def test_concurrent_workers_process_every_job_exactly_once(
    worker_stores: list[Store],
) -> None:
    setup, *workers = worker_stores
    class_id = await make_class(setup)
    ids = [(await upload(setup, class_id, title=f"Notes {n}"))[0] for n in range(20)]
    calls: Counter[str] = Counter()

    def counted(worker_store: Store) -> RunIngest:
        inner = ingest(worker_store)

        async def run(material_id: str) -> object:
            calls[material_id] += 1
            await asyncio.sleep(0.005)  # let the other workers interleave
            return await inner(material_id)

        return run

    results = await asyncio.gather(
        *(
            process_batch(w, counted(w), batch_size=25, worker_id=f"worker-{n}")
            for n, w in enumerate(workers)
        )
    )
    assert calls == Counter({material_id: 1 for material_id in ids})
    assert sum(r.processed for r in results) == sum(r.succeeded for r in results) == 20
    assert sum(1 for r in results if r.processed) > 1  # the work was actually shared
    for material_id in ids:
        material = await setup.get_material(material_id)
        assert material is not None and material.status == "ready"
    async with setup.session() as db:
        rows = await db.query("SELECT status, stage, attempts FROM material_processing_jobs")
    assert [(r["status"], r["stage"], r["attempts"]) for r in rows] == [
        ("done", "complete", 1)
    ] * 20

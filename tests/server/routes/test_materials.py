"""`/v1/materials/*`, in-process on both backends: upload, dispatch and the worker."""

from __future__ import annotations

import asyncio
import base64
import time
import uuid
from typing import Any

import httpx
import pytest

from server.routes import materials
from tests.server.conftest import API_KEY, Api, Serve, ok, user_token, with_store
from tests.server.test_app import assert_error
from tests.tools.materials.test_extract import make_pdf
from tools.demo import DEMO_CLASS_ID, DEMO_STUDENT_IDS, DEMO_TEACHER_ID
from tools.demo.materials import DEMO_MATERIALS
from tools.store import Store

TEACHER, STUDENT = DEMO_TEACHER_ID, DEMO_STUDENT_IDS[0]
NOTES = (
    "# Optics\n\nA convex lens converges light rays to a focal point.\n\nRefraction bends light."
)


def create(api: Api, user: str = TEACHER, **body: Any) -> httpx.Response:
    sent = {"class_id": DEMO_CLASS_ID, "user_id": user, "title": "Optics", **body}
    if "text" not in sent and "content_base64" not in sent:
        sent["text"] = NOTES
    return api.post("/v1/materials/create", sent, token=user_token(user))


def dispatch(api: Api, material_id: str, user: str | None = TEACHER, **body: Any) -> httpx.Response:
    sent = {"class_id": DEMO_CLASS_ID, "material_id": material_id, "trigger_worker": False, **body}
    return api.post("/v1/materials/dispatch", sent, token=user_token(user) if user else None)


def process(api: Api, body: Any = None, **kwargs: Any) -> httpx.Response:
    return api.post("/v1/materials/process", {} if body is None else body, **kwargs)


def material_status(api: Api, material_id: str) -> tuple[str, str | None]:
    async def read(store: Store) -> tuple[str, str | None]:
        material = await store.get_material(material_id)
        assert material is not None
        return material.status, material.error

    return with_store(api, read)


def test_create_then_process_makes_the_material_searchable(api: Api) -> None:
    created = ok(create(api, file_name="optics.md", mime_type="text/markdown"))
    assert set(created) == {"material_id", "status", "job_id", "storage_path"}
    assert created["status"] == "pending" and created["job_id"]
    assert material_status(api, created["material_id"]) == ("pending", None)

    result = ok(process(api, {"batch_size": 5}))
    assert result == {
        "triggered": True,
        "recovered": 0,
        "processed": 1,
        "succeeded": 1,
        "failed": 0,
        "retried": 0,
        "errors": [],
    }

    async def search(store: Store) -> Any:
        material = await store.get_material(created["material_id"])
        hits = await store.search_chunks(DEMO_CLASS_ID, "convex lens converges", limit=5)
        job = await store.get_material_job(created["job_id"])
        return material, hits, job

    material, hits, job = with_store(api, search)
    assert material.status == "ready" and material.source_type == "markdown"
    ours = [hit for hit in hits if hit.material_id == created["material_id"]]
    assert ours and "convex lens" in ours[0].content
    assert job.status == "done"  # the platform's job status
    assert ok(process(api))["processed"] == 0


def test_a_pdf_upload_in_base64_and_an_unreadable_one(api: Api) -> None:
    pdf = base64.b64encode(make_pdf("Ohm's law: voltage equals current times resistance.")).decode()
    scan = base64.b64encode(make_pdf(None)).decode()
    good = ok(create(api, title="Circuits", content_base64=pdf, file_name="circuits.pdf"))
    bad = ok(create(api, title="Scanned notes", content_base64=scan, mime_type="application/pdf"))
    result = ok(process(api))
    assert (result["processed"], result["succeeded"], result["failed"]) == (2, 1, 1)
    assert result["errors"] == ["Scanned notes: The PDF has no extractable text (is it a scan?)"]
    assert material_status(api, good["material_id"]) == ("ready", None)
    assert material_status(api, bad["material_id"]) == (
        "failed",
        "The PDF has no extractable text (is it a scan?)",
    )


def test_create_checks_the_caller_and_the_upload(api: Api) -> None:
    assert_error(create(api, STUDENT), 403, "forbidden")
    body = {"class_id": DEMO_CLASS_ID, "user_id": TEACHER, "title": "x", "text": "y"}
    assert_error(api.post("/v1/materials/create", body), 401, "user_token_required")
    mismatch = api.post("/v1/materials/create", body, token=user_token(STUDENT))
    assert_error(mismatch, 403, "user_id_mismatch")
    assert_error(create(api, text="hi", content_base64="aGk="), 422, "validation_error")
    assert_error(create(api, text=None, content_base64=None), 422, "validation_error")
    assert_error(create(api, text=None, content_base64="not base64!"), 422, "validation_error")
    assert_error(create(api, text="  \n "), 422, "validation_error")
    png = base64.b64encode(b"\x89PNG\r\n\x1a\n0000").decode()
    unsupported = assert_error(
        create(api, text=None, content_base64=png, mime_type="image/png"),
        415,
        "unsupported_material_type",
    )
    assert "an image" in unsupported["error"]["message"]  # type: ignore[index]
    assert_error(create(api, title=""), 422, "validation_error")
    other = {"class_id": str(uuid.uuid4()), "user_id": TEACHER, "title": "x", "text": "y"}
    unknown = api.post("/v1/materials/create", other, token=user_token(TEACHER))
    assert_error(unknown, 404, "class_not_found")


def test_create_without_processing_then_dispatch_reuses_the_in_flight_job(api: Api) -> None:
    created = ok(create(api, process=False))
    assert created["job_id"] is None
    first = ok(dispatch(api, created["material_id"]))
    assert (first["enqueued"], first["triggered"]) == (True, False)
    again = ok(dispatch(api, created["material_id"]))
    assert (again["enqueued"], again["triggered"]) == (False, False)
    assert again["job_id"] == first["job_id"]
    assert ok(process(api))["succeeded"] == 1
    # Once done, dispatching queues a fresh job (a re-ingest).
    third = ok(dispatch(api, created["material_id"]))
    assert third["enqueued"] is True and third["job_id"] != first["job_id"]


def test_dispatch_needs_a_teacher_of_the_material_s_class(api: Api) -> None:
    created = ok(create(api, process=False))
    material_id = created["material_id"]
    assert_error(dispatch(api, material_id, STUDENT), 403, "forbidden")
    assert_error(dispatch(api, material_id, None), 401, "user_token_required")
    assert_error(dispatch(api, str(uuid.uuid4())), 404, "material_not_found")
    assert_error(dispatch(api, material_id, class_id=str(uuid.uuid4())), 404, "class_not_found")
    # The teacher's other class: its id with this class's material is not found either way.
    other_class = str(uuid.uuid4())

    async def make_other_class(store: Store) -> None:
        await store.create_class(
            class_id=other_class,
            owner_id=TEACHER,
            title="Biology",
            join_code="BIO" + other_class[:5],
        )

    with_store(api, make_other_class)
    assert_error(dispatch(api, material_id, class_id=other_class), 404, "material_not_found")
    theirs = ok(create(api, class_id=other_class, process=False))
    assert_error(dispatch(api, theirs["material_id"]), 404, "material_not_found")
    # Seeded materials have no uploaded file to process again.
    seeded = assert_error(dispatch(api, DEMO_MATERIALS[0].id), 409, "material_not_processable")
    assert seeded["error"]["message"].endswith(".")  # type: ignore[index]
    assert_error(dispatch(api, "not-a-uuid"), 422, "validation_error")


def test_dispatch_can_trigger_the_worker_in_the_background(api: Api) -> None:
    created = ok(create(api, process=False))
    data = ok(dispatch(api, created["material_id"], trigger_worker=True))
    assert (data["enqueued"], data["triggered"]) == (True, True)

    async def job_status(store: Store) -> str | None:
        job = await store.get_material_job(data["job_id"])
        return job.status if job else None

    deadline = time.monotonic() + 15
    while with_store(api, job_status) != "done":
        assert time.monotonic() < deadline, "the background worker did not finish the job"
        time.sleep(0.05)
    assert material_status(api, created["material_id"]) == ("ready", None)


def test_process_accepts_the_worker_token_alone(serve: Serve) -> None:
    token = {"x-material-worker-token": "worker-secret-1"}
    with serve(material_worker_token="worker-secret-1") as api:
        ok(create(api))
        assert ok(process(api, key=None, headers=token))["succeeded"] == 1
        wrong = {"x-material-worker-token": "worker-secret-2"}
        assert_error(process(api, key=None, headers=wrong), 401, "unauthorized")
        # A wrong worker token is refused even next to a valid service key.
        assert_error(process(api, key=API_KEY, headers=wrong), 401, "unauthorized")
        assert_error(process(api, key=None), 401, "unauthorized")
        assert_error(
            process(api, {"batch_size": 0}, key=None, headers=token), 422, "validation_error"
        )
    with serve() as api:
        # No worker token configured: the header is never accepted.
        assert_error(process(api, key=None, headers=token), 401, "unauthorized")
        assert ok(process(api))["processed"] == 0


@pytest.mark.parametrize("batch_size", [0, 26, "many"])
def test_process_batch_size_is_1_to_25(api: Api, batch_size: object) -> None:
    assert_error(process(api, {"batch_size": batch_size}), 422, "validation_error")


def test_process_defaults_to_the_configured_batch(serve: Serve) -> None:
    with serve(material_worker_batch=2) as api:
        for n in range(3):
            ok(create(api, title=f"Optics {n}"))
        assert ok(process(api))["processed"] == 2
        assert ok(process(api, {"batch_size": None}))["processed"] == 1


def test_queue_failures_are_upstream_errors(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    from tools.store.composed import SqlStore  # the class every backend's store extends

    created = ok(create(api, process=False))

    async def broken_queue(*args: Any, **kwargs: Any) -> Any:
        raise ConnectionError("the database went away")

    monkeypatch.setattr(SqlStore, "enqueue_material_job", broken_queue)
    assert_error(dispatch(api, created["material_id"]), 502, "dispatch_error")
    assert_error(create(api), 502, "material_create_error")
    monkeypatch.setattr(SqlStore, "claim_material_jobs", broken_queue)
    assert_error(process(api), 502, "material_process_error")


async def test_background_batches_log_errors_and_can_be_drained(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    finished: list[str] = []

    async def failing_batch(state: Any, *, batch_size: int | None = None) -> Any:
        await asyncio.sleep(0.01)
        finished.append("failing")
        raise ConnectionError("queue unavailable")

    monkeypatch.setattr(materials, "run_batch", failing_batch)
    task = materials.start_background_batch(None)  # type: ignore[arg-type]
    assert task in materials._background
    await materials.drain_background(timeout=5)
    assert finished == ["failing"] and task.done() and not task.cancelled()
    assert task not in materials._background
    assert "background material processing failed" in caplog.text

    async def slow_batch(state: Any, *, batch_size: int | None = None) -> Any:
        await asyncio.sleep(60)

    monkeypatch.setattr(materials, "run_batch", slow_batch)
    slow = materials.start_background_batch(None)  # type: ignore[arg-type]
    await materials.drain_background(timeout=0.01)
    assert slow.cancelled()

"""The ingest graph's `download` node: the upload comes from the file store named in the run
context — Supabase Storage (a loopback server speaking its object API) or the data dir."""

from __future__ import annotations

import io
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import docx
import pptx
import pytest
from pptx.util import Inches

from graphs.materials import IngestContext, graph, ingest_runner
from tests.storage_server import StorageServer, StoredObject
from tools.files import (
    FileStoreDenied,
    LocalFileStore,
    SupabaseFileStore,
    class_material_path,
)
from tools.materials import MaterialUnreadable, process_batch
from tools.materials.extract import DOCX_MIME, PPTX_MIME
from tools.store import Store

KEY = "service-role-key-for-ingest"
NO_WAIT = (0.0, 0.0, 0.0)


def word_file() -> bytes:
    document = docx.Document()
    document.add_heading("Circuits", level=1)
    document.add_paragraph("Current is the rate of flow of charge, measured in amperes.")
    document.add_paragraph("")
    document.add_paragraph("Resistance is measured in ohms.")
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def deck() -> bytes:
    presentation = pptx.Presentation()
    for text in ("Optics: light travels in straight lines.", "", "Lenses refract light."):
        slide = presentation.slides.add_slide(presentation.slide_layouts[6])
        if text:
            box = slide.shapes.add_textbox(Inches(1), Inches(1), Inches(6), Inches(1))
            box.text_frame.text = text
    buffer = io.BytesIO()
    presentation.save(buffer)
    return buffer.getvalue()


@pytest.fixture
def storage() -> Iterator[StorageServer]:
    with StorageServer(key=KEY) as server:
        yield server


@pytest.fixture
async def storage_files(storage: StorageServer) -> AsyncIterator[SupabaseFileStore]:
    files = SupabaseFileStore(storage.url, KEY)
    yield files
    await files.aclose()


async def new_class(store: Store, *, sandbox_id: str | None = None) -> str:
    teacher = str(uuid.uuid4())
    await store.upsert_profile(teacher, "teacher", "Teacher")
    class_id = str(uuid.uuid4())
    await store.create_class(
        class_id=class_id,
        owner_id=teacher,
        title="Physics",
        join_code=uuid.uuid4().hex[:8],
        sandbox_id=sandbox_id,
    )
    return class_id


async def stored_material(
    store: Store, class_id: str, file_name: str, mime_type: str, *, sandbox_id: str | None = None
) -> tuple[str, str]:
    """A material row whose upload lives in the file store (the row holds no bytes, only its
    `storage_path`): its id and that path."""
    material_id = str(uuid.uuid4())
    path = class_material_path(class_id, material_id, file_name, sandbox_id=sandbox_id)
    await store.create_material(
        material_id=material_id,
        class_id=class_id,
        title=file_name,
        source_type="text",
        mime_type=mime_type,
        file_name=file_name,
        storage_path=path,
        size_bytes=None,
        created_by=None,
    )
    return material_id, path


async def ingest(store: Store, material_id: str, files: Any) -> dict[str, Any]:
    result = await graph.ainvoke(
        {"material_id": material_id}, context=IngestContext(store=store, files=files)
    )
    return dict(result)


async def test_a_word_document_is_downloaded_from_storage_and_ingested(
    store: Store, storage: StorageServer, storage_files: SupabaseFileStore
) -> None:
    class_id = await new_class(store)
    material_id, path = await stored_material(store, class_id, "Week 3 circuits.docx", DOCX_MIME)
    assert path.endswith("/Week_3_circuits.docx")
    storage.objects[("materials", path)] = StoredObject(word_file(), DOCX_MIME)

    result = await ingest(store, material_id, storage_files)

    assert (result["status"], result["chunks"], result["warnings"]) == ("ready", 2, [])
    assert result["extraction_stats"]["segmentCount"] == 2
    chunks = await store.class_chunks(class_id)
    assert [(c.section, c.content) for c in chunks] == [
        ("Circuits", "Current is the rate of flow of charge, measured in amperes."),
        (None, "Resistance is measured in ohms."),
    ]
    material = await store.get_material(material_id)
    assert material is not None and (material.status, material.source_type) == ("ready", "docx")
    (download,) = storage.requests
    assert (download.method, download.path) == ("GET", f"/storage/v1/object/materials/{path}")
    assert download.headers["authorization"] == f"Bearer {KEY}"
    assert download.headers["apikey"] == KEY


async def test_a_presentation_is_read_from_the_data_dir(store: Store, tmp_path: Path) -> None:
    files = LocalFileStore(tmp_path / "storage" / "materials")
    class_id = await new_class(store)
    material_id, path = await stored_material(store, class_id, "optics.pptx", PPTX_MIME)
    await files.put(path, deck(), content_type=PPTX_MIME)
    result = await ingest(store, material_id, files)
    assert (result["status"], result["chunks"]) == ("ready", 2)
    assert [c.content for c in await store.class_chunks(class_id)] == [
        "Optics: light travels in straight lines.",
        "Lenses refract light.",
    ]


async def test_a_guest_upload_is_read_from_its_sandbox_path(
    store: Store, storage: StorageServer, storage_files: SupabaseFileStore
) -> None:
    sandbox = str(uuid.uuid4())
    class_id = await new_class(store, sandbox_id=sandbox)
    material_id, path = await stored_material(
        store, class_id, "notes.docx", DOCX_MIME, sandbox_id=sandbox
    )
    storage.objects[("materials", path)] = StoredObject(word_file(), DOCX_MIME)
    assert (await ingest(store, material_id, storage_files))["status"] == "ready"
    assert storage.requests[0].path.endswith(f"/sandboxes/{sandbox}/{material_id}/notes.docx")


@pytest.mark.parametrize("missing_status", [400, 404])
async def test_a_missing_object_fails_the_job_with_a_reason(
    store: Store, missing_status: int
) -> None:
    class_id = await new_class(store)
    material_id, path = await stored_material(store, class_id, "gone.docx", DOCX_MIME)
    job, _ = await store.enqueue_material_job(material_id, class_id)
    with StorageServer(key=KEY, missing_status=missing_status) as storage:
        files = SupabaseFileStore(storage.url, KEY)
        try:
            with pytest.raises(MaterialUnreadable, match="no uploaded file") as raised:
                await ingest(store, material_id, files)
            assert path in str(raised.value)
            run = ingest_runner(IngestContext(store=store, files=files))
            result = await process_batch(store, run, batch_size=1, worker_id="w1")
        finally:
            await files.aclose()
    assert (result.failed, result.retried) == (1, 0)  # re-uploading is the fix, not retrying
    assert "no uploaded file" in result.errors[0]
    material = await store.get_material(material_id)
    assert material is not None and material.status == "failed"
    assert material.error is not None and "upload it again" in material.error
    assert await store.class_chunks(class_id) == []
    finished = await store.get_material_job(job.id)
    assert finished is not None and finished.status == "failed"


async def test_a_wrong_service_key_is_retried_with_a_clear_reason(
    store: Store, storage: StorageServer
) -> None:
    class_id = await new_class(store)
    material_id, path = await stored_material(store, class_id, "notes.docx", DOCX_MIME)
    storage.objects[("materials", path)] = StoredObject(word_file(), DOCX_MIME)
    await store.enqueue_material_job(material_id, class_id)
    files = SupabaseFileStore(storage.url, "an-old-key")
    try:
        with pytest.raises(FileStoreDenied, match="SUPABASE_SERVICE_ROLE_KEY"):
            await ingest(store, material_id, files)
        run = ingest_runner(IngestContext(store=store, files=files))
        result = await process_batch(
            store, run, batch_size=1, worker_id="w1", backoff_seconds=NO_WAIT
        )
    finally:
        await files.aclose()
    assert (result.failed, result.retried) == (0, 1)  # fixing the key fixes the job
    assert "FileStoreDenied" in result.errors[0] and "invalid signature" in result.errors[0]
    assert await store.class_chunks(class_id) == []

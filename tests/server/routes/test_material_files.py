"""`materials/create` writes the upload through the file store and the worker reads it back:
the data dir by default, Supabase Storage (a loopback server) when configured."""

from __future__ import annotations

import base64
import io
import uuid
from collections.abc import Iterator
from typing import Any

import docx
import pptx
import pytest
from pptx.util import Inches

from tests.server.conftest import Api, Serve, ok, user_token, with_store
from tests.server.test_app import assert_error
from tests.storage_server import StorageServer
from tools.demo import DEMO_CLASS_ID, DEMO_TEACHER_ID
from tools.files import LocalFileStore
from tools.materials.extract import DOCX_MIME, PPTX_MIME
from tools.store import Store

KEY = "service-role-key-for-routes"


def word_file() -> bytes:
    document = docx.Document()
    document.add_heading("Thermodynamics", level=1)
    document.add_paragraph("Entropy of an isolated system never decreases.")
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def deck() -> bytes:
    presentation = pptx.Presentation()
    slide = presentation.slides.add_slide(presentation.slide_layouts[6])
    box = slide.shapes.add_textbox(Inches(1), Inches(1), Inches(6), Inches(1))
    box.text_frame.text = "Half-life is the time for half the nuclei to decay."
    buffer = io.BytesIO()
    presentation.save(buffer)
    return buffer.getvalue()


def create(api: Api, content: bytes, file_name: str, mime_type: str, **body: Any) -> Any:
    sent = {
        "class_id": DEMO_CLASS_ID,
        "user_id": DEMO_TEACHER_ID,
        "title": file_name,
        "file_name": file_name,
        "mime_type": mime_type,
        "content_base64": base64.b64encode(content).decode(),
        **body,
    }
    return api.post("/v1/materials/create", sent, token=user_token(DEMO_TEACHER_ID))


def dispatch(api: Api, material_id: str) -> Any:
    sent = {"class_id": DEMO_CLASS_ID, "material_id": material_id, "trigger_worker": False}
    return api.post("/v1/materials/dispatch", sent, token=user_token(DEMO_TEACHER_ID))


def searched(api: Api, material_id: str, query: str) -> tuple[Any, list[str]]:
    async def read(store: Store) -> tuple[Any, list[str]]:
        material = await store.get_material(material_id)
        hits = await store.search_chunks(DEMO_CLASS_ID, query, limit=10)
        return material, [h.content for h in hits if h.material_id == material_id]

    return with_store(api, read)


@pytest.fixture
def storage() -> Iterator[StorageServer]:
    with StorageServer(key=KEY) as server:
        yield server


def test_an_upload_lands_in_the_data_dir_and_is_ingested_from_there(api: Api) -> None:
    upload = word_file()  # once: a ZIP's timestamps make every build differ
    created = ok(create(api, upload, "Week 1: heat.docx", DOCX_MIME))
    material_id = created["material_id"]
    assert created["storage_path"] == f"classes/{DEMO_CLASS_ID}/{material_id}/Week_1_heat.docx"
    on_disk = api.settings.data_dir / "storage" / "materials" / created["storage_path"]
    assert on_disk.read_bytes() == upload

    assert ok(api.post("/v1/materials/process", {}))["succeeded"] == 1
    material, contents = searched(api, material_id, "entropy isolated system")
    assert (material.status, material.source_type) == ("ready", "docx")
    assert material.storage_path == created["storage_path"]  # the row keeps no bytes
    assert contents == ["Entropy of an isolated system never decreases."]


def test_uploads_go_to_supabase_storage_when_it_is_configured(
    serve: Serve, storage: StorageServer
) -> None:
    with serve(supabase_url=storage.url, supabase_service_role_key=KEY) as api:
        upload = deck()
        created = ok(create(api, upload, "decay.pptx", PPTX_MIME))
        path = created["storage_path"]
        stored = storage.objects[("materials", path)]
        assert (stored.content, stored.content_type) == (upload, PPTX_MIME)
        assert not (api.settings.data_dir / "storage").exists()

        assert ok(api.post("/v1/materials/process", {}))["succeeded"] == 1
        material, contents = searched(api, created["material_id"], "half-life nuclei")
        assert material.status == "ready" and contents
        downloads = [r for r in storage.requests if r.method == "GET"]
        assert [r.path for r in downloads] == [f"/storage/v1/object/materials/{path}"]
        assert all(r.headers["apikey"] == KEY for r in storage.requests)


def test_dispatch_refuses_a_material_whose_file_is_gone(
    serve: Serve, storage: StorageServer
) -> None:
    with serve(supabase_url=storage.url, supabase_service_role_key=KEY) as api:
        created = ok(create(api, deck(), "decay.pptx", PPTX_MIME, process=False))
        assert ok(dispatch(api, created["material_id"]))["enqueued"] is True
        storage.objects.clear()
        assert_error(dispatch(api, created["material_id"]), 409, "material_not_processable")


def test_a_store_that_refuses_the_key_is_a_clear_upstream_error(
    serve: Serve, storage: StorageServer
) -> None:
    with serve(supabase_url=storage.url, supabase_service_role_key="an-old-key") as api:
        refused = assert_error(
            create(api, deck(), "decay.pptx", PPTX_MIME), 502, "material_create_error"
        )
        assert refused["error"]["message"] == "The file could not be stored. Try again shortly."

        async def count(store: Store) -> int:
            return len(await store.class_chunks(DEMO_CLASS_ID))

        before = with_store(api, count)
        assert ok(api.post("/v1/materials/process", {}))["processed"] == 0  # nothing queued
        assert with_store(api, count) == before
    assert storage.objects == {}


def test_a_row_that_cannot_be_saved_takes_its_file_with_it(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tools.store.composed import SqlStore

    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise ConnectionError("the database went away")

    monkeypatch.setattr(SqlStore, "create_material", broken)
    assert_error(create(api, word_file(), "heat.docx", DOCX_MIME), 502, "material_create_error")
    root = api.settings.data_dir / "storage" / "materials"
    assert not [p for p in root.rglob("*") if p.is_file()]


def test_a_queue_failure_keeps_the_row_and_its_file_for_dispatch(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tools.store.composed import SqlStore

    real_enqueue = SqlStore.enqueue_material_job

    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise ConnectionError("the queue went away")

    monkeypatch.setattr(SqlStore, "enqueue_material_job", broken)
    assert_error(create(api, word_file(), "heat.docx", DOCX_MIME), 502, "material_create_error")
    monkeypatch.setattr(SqlStore, "enqueue_material_job", real_enqueue)
    root = api.settings.data_dir / "storage" / "materials"
    (stored,) = [p for p in root.rglob("*") if p.is_file()]
    material_id = stored.parent.name
    assert ok(dispatch(api, material_id))["enqueued"] is True
    assert ok(api.post("/v1/materials/process", {}))["succeeded"] == 1


async def test_dispatch_checks_the_data_dir_too(api: Api) -> None:
    created = ok(create(api, word_file(), "heat.docx", DOCX_MIME, process=False))
    files = LocalFileStore(api.settings.data_dir / "storage" / "materials")
    await files.delete(created["storage_path"])
    assert_error(dispatch(api, created["material_id"]), 409, "material_not_processable")
    assert_error(dispatch(api, str(uuid.uuid4())), 404, "material_not_found")


def test_the_server_settings_compose_the_file_store_settings(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    from server.settings import Settings

    for name in ("SUPABASE_URL", "SUPABASE_SERVICE_ROLE_KEY", "STEMGRAPH_FILE_STORE"):
        monkeypatch.delenv(name, raising=False)
    local = Settings(data_dir=tmp_path).file_store_settings
    assert (local.resolved_kind, local.data_dir, local.bucket) == ("local", tmp_path, "materials")
    monkeypatch.setenv("SUPABASE_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("SUPABASE_SERVICE_ROLE_KEY", KEY)
    monkeypatch.setenv("STEMGRAPH_STORAGE_BUCKET", "uploads")
    remote = Settings().file_store_settings
    assert (remote.resolved_kind, remote.service_role_key, remote.bucket) == (
        "supabase",
        KEY,
        "uploads",
    )
    monkeypatch.setenv("STEMGRAPH_FILE_STORE", "local")
    assert Settings().file_store_settings.resolved_kind == "local"
    monkeypatch.setenv("STEMGRAPH_FILE_STORE", " ")
    assert Settings().file_store_settings.resolved_kind == "supabase"


def test_a_supabase_file_store_without_its_key_stops_the_start(serve: Serve, tmp_path: Any) -> None:
    with pytest.raises(ValueError, match="SUPABASE_SERVICE_ROLE_KEY"), serve(file_store="supabase"):
        pass

"""The Supabase Storage file store, through the real `supabase` client, against loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.storage_server import StorageServer, StoredObject
from tests.tools.files.conftest import SERVICE_KEY
from tools.files import (
    FileMissing,
    FileStoreDenied,
    FileStoreError,
    FileStoreSettings,
    SupabaseFileStore,
    class_material_path,
    open_file_store,
)

CLASS = "c1a55000-0000-4000-8000-000000000001"
MATERIAL = "0b7c6a4e-2f57-4c1e-9d59-6a0f3c1d2e4f"
PATH = class_material_path(CLASS, MATERIAL, "Week 1 notes.pdf")


@pytest.fixture
async def files(storage: StorageServer) -> AsyncIterator[SupabaseFileStore]:
    store = SupabaseFileStore(storage.url, SERVICE_KEY)
    yield store
    await store.aclose()


async def test_download_sends_the_service_key_both_ways(
    storage: StorageServer, files: SupabaseFileStore
) -> None:
    storage.objects[("materials", PATH)] = StoredObject(b"%PDF-1.7 notes", "application/pdf")
    assert await files.get(PATH) == b"%PDF-1.7 notes"
    (seen,) = storage.requests
    assert (seen.method, seen.path) == ("GET", f"/storage/v1/object/materials/{PATH}")
    assert seen.headers["authorization"] == f"Bearer {SERVICE_KEY}"
    assert seen.headers["apikey"] == SERVICE_KEY


async def test_upload_then_exists_then_remove(
    storage: StorageServer, files: SupabaseFileStore
) -> None:
    await files.put(PATH, b"first", content_type="application/pdf")
    await files.put(PATH, b"second", content_type="application/pdf")  # upsert replaces
    assert storage.objects[("materials", PATH)] == StoredObject(b"second", "application/pdf")
    assert await files.exists(PATH)
    assert await files.get(PATH) == b"second"
    await files.delete(PATH)
    assert ("materials", PATH) not in storage.objects
    assert not await files.exists(PATH)
    await files.delete(PATH)  # removing a missing object is fine
    methods = [(r.method, r.path.split("/object/")[1].split("/")[0]) for r in storage.requests]
    assert methods[:4] == [("POST", "materials"), ("POST", "materials"), ("GET", "info")] + [
        ("GET", "materials")
    ]
    assert ("DELETE", "materials") in methods


async def test_a_name_with_unusual_characters_round_trips(
    storage: StorageServer, files: SupabaseFileStore
) -> None:
    path = f"classes/{CLASS}/{MATERIAL}/a b+c (1).pdf"  # written by another client, unsanitised
    await files.put(path, b"x")
    assert ("materials", path) in storage.objects
    assert await files.get(path) == b"x"


@pytest.mark.parametrize("missing_status", [400, 404])
async def test_a_missing_object_is_file_missing(missing_status: int) -> None:
    with StorageServer(key=SERVICE_KEY, missing_status=missing_status) as storage:
        files = SupabaseFileStore(storage.url, SERVICE_KEY)
        try:
            with pytest.raises(FileMissing) as raised:
                await files.get(PATH)
            assert raised.value.path == PATH
            assert not await files.exists(PATH)
        finally:
            await files.aclose()


async def test_a_wrong_key_is_denied_with_a_clear_message(storage: StorageServer) -> None:
    storage.objects[("materials", PATH)] = StoredObject(b"x")
    files = SupabaseFileStore(storage.url, "not-the-service-key")
    try:
        for attempt in (files.get(PATH), files.exists(PATH), files.put(PATH, b"y")):
            with pytest.raises(FileStoreDenied) as raised:
                await attempt
            assert "SUPABASE_SERVICE_ROLE_KEY" in str(raised.value)
            assert "invalid signature" in str(raised.value)
    finally:
        await files.aclose()
    assert storage.objects[("materials", PATH)].content == b"x"


async def test_an_unknown_bucket_is_a_file_store_error(storage: StorageServer) -> None:
    files = SupabaseFileStore(storage.url, SERVICE_KEY, bucket="elsewhere")
    try:
        with pytest.raises(FileStoreError, match="Bucket not found") as raised:
            await files.get(PATH)
        assert not isinstance(raised.value, FileMissing)
    finally:
        await files.aclose()


async def test_an_unreachable_storage_is_a_file_store_error() -> None:
    with StorageServer() as gone:
        url = gone.url  # the port is free again once the server has stopped
    files = SupabaseFileStore(url, SERVICE_KEY, timeout_seconds=5)
    try:
        with pytest.raises(FileStoreError, match="could not be reached"):
            await files.get(PATH)
    finally:
        await files.aclose()


async def test_unsafe_paths_never_reach_storage(
    storage: StorageServer, files: SupabaseFileStore
) -> None:
    for path in ("../other-bucket/x", "/abs", "a//b"):
        with pytest.raises(ValueError):
            await files.get(path)
    assert storage.requests == []


def test_settings_build_the_supabase_store(storage: StorageServer) -> None:
    settings = FileStoreSettings(supabase_url=storage.url, service_role_key=SERVICE_KEY)
    assert isinstance(open_file_store(settings), SupabaseFileStore)
    with pytest.raises(ValueError, match="http"):
        SupabaseFileStore("ftp://example", SERVICE_KEY)

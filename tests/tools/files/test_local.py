"""The data dir's file store: a real directory tree, the platform's paths."""

from __future__ import annotations

from pathlib import Path

import pytest

from tools.files import (
    FileMissing,
    FileStoreError,
    FileStoreSettings,
    LocalFileStore,
    class_material_path,
    open_file_store,
)

CLASS = "c1a55000-0000-4000-8000-000000000001"
MATERIAL = "0b7c6a4e-2f57-4c1e-9d59-6a0f3c1d2e4f"


async def test_a_file_round_trips_under_the_platform_path(tmp_path: Path) -> None:
    files = LocalFileStore(tmp_path / "storage" / "materials")
    path = class_material_path(CLASS, MATERIAL, "Week 1.pdf")
    assert not await files.exists(path)
    await files.put(path, b"%PDF-1.7 first", content_type="application/pdf")
    await files.put(path, b"%PDF-1.7 second")  # a second put replaces the first
    assert await files.exists(path)
    assert await files.get(path) == b"%PDF-1.7 second"
    on_disk = tmp_path / "storage" / "materials" / "classes" / CLASS / MATERIAL / "Week_1.pdf"
    assert on_disk.read_bytes() == b"%PDF-1.7 second"
    assert [p.name for p in on_disk.parent.iterdir()] == ["Week_1.pdf"]  # no temporary left
    await files.delete(path)
    await files.delete(path)  # deleting twice is fine
    assert not await files.exists(path)
    with pytest.raises(FileMissing) as missing:
        await files.get(path)
    assert missing.value.path == path


async def test_paths_cannot_leave_the_root(tmp_path: Path) -> None:
    files = LocalFileStore(tmp_path / "root")
    (tmp_path / "secret.txt").write_text("secret")
    for path in ("../secret.txt", "/etc/passwd", "a/../../secret.txt"):
        with pytest.raises(ValueError):
            await files.get(path)
        with pytest.raises(ValueError):
            await files.put(path, b"x")


async def test_a_directory_is_not_a_file(tmp_path: Path) -> None:
    files = LocalFileStore(tmp_path)
    await files.put("classes/a/b.pdf", b"x")
    assert not await files.exists("classes/a")
    with pytest.raises(FileMissing):
        await files.get("classes/a")
    with pytest.raises(FileMissing):
        await files.get("classes/a/b.pdf/deeper")


async def test_a_file_that_is_in_the_way_is_a_clear_error(tmp_path: Path) -> None:
    files = LocalFileStore(tmp_path)
    await files.put("classes/a", b"a file where a folder should be")
    with pytest.raises(FileStoreError, match="could not be saved"):
        await files.put("classes/a/b.pdf", b"x")


def test_settings_pick_the_local_store_by_default(tmp_path: Path) -> None:
    settings = FileStoreSettings.from_env({"STEMGRAPH_DATA_DIR": str(tmp_path)})
    assert settings.resolved_kind == "local"
    files = open_file_store(settings)
    assert isinstance(files, LocalFileStore)
    assert files.root == tmp_path / "storage" / "materials"


def test_settings_pick_supabase_when_it_is_configured() -> None:
    env = {"SUPABASE_URL": "http://127.0.0.1:9", "SUPABASE_SERVICE_ROLE_KEY": "k"}
    assert FileStoreSettings.from_env(env).resolved_kind == "supabase"
    forced = FileStoreSettings.from_env({**env, "STEMGRAPH_FILE_STORE": "local"})
    assert forced.resolved_kind == "local"
    only_url = FileStoreSettings.from_env({"SUPABASE_URL": "http://127.0.0.1:9"})
    assert only_url.resolved_kind == "local"
    bucket = FileStoreSettings.from_env({**env, "STEMGRAPH_STORAGE_BUCKET": "uploads"})
    assert bucket.bucket == "uploads"


def test_bad_file_store_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="STEMGRAPH_FILE_STORE"):
        FileStoreSettings.from_env({"STEMGRAPH_FILE_STORE": "s3"})
    with pytest.raises(ValueError, match="SUPABASE_SERVICE_ROLE_KEY"):
        open_file_store(FileStoreSettings.from_env({"STEMGRAPH_FILE_STORE": "supabase"}))

"""Materials as `materials/create` makes them: the file in the file store, then the row."""

from __future__ import annotations

from pathlib import Path

import pytest

from graphs.materials.context import default_file_store
from tools.files import class_material_path
from tools.store import Store
from tools.store.base import MaterialRecord


def use_local_file_store(monkeypatch: pytest.MonkeyPatch, data_dir: Path) -> None:
    """The environment's file store for this test: an empty data dir of its own."""
    monkeypatch.setenv("STEMGRAPH_FILE_STORE", "local")
    monkeypatch.setenv("STEMGRAPH_DATA_DIR", str(data_dir))


async def upload_material(
    store: Store,
    *,
    material_id: str,
    class_id: str,
    title: str,
    mime_type: str | None,
    file_name: str | None,
    content: bytes,
    created_by: str | None,
) -> MaterialRecord:
    """The file into the environment's file store, then the row recording its path."""
    path = class_material_path(class_id, material_id, file_name)
    await default_file_store().put(path, content, content_type=mime_type)
    return await store.create_material(
        material_id=material_id,
        class_id=class_id,
        title=title,
        source_type="text",
        mime_type=mime_type,
        file_name=file_name,
        storage_path=path,
        size_bytes=len(content),
        created_by=created_by,
    )

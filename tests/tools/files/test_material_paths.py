"""Where a material row's file is: its recorded `storage_path`, or the platform's path."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from tools.files import class_material_path, material_file_path
from tools.store import Store


@dataclass(frozen=True)
class PlatformRow:
    """A `materials` row as the web app writes it: the path it uploaded to is recorded."""

    id: str
    class_id: str
    file_name: str | None
    storage_path: str


@dataclass(frozen=True)
class BareRow:
    id: str
    class_id: str
    file_name: str | None
    storage_path: str | None = None


async def new_class(store: Store, sandbox_id: str | None) -> str:
    owner = str(uuid.uuid4())
    await store.upsert_profile(owner, "teacher", "T")
    class_id = str(uuid.uuid4())
    await store.create_class(
        class_id=class_id,
        owner_id=owner,
        title="Physics",
        join_code=uuid.uuid4().hex[:8],
        sandbox_id=sandbox_id,
    )
    return class_id


async def test_a_recorded_storage_path_wins(store: Store) -> None:
    class_id = await new_class(store, None)
    row = PlatformRow(str(uuid.uuid4()), class_id, "x.pdf", "guest-seed/motion-lab-reader.pdf")
    assert await material_file_path(store, row) == "guest-seed/motion-lab-reader.pdf"


async def test_without_one_the_class_and_its_sandbox_decide(store: Store) -> None:
    sandbox = str(uuid.uuid4())
    plain, guest = await new_class(store, None), await new_class(store, sandbox)
    material = str(uuid.uuid4())
    assert await material_file_path(store, BareRow(material, plain, "a b.pdf")) == (
        class_material_path(plain, material, "a_b.pdf")
    )
    assert await material_file_path(store, BareRow(material, guest, None)) == (
        f"classes/{guest}/sandboxes/{sandbox}/{material}/material"
    )

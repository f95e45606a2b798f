"""Where a material's file is: the path its row records, or the platform's path for it.

Written against small protocols rather than the store, so it serves whichever store holds
the rows: the platform's `materials.storage_path` when the row has one, else the path the web
app would have chosen for the class (or its guest sandbox) and the row's file name.
"""

from __future__ import annotations

from typing import Protocol

from tools.files.paths import class_material_path


class MaterialRow(Protocol):
    @property
    def id(self) -> str: ...

    @property
    def class_id(self) -> str: ...

    @property
    def file_name(self) -> str | None: ...

    @property
    def storage_path(self) -> str | None: ...


class ClassRow(Protocol):
    @property
    def sandbox_id(self) -> str | None: ...


class ClassLookup(Protocol):
    async def get_class(self, class_id: str) -> ClassRow | None: ...


async def material_file_path(classes: ClassLookup, material: MaterialRow) -> str:
    """The object path of `material`'s uploaded file."""
    if material.storage_path:
        return material.storage_path
    klass = await classes.get_class(material.class_id)
    sandbox_id = klass.sandbox_id if klass is not None else None
    return class_material_path(
        material.class_id, material.id, material.file_name, sandbox_id=sandbox_id
    )


class UploadClass(Protocol):
    @property
    def id(self) -> str: ...

    @property
    def sandbox_id(self) -> str | None: ...


def upload_path(klass: UploadClass, material_id: str, file_name: str | None) -> str:
    """Where a new upload for `klass` goes: the platform's path, under the class's guest sandbox
    when it has one (so routes need not read the sandbox themselves)."""
    return class_material_path(klass.id, material_id, file_name, sandbox_id=klass.sandbox_id)

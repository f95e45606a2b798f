"""Files under the data dir, one file per object path: the embedded default's file store."""

from __future__ import annotations

import asyncio
import os
import tempfile
from pathlib import Path
from typing import Literal

from tools.files.base import FileMissing, FileStoreError
from tools.files.paths import check_object_path


class LocalFileStore:
    """`root/<path>` for every object path (`root` is `STEMGRAPH_DATA_DIR/storage/<bucket>`).

    Writes go to a temporary file renamed into place, so a reader never sees half a file.
    Disk I/O runs in a thread, off the event loop.
    """

    kind: Literal["local", "supabase"] = "local"

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _file(self, path: str) -> Path:
        return self.root.joinpath(*check_object_path(path))

    async def put(self, path: str, content: bytes, *, content_type: str | None = None) -> None:
        await asyncio.to_thread(self._write, self._file(path), content)

    @staticmethod
    def _write(target: Path, content: bytes) -> None:
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
            try:
                with os.fdopen(handle, "wb") as file:
                    file.write(content)
                os.replace(temporary, target)
            except BaseException:
                Path(temporary).unlink(missing_ok=True)
                raise
        except OSError as error:
            raise FileStoreError(f"The file could not be saved ({error.strerror}).") from None

    async def get(self, path: str) -> bytes:
        target = self._file(path)
        try:
            return await asyncio.to_thread(target.read_bytes)
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            raise FileMissing(path) from None
        except OSError as error:
            raise FileStoreError(f"The file could not be read ({error.strerror}).") from None

    async def exists(self, path: str) -> bool:
        return await asyncio.to_thread(self._file(path).is_file)

    async def delete(self, path: str) -> None:
        target = self._file(path)
        try:
            await asyncio.to_thread(target.unlink, missing_ok=True)
        except OSError as error:
            raise FileStoreError(f"The file could not be removed ({error.strerror}).") from None

    async def aclose(self) -> None:
        return None

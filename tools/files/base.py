"""The file store: where uploaded material files live (Supabase Storage, or the data dir).

Paths are object keys inside one bucket, in the platform's convention
(`tools/files/paths.py`). Every failure is one of the errors below, each with a message a
maintainer can act on, so callers never see a client library's own exceptions.
"""

from __future__ import annotations

from typing import Literal, Protocol


class FileStoreError(Exception):
    """The file store failed (unreachable, refused, answered oddly); retrying may help."""


class FileMissing(FileStoreError):
    """Nothing is stored at the path."""

    def __init__(self, path: str) -> None:
        super().__init__(f"No file is stored at {path!r}.")
        self.path = path


class FileStoreDenied(FileStoreError):
    """The file store refused our credentials (a configuration problem)."""


class FileStore(Protocol):
    """Put, get, check and delete whole files by object path."""

    kind: Literal["local", "supabase"]

    async def put(self, path: str, content: bytes, *, content_type: str | None = None) -> None:
        """Store `content` at `path`, replacing what was there."""
        ...

    async def get(self, path: str) -> bytes:
        """The file's bytes; `FileMissing` when there is none."""
        ...

    async def exists(self, path: str) -> bool: ...

    async def delete(self, path: str) -> None:
        """Remove the file; removing a missing file is not an error."""
        ...

    async def aclose(self) -> None: ...

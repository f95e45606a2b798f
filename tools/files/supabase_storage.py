"""Supabase Storage as the file store, through the `supabase` client's Storage API.

The platform's worker downloads uploads with the service role; so does this store, with
`SUPABASE_URL` and `SUPABASE_SERVICE_ROLE_KEY`. It uses the client's async flavour
(`supabase.AsyncClient`) on an `httpx.AsyncClient` it owns, so a download never blocks the
event loop and `aclose()` releases the connections.
"""

from __future__ import annotations

from typing import Literal

import httpx
from storage3.exceptions import StorageApiError
from supabase import AsyncClient, AsyncClientOptions

from tools.files.base import FileMissing, FileStoreDenied, FileStoreError
from tools.files.paths import check_object_path

DEFAULT_BUCKET = "materials"


def _status(error: StorageApiError) -> str:
    # Storage puts the meaningful status in the body's `statusCode` (the HTTP status is often
    # a plain 400); the client carries it as `status`, a string or an int.
    return str(error.status)


class SupabaseFileStore:
    """Objects in one Storage bucket (`materials` on the platform)."""

    kind: Literal["local", "supabase"] = "supabase"

    def __init__(
        self,
        url: str,
        service_role_key: str,
        *,
        bucket: str = DEFAULT_BUCKET,
        timeout_seconds: float = 30.0,
    ) -> None:
        if not url.startswith(("http://", "https://")):
            raise ValueError("SUPABASE_URL must be an http(s) URL.")
        if not service_role_key.strip():
            raise ValueError("SUPABASE_SERVICE_ROLE_KEY is empty.")
        self.url = url.rstrip("/")
        self.bucket = bucket
        self._http = httpx.AsyncClient(timeout=timeout_seconds)
        self._client = AsyncClient(
            self.url,
            service_role_key,
            AsyncClientOptions(
                httpx_client=self._http, auto_refresh_token=False, persist_session=False
            ),
        )

    def _explain(self, error: StorageApiError, path: str) -> FileStoreError:
        status = _status(error)
        if status == "404" and error.code in ("not_found", "NoSuchKey", "InternalError"):
            return FileMissing(path)
        if status in ("401", "403"):
            return FileStoreDenied(
                f"Supabase Storage refused the service role key ({error.message});"
                " check SUPABASE_SERVICE_ROLE_KEY."
            )
        return FileStoreError(f"Supabase Storage answered {status} {error.code}: {error.message}")

    def _unreachable(self, error: httpx.HTTPError) -> FileStoreError:
        return FileStoreError(
            f"Supabase Storage at {self.url} could not be reached ({type(error).__name__})."
        )

    async def put(self, path: str, content: bytes, *, content_type: str | None = None) -> None:
        check_object_path(path)
        options = {"content-type": content_type or "application/octet-stream", "upsert": "true"}
        try:
            await self._client.storage.from_(self.bucket).upload(path, content, options)  # type: ignore[arg-type]
        except StorageApiError as error:
            raise self._explain(error, path) from None
        except httpx.HTTPError as error:
            raise self._unreachable(error) from None

    async def get(self, path: str) -> bytes:
        check_object_path(path)
        try:
            return await self._client.storage.from_(self.bucket).download(path)
        except StorageApiError as error:
            raise self._explain(error, path) from None
        except httpx.HTTPError as error:
            raise self._unreachable(error) from None

    async def exists(self, path: str) -> bool:
        check_object_path(path)
        try:
            return await self._client.storage.from_(self.bucket).exists(path)
        except StorageApiError as error:
            explained = self._explain(error, path)
            if isinstance(explained, FileMissing):
                return False
            raise explained from None
        except httpx.HTTPError as error:
            raise self._unreachable(error) from None

    async def delete(self, path: str) -> None:
        check_object_path(path)
        try:
            await self._client.storage.from_(self.bucket).remove([path])
        except StorageApiError as error:
            explained = self._explain(error, path)
            if not isinstance(explained, FileMissing):
                raise explained from None
        except httpx.HTTPError as error:
            raise self._unreachable(error) from None

    async def aclose(self) -> None:
        await self._http.aclose()

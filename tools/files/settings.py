"""Which file store to use, and its settings: neutral, so the server and scripts share them."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from tools.files.base import FileStore
from tools.files.local import LocalFileStore
from tools.files.supabase_storage import DEFAULT_BUCKET, SupabaseFileStore

FileStoreKind = Literal["local", "supabase"]


@dataclass(frozen=True, kw_only=True)
class FileStoreSettings:
    """`kind` None picks Supabase Storage when both `supabase_url` and `service_role_key` are
    set, else files under `data_dir/storage/<bucket>`."""

    kind: FileStoreKind | None = None
    data_dir: Path = Path(".data")
    supabase_url: str | None = None
    service_role_key: str | None = None
    bucket: str = DEFAULT_BUCKET
    timeout_seconds: float = 30.0

    @property
    def resolved_kind(self) -> FileStoreKind:
        if self.kind is not None:
            return self.kind
        return "supabase" if self.supabase_url and self.service_role_key else "local"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> FileStoreSettings:
        """From `STEMGRAPH_FILE_STORE`, `STEMGRAPH_DATA_DIR`, `SUPABASE_URL`,
        `SUPABASE_SERVICE_ROLE_KEY` and `STEMGRAPH_STORAGE_BUCKET` (blank means unset)."""
        env = os.environ if environ is None else environ

        def value(name: str) -> str | None:
            text = env.get(name, "").strip()
            return text or None

        kind = value("STEMGRAPH_FILE_STORE")
        if kind not in (None, "local", "supabase"):
            raise ValueError("STEMGRAPH_FILE_STORE must be 'local' or 'supabase'.")
        return cls(
            kind=kind,  # type: ignore[arg-type]
            data_dir=Path(value("STEMGRAPH_DATA_DIR") or ".data"),
            supabase_url=value("SUPABASE_URL"),
            service_role_key=value("SUPABASE_SERVICE_ROLE_KEY"),
            bucket=value("STEMGRAPH_STORAGE_BUCKET") or DEFAULT_BUCKET,
        )


def open_file_store(settings: FileStoreSettings) -> FileStore:
    """The configured file store; `ValueError` when Supabase is chosen but not configured."""
    if settings.resolved_kind == "local":
        return LocalFileStore(settings.data_dir / "storage" / settings.bucket)
    if not settings.supabase_url or not settings.service_role_key:
        raise ValueError(
            "The Supabase file store needs SUPABASE_URL and SUPABASE_SERVICE_ROLE_KEY."
        )
    return SupabaseFileStore(
        settings.supabase_url,
        settings.service_role_key,
        bucket=settings.bucket,
        timeout_seconds=settings.timeout_seconds,
    )

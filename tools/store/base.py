"""What the rest of the runtime may ask of persistence, independent of the backend."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

AccountType = Literal["teacher", "student", "guest"]
ClassRole = Literal["teacher", "student"]


@dataclass(frozen=True, slots=True)
class Profile:
    id: str
    account_type: AccountType
    display_name: str | None


@dataclass(frozen=True, slots=True)
class ClassRecord:
    id: str
    owner_id: str
    title: str
    subject: str | None
    level: str | None
    join_code: str


@dataclass(frozen=True, slots=True)
class Sandbox:
    id: str
    owner_user_id: str
    is_active: bool


@dataclass(frozen=True, slots=True)
class ChunkInput:
    """One piece of a material ready to be stored."""

    index: int
    content: str
    section: str | None
    token_count: int


@dataclass(frozen=True, slots=True)
class ChunkHit:
    """A stored chunk returned by retrieval, best first."""

    material_id: str
    material_title: str
    source_type: str
    chunk_index: int
    section: str | None
    content: str
    score: float


class Store(Protocol):
    """Persistence for classes, materials and their chunks (SQLite or Postgres)."""

    backend: Literal["sqlite", "postgres"]

    async def ping(self) -> None: ...

    async def close(self) -> None: ...

    async def upsert_profile(
        self, user_id: str, account_type: AccountType, display_name: str | None
    ) -> None: ...

    async def get_profile(self, user_id: str) -> Profile | None: ...

    async def create_class(
        self,
        *,
        class_id: str,
        owner_id: str,
        title: str,
        join_code: str,
        subject: str | None = None,
        level: str | None = None,
        description: str | None = None,
    ) -> ClassRecord: ...

    async def get_class(self, class_id: str) -> ClassRecord | None: ...

    async def enroll(self, class_id: str, user_id: str, role: ClassRole) -> None: ...

    async def class_role(self, class_id: str, user_id: str) -> ClassRole | None: ...

    async def save_material(
        self,
        *,
        material_id: str,
        class_id: str,
        title: str,
        source_type: str,
        chunks: list[ChunkInput],
    ) -> None: ...

    async def search_chunks(self, class_id: str, query: str, *, limit: int) -> list[ChunkHit]: ...

    async def upsert_sandbox(
        self, sandbox_id: str, owner_user_id: str, *, active: bool
    ) -> None: ...

    async def get_sandbox(self, sandbox_id: str) -> Sandbox | None: ...

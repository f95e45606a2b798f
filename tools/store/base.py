"""What the rest of the runtime may ask of persistence, independent of the backend."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any, Literal, Protocol

# The platform's profiles say teacher or student; "guest" is an anonymous account (a student
# profile on the platform, recorded in stemgraph's own `stemgraph_guest_accounts`).
AccountType = Literal["teacher", "student", "guest"]
# The platform's enrollment roles are teacher, ta and student; a ta teaches, so stemgraph's
# access rules see "teacher".
ClassRole = Literal["teacher", "student"]

Row = Mapping[str, Any]
Params = Mapping[str, Any]
# JWT claims a transaction runs under (`request.jwt.claims`, as PostgREST sets them).
Claims = Mapping[str, Any]


class Session(Protocol):
    """One connection (inside or outside a transaction) speaking `:name` parameters."""

    async def query(self, sql: str, params: Params | None = None) -> Sequence[Row]: ...

    async def execute(self, sql: str, params: Params | None = None) -> None: ...


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
    # The guest sandbox the class belongs to (a guest reaches only its own sandbox's classes).
    sandbox_id: str | None = None


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
    embedding: tuple[float, ...] | None = None
    embedding_model: str | None = None
    embedding_provider: str | None = None
    # The segment it came from (`material_chunks.source_type` / `source_index`: page, slide or
    # paragraph, 1-based; several chunks may share one). None: the material's kind and
    # `index + 1`, as rows written before segments were.
    source_kind: str | None = None
    source_index: int | None = None


MaterialStatus = Literal["pending", "processing", "ready", "failed"]


@dataclass(frozen=True, slots=True)
class MaterialRecord:
    id: str
    class_id: str
    title: str
    source_type: str
    status: MaterialStatus
    error: str | None
    file_name: str | None
    mime_type: str | None
    # The object path of the upload in the file store (`materials.storage_path`).
    storage_path: str


# The platform's job statuses (`material_processing_jobs.status`); `stage` mirrors them.
JobStatus = Literal["pending", "processing", "retry", "done", "failed"]


@dataclass(frozen=True, slots=True)
class MaterialJob:
    id: str
    material_id: str
    class_id: str
    status: JobStatus
    attempts: int
    max_attempts: int
    locked_by: str | None = None


@dataclass(frozen=True, slots=True)
class StoredEmbedding:
    """A chunk with the vector stored for it at ingest, and the model that made it."""

    chunk: ChunkHit
    vector: tuple[float, ...]
    model: str


@dataclass(frozen=True, slots=True)
class ClaimSummary:
    """What moved from a guest sandbox to the account that claimed it."""

    sessions: int
    messages: int
    generations: int
    enrollments: int
    classes: int = 0


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
    # `material_chunks.id`: the chunk's identity (`source_index` is shared by the chunks of
    # one page); empty for hits not read from the table.
    chunk_id: str = ""


class JoinCodeTaken(Exception):
    """Another class already uses this join code (codes are compared case-insensitively)."""


AuthorKind = Literal["student", "teacher", "assistant"]


@dataclass(frozen=True, slots=True)
class ChatSession:
    id: str
    class_id: str
    owner_user_id: str
    title: str
    is_pinned: bool
    archived_at: str | None
    last_message_at: str  # never null: creation time, then the last assistant reply's
    created_at: str
    updated_at: str
    sandbox_id: str | None = None

    def as_wire(self) -> dict[str, object]:
        """The contract's session object."""
        return {
            "id": self.id,
            "class_id": self.class_id,
            "owner_user_id": self.owner_user_id,
            "title": self.title,
            "is_pinned": self.is_pinned,
            "archived_at": self.archived_at,
            "last_message_at": self.last_message_at,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }


@dataclass(frozen=True, slots=True)
class ChatMessage:
    id: str
    session_id: str
    class_id: str
    author_user_id: str | None
    author_kind: AuthorKind
    content: str
    created_at: str
    citations: tuple[dict[str, str], ...] = ()
    safety: str | None = None
    provider: str | None = None
    model: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    total_tokens: int | None = None
    latency_ms: int | None = None

    def as_wire(self) -> dict[str, object]:
        """The contract's message object."""
        return {
            "id": self.id,
            "session_id": self.session_id,
            "class_id": self.class_id,
            "author_user_id": self.author_user_id,
            "author_kind": self.author_kind,
            "content": self.content,
            "citations": [dict(c) for c in self.citations],
            "safety": self.safety,
            "provider": self.provider,
            "model": self.model,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.total_tokens,
            "latency_ms": self.latency_ms,
            "created_at": self.created_at,
        }


@dataclass(frozen=True, slots=True)
class Participant:
    user_id: str
    display_name: str | None


class Store(Protocol):
    """Persistence on the platform's tables plus stemgraph's own (SQLite or Postgres)."""

    backend: Literal["sqlite", "postgres"]
    # Whether pgvector's `vector` and `<=>` are usable (Postgres, checked at open); None on
    # SQLite, where dense scoring happens in Python.
    pgvector: bool | None

    def session(self) -> AbstractAsyncContextManager[Session]:
        """A connection for a few reads (autocommit)."""
        ...

    def transaction(self, *, claims: Claims | None = None) -> AbstractAsyncContextManager[Session]:
        """One transaction; with `claims`, SQL functions that read the caller from the JWT
        claims (`auth.uid()`) see them (Postgres)."""
        ...

    async def batch(self, statements: Sequence[tuple[str, Params | None]]) -> list[Sequence[Row]]:
        """`statements` in order in one transaction (each one's rows); one trip on SQLite."""
        ...

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
        sandbox_id: str | None = None,
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
        warnings: Sequence[str] = (),
        extraction_stats: Mapping[str, int] | None = None,
    ) -> None: ...

    async def ranked_chunks(
        self,
        class_id: str,
        query: str,
        *,
        limit: int,
        query_embedding: Callable[[str, str], Awaitable[list[float] | None]] | None = None,
    ) -> list[ChunkHit] | None: ...

    async def index_class_chunks(self, class_id: str) -> int: ...

    async def create_material(
        self,
        *,
        material_id: str,
        class_id: str,
        title: str,
        source_type: str,
        mime_type: str | None,
        file_name: str | None,
        storage_path: str,
        size_bytes: int | None,
        created_by: str | None,
    ) -> MaterialRecord: ...

    async def get_material(self, material_id: str) -> MaterialRecord | None: ...

    async def set_material_status(
        self, material_id: str, status: MaterialStatus, *, error: str | None = None
    ) -> None: ...

    async def enqueue_material_job(
        self, material_id: str, class_id: str, *, max_attempts: int = 3
    ) -> tuple[MaterialJob, bool]: ...

    async def claim_material_jobs(
        self, *, limit: int, worker_id: str, stale_after_seconds: float
    ) -> tuple[list[MaterialJob], int]: ...

    async def finish_material_job(
        self, job_id: str, *, worker_id: str | None = None, material_failed: str | None = None
    ) -> None: ...

    async def fail_material_job(
        self,
        job_id: str,
        error: str,
        *,
        retry_in_seconds: float | None,
        worker_id: str | None = None,
    ) -> JobStatus: ...

    async def get_material_job(self, job_id: str) -> MaterialJob | None: ...

    async def class_embeddings(self, class_id: str) -> list[StoredEmbedding]: ...

    async def record_generation(
        self,
        *,
        kind: str,
        payload: dict[str, Any],
        provider: str,
        model: str,
        class_id: str | None,
        user_id: str | None,
        sandbox_id: str | None,
    ) -> str: ...

    async def find_class_by_code(self, join_code: str) -> ClassRecord | None: ...

    async def claim_sandbox(
        self, sandbox_id: str, guest_user_id: str, user_id: str
    ) -> ClaimSummary: ...

    async def search_chunks(self, class_id: str, query: str, *, limit: int) -> list[ChunkHit]: ...

    async def class_chunks(self, class_id: str, *, limit: int = 2000) -> list[ChunkHit]: ...

    async def upsert_sandbox(
        self, sandbox_id: str, owner_user_id: str, *, active: bool
    ) -> None: ...

    async def get_sandbox(self, sandbox_id: str) -> Sandbox | None: ...

    async def list_students(self, class_id: str) -> list[Participant]: ...

    async def publish_blueprint(
        self, class_id: str, blueprint_id: str, payload: dict[str, Any]
    ) -> None: ...

    async def get_published_blueprint(self, class_id: str) -> dict[str, Any] | None: ...

    async def create_session(
        self,
        *,
        session_id: str,
        class_id: str,
        owner_user_id: str,
        title: str,
        sandbox_id: str | None = None,
    ) -> ChatSession: ...

    async def get_session(self, session_id: str) -> ChatSession | None: ...

    async def list_sessions(
        self, class_id: str, owner_user_id: str, *, limit: int = 100
    ) -> list[ChatSession]: ...

    async def rename_session(self, session_id: str, title: str) -> ChatSession | None: ...

    async def archive_session(self, session_id: str) -> bool: ...

    async def list_messages(
        self, session_id: str, *, before: tuple[str, str] | None, limit: int
    ) -> tuple[list[ChatMessage], bool]: ...

    async def session_messages(self, session_id: str) -> list[ChatMessage]: ...

    async def append_messages(self, session_id: str, messages: list[ChatMessage]) -> None: ...

    async def acquire_session(self, session_id: str, *, hold_seconds: float) -> str | None: ...

    async def renew_session(self, session_id: str, token: str, *, hold_seconds: float) -> bool: ...

    async def release_session(self, session_id: str, token: str) -> None: ...

    async def get_insights_snapshot(self, class_id: str) -> tuple[dict[str, Any], str] | None: ...

    async def put_insights_snapshot(
        self, class_id: str, payload: dict[str, Any], *, generated_at: str
    ) -> None: ...

    async def brief_row(self, class_id: str) -> dict[str, Any] | None: ...

    async def claim_brief(self, class_id: str, *, now: str, stale: str) -> bool: ...

    async def settle_brief(
        self, class_id: str, status: str, payload: dict[str, Any] | None, *, now: str
    ) -> dict[str, Any]: ...

    async def fail_brief(
        self, class_id: str, message: str, *, now: str
    ) -> dict[str, Any] | None: ...

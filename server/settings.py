"""Every setting the service reads, from the environment (names as in the platform contract).

Provider settings come from `tools.models.settings`, and where the class data lives from
`graphs.shared.runtime_objects.RunEnvironment`: graphs read both without the server.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator
from pydantic_settings import NoDecode

from graphs.shared.runtime_objects import RunEnvironment
from tools.files import FileStoreSettings
from tools.models.settings import PROVIDER_NAMES, ProviderName

__all__ = ["PROVIDER_NAMES", "ProviderName", "Settings"]


class Settings(RunEnvironment):
    """Runtime configuration: what a graph run reads (providers, data dir, database, dev mode,
    material limits) plus the server's own. Unset keys mean "not configured", never an error at
    start-up."""

    # --- stemgraph's own ---
    # Connections LangGraph's Postgres checkpointer may hold: each saver call takes its own, so
    # this bounds how many runs read or write checkpoints at once.
    checkpoint_pool_size: int = Field(10, ge=1, validation_alias="STEMGRAPH_CHECKPOINT_POOL_SIZE")
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list, validation_alias="STEMGRAPH_CORS_ORIGINS"
    )
    log_format: Literal["json", "text"] = Field("json", validation_alias="STEMGRAPH_LOG_FORMAT")
    log_level: str = Field("INFO", validation_alias="STEMGRAPH_LOG_LEVEL")
    max_body_bytes: int = Field(1_048_576, ge=1024, validation_alias="STEMGRAPH_MAX_BODY_BYTES")
    sse_ping_seconds: float = Field(15.0, gt=0, validation_alias="STEMGRAPH_SSE_PING_SECONDS")
    # Streams: model tokens within this many ms go out as one `messages` event (0: off).
    coalesce_ms: int = Field(0, ge=0, le=1000, validation_alias="STEMGRAPH_COALESCE_MS")
    # A chat send's lease on its session, renewed every third of it while the send runs: a
    # killed process frees the session within this many seconds.
    session_lease_seconds: float = Field(
        15.0, ge=1, le=300, validation_alias="STEMGRAPH_SESSION_LEASE_SECONDS"
    )
    # On SIGTERM: how long open runs may still finish before their streams end with an
    # `error` event `server_shutting_down` (and JSON calls with a 503 of that code).
    shutdown_grace_seconds: float = Field(
        20.0, ge=0, le=600, validation_alias="STEMGRAPH_SHUTDOWN_GRACE_SECONDS"
    )

    # --- protocol runs: replay log and background queue (server/protocol/) ---
    # How long a run's events stay joinable (`join_stream` with `Last-Event-ID`) after the
    # latest one; in Redis when `STEMGRAPH_REDIS_URL` is set, else in the store's database.
    replay_ttl_seconds: float = Field(
        3600.0, gt=0, le=30 * 24 * 3600, validation_alias="STEMGRAPH_REPLAY_TTL_SECONDS"
    )
    replay_redis_url: str | None = Field(None, validation_alias="STEMGRAPH_REDIS_URL")
    replay_redis_prefix: str = Field(
        "stemgraph:replay", min_length=1, validation_alias="STEMGRAPH_REPLAY_REDIS_PREFIX"
    )
    # A process's hold on a run it executes, renewed every third of it: a killed process's
    # runs are resumed elsewhere (or ended `error`) within about this long.
    run_lease_seconds: float = Field(
        30.0, ge=1, le=600, validation_alias="STEMGRAPH_RUN_LEASE_SECONDS"
    )
    # Queued runs one process takes from other processes at once (its own clients' runs start
    # here regardless).
    run_workers: int = Field(8, ge=1, le=256, validation_alias="STEMGRAPH_RUN_WORKERS")

    # --- service auth ---
    python_backend_api_key: str | None = Field(None, validation_alias="PYTHON_BACKEND_API_KEY")
    allow_unauthenticated: bool = Field(
        False, validation_alias="PYTHON_BACKEND_ALLOW_UNAUTHENTICATED_REQUESTS"
    )

    # --- Supabase ---
    supabase_url: str | None = Field(None, validation_alias="SUPABASE_URL")
    supabase_service_role_key: str | None = Field(
        None, validation_alias="SUPABASE_SERVICE_ROLE_KEY"
    )
    supabase_jwks_url: str | None = Field(None, validation_alias="SUPABASE_JWKS_URL")
    supabase_jwt_secret: str | None = Field(None, validation_alias="SUPABASE_JWT_SECRET")
    supabase_jwt_audience: str = Field("authenticated", validation_alias="SUPABASE_JWT_AUDIENCE")
    supabase_jwt_issuer: str | None = Field(None, validation_alias="SUPABASE_JWT_ISSUER")

    # --- material files (`tools/files`) ---
    # Unset: Supabase Storage when SUPABASE_URL and SUPABASE_SERVICE_ROLE_KEY are both set,
    # else files under the data dir.
    file_store: Literal["local", "supabase"] | None = Field(
        None, validation_alias="STEMGRAPH_FILE_STORE"
    )
    storage_bucket: str = Field(
        "materials", pattern=r"^[A-Za-z0-9._-]{1,63}$", validation_alias="STEMGRAPH_STORAGE_BUCKET"
    )

    # --- guests ---
    redis_url: str | None = Field(None, validation_alias="REDIS_URL")
    # Several deployments (or test runs) can share one Redis under different prefixes.
    redis_key_prefix: str = Field(
        "stemgraph:guest", min_length=1, validation_alias="STEMGRAPH_REDIS_PREFIX"
    )
    guest_chat_limit: int = Field(50, ge=0, validation_alias="GUEST_CHAT_LIMIT")
    guest_quiz_limit: int = Field(10, ge=0, validation_alias="GUEST_QUIZ_LIMIT")
    guest_flashcards_limit: int = Field(10, ge=0, validation_alias="GUEST_FLASHCARDS_LIMIT")
    guest_blueprint_limit: int = Field(5, ge=0, validation_alias="GUEST_BLUEPRINT_LIMIT")
    guest_embedding_limit: int = Field(15, ge=0, validation_alias="GUEST_EMBEDDING_LIMIT")
    guest_max_concurrent: int = Field(20, ge=1, validation_alias="GUEST_MAX_CONCURRENT_AI_REQUESTS")
    guest_slot_wait_seconds: float = Field(
        60.0, ge=0, validation_alias="STEMGRAPH_GUEST_SLOT_WAIT_SECONDS"
    )

    # --- materials worker ---
    material_worker_token: str | None = Field(None, validation_alias="MATERIAL_WORKER_TOKEN")
    material_worker_batch: int = Field(3, ge=1, le=25, validation_alias="MATERIAL_WORKER_BATCH")

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            return [origin.strip() for origin in value.split(",") if origin.strip()]
        return value

    @field_validator(
        "python_backend_api_key",
        "supabase_url",
        "supabase_service_role_key",
        "file_store",
        "supabase_jwks_url",
        "supabase_jwt_secret",
        "supabase_jwt_issuer",
        "material_worker_token",
        "redis_url",
        "replay_redis_url",
        mode="before",
    )
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @property
    def file_store_settings(self) -> FileStoreSettings:
        return FileStoreSettings(
            kind=self.file_store,
            data_dir=self.data_dir,
            supabase_url=self.supabase_url,
            service_role_key=self.supabase_service_role_key,
            bucket=self.storage_bucket,
        )

    @property
    def jwks_url(self) -> str | None:
        if self.supabase_jwks_url:
            return self.supabase_jwks_url
        if self.supabase_url:
            return self.supabase_url.rstrip("/") + "/auth/v1/.well-known/jwks.json"
        return None

    @property
    def jwt_issuer(self) -> str | None:
        if self.supabase_jwt_issuer:
            return self.supabase_jwt_issuer
        if self.supabase_url:
            return self.supabase_url.rstrip("/") + "/auth/v1"
        return None

"""Every setting the service reads, from the environment (names as in the platform contract)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

ProviderName = Literal["openrouter", "openai", "gemini"]
PROVIDER_NAMES: tuple[ProviderName, ...] = ("openrouter", "openai", "gemini")


class Settings(BaseSettings):
    """Runtime configuration. Unset keys mean "not configured", never an error at start-up."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore", populate_by_name=True)

    # --- stemgraph's own ---
    data_dir: Path = Field(Path(".data"), validation_alias="STEMGRAPH_DATA_DIR")
    database_url: str | None = Field(None, validation_alias="STEMGRAPH_DATABASE_URL")
    database_schema: str | None = Field(
        None, pattern=r"^[a-z_][a-z0-9_]{0,62}$", validation_alias="STEMGRAPH_DATABASE_SCHEMA"
    )
    dev_mode: bool = Field(False, validation_alias="STEMGRAPH_DEV_MODE")
    seed_demo: bool | None = Field(None, validation_alias="STEMGRAPH_SEED_DEMO")
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list, validation_alias="STEMGRAPH_CORS_ORIGINS"
    )
    log_format: Literal["json", "text"] = Field("json", validation_alias="STEMGRAPH_LOG_FORMAT")
    log_level: str = Field("INFO", validation_alias="STEMGRAPH_LOG_LEVEL")
    max_body_bytes: int = Field(1_048_576, ge=1024, validation_alias="STEMGRAPH_MAX_BODY_BYTES")
    sse_ping_seconds: float = Field(15.0, gt=0, validation_alias="STEMGRAPH_SSE_PING_SECONDS")

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

    # --- providers ---
    ai_provider_default: ProviderName | None = Field(None, validation_alias="AI_PROVIDER_DEFAULT")
    ai_request_timeout_ms: int = Field(60_000, ge=100, validation_alias="AI_REQUEST_TIMEOUT_MS")
    ai_embedding_timeout_ms: int = Field(20_000, ge=100, validation_alias="AI_EMBEDDING_TIMEOUT_MS")
    openrouter_api_key: str | None = Field(None, validation_alias="OPENROUTER_API_KEY")
    openrouter_model: str = Field("openai/gpt-4o-mini", validation_alias="OPENROUTER_MODEL")
    openrouter_embedding_model: str = Field(
        "openai/text-embedding-3-small", validation_alias="OPENROUTER_EMBEDDING_MODEL"
    )
    openrouter_base_url: str = Field(
        "https://openrouter.ai/api/v1", validation_alias="OPENROUTER_BASE_URL"
    )
    openrouter_site_url: str | None = Field(None, validation_alias="OPENROUTER_SITE_URL")
    openrouter_app_name: str = Field("stemgraph", validation_alias="OPENROUTER_APP_NAME")
    openai_api_key: str | None = Field(None, validation_alias="OPENAI_API_KEY")
    openai_model: str = Field("gpt-4o-mini", validation_alias="OPENAI_MODEL")
    openai_embedding_model: str = Field(
        "text-embedding-3-small", validation_alias="OPENAI_EMBEDDING_MODEL"
    )
    gemini_api_key: str | None = Field(None, validation_alias="GEMINI_API_KEY")
    gemini_model: str = Field("gemini-2.5-flash", validation_alias="GEMINI_MODEL")
    gemini_embedding_model: str = Field(
        "gemini-embedding-001", validation_alias="GEMINI_EMBEDDING_MODEL"
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
        "supabase_jwks_url",
        "supabase_jwt_secret",
        "supabase_jwt_issuer",
        "openrouter_api_key",
        "openai_api_key",
        "gemini_api_key",
        "database_url",
        "material_worker_token",
        "ai_provider_default",
        "redis_url",
        mode="before",
    )
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @property
    def resolved_database_url(self) -> str:
        """A `postgresql://` URL, or a SQLite file path (the embedded default)."""
        return self.database_url or str(self.data_dir / "stemgraph.sqlite3")

    @property
    def uses_postgres(self) -> bool:
        return self.resolved_database_url.startswith(("postgresql://", "postgres://"))

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

    @property
    def should_seed_demo(self) -> bool:
        return self.dev_mode if self.seed_demo is None else self.seed_demo

"""Provider settings from the environment (names as in the platform contract).

They live below the graphs and the server so a graph run outside the HTTP layer (`langgraph dev`,
the evals, a script) configures its models exactly as the server does.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ProviderName = Literal["openrouter", "openai", "gemini"]
PROVIDER_NAMES: tuple[ProviderName, ...] = ("openrouter", "openai", "gemini")


class ProviderSettings(BaseSettings):
    """Model providers and their deadlines. An unset key means "not configured", never an error."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore", populate_by_name=True)

    ai_provider_default: ProviderName | None = Field(None, validation_alias="AI_PROVIDER_DEFAULT")
    ai_request_timeout_ms: int = Field(60_000, ge=100, validation_alias="AI_REQUEST_TIMEOUT_MS")
    ai_embedding_timeout_ms: int = Field(20_000, ge=100, validation_alias="AI_EMBEDDING_TIMEOUT_MS")
    # Per provider, under the request's deadline: a provider silent this long moves on.
    ai_first_token_timeout_ms: int = Field(
        20_000, ge=100, validation_alias="AI_FIRST_TOKEN_TIMEOUT_MS"
    )
    ai_idle_timeout_ms: int = Field(15_000, ge=100, validation_alias="AI_IDLE_TIMEOUT_MS")
    # 429/503 answers retried with backoff (honouring Retry-After) before the next provider.
    ai_rate_limit_retries: int = Field(2, ge=0, le=10, validation_alias="AI_RATE_LIMIT_RETRIES")
    # `/healthz?deep=true`: each provider's probe gets at most this long.
    ai_health_probe_timeout_ms: int = Field(
        5_000, ge=100, validation_alias="AI_HEALTH_PROBE_TIMEOUT_MS"
    )
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

    @field_validator(
        "openrouter_api_key",
        "openai_api_key",
        "gemini_api_key",
        "openrouter_site_url",
        "ai_provider_default",
        mode="before",
    )
    @classmethod
    def _blank_provider_value_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

"""The store's own settings, read from the environment by the store's callers (the server's
`Settings` extends them), so graphs and scripts open the store the same way."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class StoreSettings(BaseSettings):
    model_config = SettingsConfigDict(env_file=None, extra="ignore", populate_by_name=True)

    # On the platform's own Supabase database: the platform's tables exist already and belong
    # to the platform. stemgraph applies only its own migrations (0100+), never creates or
    # alters the platform's tables, and refuses to start when a table or column it uses is
    # missing.
    platform_database: bool = Field(False, validation_alias="STEMGRAPH_PLATFORM_DATABASE")

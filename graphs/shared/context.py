"""Run-scoped settings shared by the generation graphs (LangGraph `context_schema`)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from server.settings import Settings
from tools.models.providers import EmbeddingProvider, chat_providers, resolve_order
from tools.models.router import Deadline, ModelRouter
from tools.store.base import Store


@dataclass(frozen=True, kw_only=True)
class GenerationContext:
    """What a run may use. The server always passes one; `langgraph dev` runs on the defaults."""

    router: ModelRouter | None = None
    store: Store | None = None
    # Providers that can embed a query with the model the class's chunks were embedded with.
    embedding_providers: Sequence[EmbeddingProvider] = ()
    timeout_ms: int = 60_000
    deadline: Deadline | None = None

    def model_router(self) -> ModelRouter:
        """The router to call: the server's, or one built from the environment's keys."""
        if self.router is not None:
            return self.router
        settings = Settings()
        return ModelRouter(chat_providers(settings, resolve_order(settings)))

    def run_deadline(self) -> Deadline:
        return self.deadline or Deadline.after_ms(self.timeout_ms)

    async def embed_query(self, text: str, model: str) -> list[float] | None:
        """The query's vector from the provider that embedded the chunks (`model`), if any."""
        for provider in self.embedding_providers:
            if provider.model == model:
                remaining = self.run_deadline().remaining()
                if remaining <= 0:
                    return None
                async with asyncio.timeout(remaining):
                    return await provider.client.aembed_query(text)
        return None

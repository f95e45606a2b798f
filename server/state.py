"""What the lifespan opens and every handler uses."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver
from starlette.requests import HTTPConnection

from graphs.shared.context import GenerationContext
from server.auth.tokens import TokenVerifier
from server.guardrails import Guardrails
from server.registry import GraphRegistry
from server.settings import ProviderName, Settings
from tools.files import FileStore
from tools.models.providers import ChatProvider, EmbeddingProvider, resolve_order
from tools.models.router import Deadline, ModelRouter
from tools.store.base import Store

ChatProviderFactory = Callable[
    [Sequence[ProviderName], float | None, int | None], list[ChatProvider]
]
EmbeddingProviderFactory = Callable[[Sequence[ProviderName]], list[EmbeddingProvider]]


@dataclass(frozen=True, slots=True)
class AppState:
    settings: Settings
    store: Store
    # Where material uploads live: Supabase Storage or the data dir (`tools/files`).
    files: FileStore
    verifier: TokenVerifier
    # Every graph by name (`server/registry.py`), checkpointed variants on `checkpointer`.
    graphs: GraphRegistry
    checkpointer: BaseCheckpointSaver[Any]
    guardrails: Guardrails
    chat_providers: ChatProviderFactory
    embedding_providers: EmbeddingProviderFactory

    def generation_context(
        self,
        timeout_ms: int | None,
        *,
        max_tokens: int | None = None,
        provider_order: Sequence[ProviderName] | None = None,
    ) -> GenerationContext:
        """A run's context: the router (over `provider_order`, default every configured
        provider), the store and one deadline starting now."""
        timeout = timeout_ms or self.settings.ai_request_timeout_ms
        order = resolve_order(self.settings, provider_order)
        return GenerationContext(
            router=self.router(provider_order=provider_order, max_tokens=max_tokens),
            store=self.store,
            embedding_providers=self.embedding_providers(order),
            timeout_ms=timeout,
            provider_order=list(provider_order) if provider_order else None,
            deadline=Deadline.after_ms(timeout),
        )

    def router(
        self,
        *,
        provider_order: Sequence[ProviderName] | None = None,
        default_provider: ProviderName | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
        strict: bool = False,
    ) -> ModelRouter:
        """A router over the configured providers in the caller's order, offline last.

        `strict` (the raw `llm/*` routes): the offline engine answers only when no provider is
        configured; configured providers all failing raise `ProvidersExhausted` instead.
        """
        order = resolve_order(self.settings, provider_order, default_provider)
        providers = self.chat_providers(order, temperature, max_tokens)
        return ModelRouter(
            providers,
            offline_fallback=not (strict and providers),
            rate_limit_retries=self.settings.ai_rate_limit_retries,
        )


def app_state(conn: HTTPConnection) -> AppState:
    state: AppState = conn.state.app
    return state

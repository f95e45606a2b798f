"""Run-scoped settings shared by the generation graphs (LangGraph `context_schema`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar, overload

from langgraph.runtime import Runtime

from tools.models.embeddings import EMBEDDING_DIMENSIONS
from tools.models.providers import (
    EmbeddingProvider,
    chat_providers,
    embedding_providers,
    resolve_order,
)
from tools.models.router import Deadline, ModelRouter, embed_query
from tools.models.settings import ProviderSettings
from tools.store.base import Store


@dataclass(frozen=True, kw_only=True)
class GenerationContext:
    """What a run may use. The server passes one; a run without one (`langgraph dev`, a script)
    fills the defaults from the environment, as the server's settings would."""

    router: ModelRouter | None = None
    store: Store | None = None
    # Providers that can embed a query with the model the class's chunks were embedded with.
    embedding_providers: Sequence[EmbeddingProvider] | None = None
    timeout_ms: int | None = None
    deadline: Deadline | None = None
    settings: ProviderSettings | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Defaults come from the environment only when the caller left a field unset, and the
        # environment is read at most once per context.
        if self.router is not None and self.timeout_ms is not None:
            if self.embedding_providers is None:
                object.__setattr__(self, "embedding_providers", ())
            return
        settings = self.settings or ProviderSettings()
        order = resolve_order(settings)
        if self.router is None:
            object.__setattr__(self, "router", ModelRouter(chat_providers(settings, order)))
        if self.timeout_ms is None:
            object.__setattr__(self, "timeout_ms", settings.ai_request_timeout_ms)
        if self.embedding_providers is None:
            providers = embedding_providers(settings, order, dimensions=EMBEDDING_DIMENSIONS)
            object.__setattr__(self, "embedding_providers", tuple(providers))

    def model_router(self) -> ModelRouter:
        """The router to call: the caller's, or the one built from the environment."""
        assert self.router is not None  # set by __post_init__
        return self.router

    def run_deadline(self) -> Deadline:
        return self.deadline or Deadline.after_ms(self.timeout_ms or 60_000)

    async def embed_query(self, text: str, model: str) -> list[float] | None:
        """The query's vector from the provider that embedded the chunks (`model`), if any.

        Each call has its own embedding deadline inside the run's; a failure returns None.
        """
        return await embed_query(
            self.embedding_providers or (), text, model, deadline=self.run_deadline()
        )


C = TypeVar("C", bound=GenerationContext)


@overload
def context_of(runtime: Runtime[GenerationContext]) -> GenerationContext: ...


@overload
def context_of(runtime: Runtime[C], cls: type[C]) -> C: ...


def context_of(
    runtime: Runtime[Any], cls: type[GenerationContext] = GenerationContext
) -> GenerationContext:
    """The run's context, or a `cls` filled from the environment when the caller passed none.

    `runtime.context` is None unless the caller passes `context=` (`langgraph dev`, a script);
    graphs with a richer context (`BriefContext`) pass their class.
    """
    context = runtime.context
    return context if isinstance(context, cls) else cls()

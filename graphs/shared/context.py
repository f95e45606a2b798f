"""The run context of the generation graphs.

`GenerationOptions` is the graphs' LangGraph `context_schema`: data only (what Studio's context
form shows and `get_schemas` describes), each field filled from the environment when left
unset, as in LangGraph's react-agent template. `GenerationContext` extends it with the run's
objects (model router, store, embedding providers, deadline): stemgraph's server, the evals and
tests pass one as `context=`; a run given only options, or nothing (`langgraph dev`, Studio, a
script), gets the objects from `graphs/shared/runtime_objects.py` through `context_of`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, fields
from typing import Any, TypeVar, overload

from langgraph.runtime import Runtime

from graphs.shared.runtime_objects import runtime_objects
from tools.models.embeddings import EMBEDDING_DIMENSIONS
from tools.models.providers import (
    EmbeddingProvider,
    chat_providers,
    embedding_providers,
    resolve_order,
)
from tools.models.router import Deadline, ModelRouter, embed_query
from tools.models.settings import ProviderName, ProviderSettings
from tools.store.base import Store

StoreOpener = Callable[[], Awaitable[Store]]


@dataclass(frozen=True, kw_only=True)
class GenerationOptions:
    """What a caller may choose for one run: plain data, so the schema is JSON."""

    timeout_ms: int | None = field(
        default=None,
        metadata={
            "description": "The run's total time for model calls, in ms "
            "(default: AI_REQUEST_TIMEOUT_MS)."
        },
    )
    provider_order: list[ProviderName] | None = field(
        default=None,
        metadata={
            "description": "Model providers to try, in order, before the offline engine "
            "(default: every configured one; AI_PROVIDER_DEFAULT first)."
        },
    )

    def __post_init__(self) -> None:
        if self.timeout_ms is None:
            object.__setattr__(self, "timeout_ms", ProviderSettings().ai_request_timeout_ms)

    def options(self) -> dict[str, Any]:
        """The data fields, to build a richer context with the same choices."""
        return {f.name: getattr(self, f.name) for f in fields(GenerationOptions)}


@dataclass(frozen=True, kw_only=True)
class GenerationContext(GenerationOptions):
    """The options plus the objects a run uses. The server passes one; a caller that leaves an
    object unset gets it built from the environment (the router, the embedding providers) or
    none at all (the store, unless `open_store` says where to get it)."""

    router: ModelRouter | None = None
    store: Store | None = None
    # Opens the store on first use when `store` is unset (runs resolved from the environment).
    open_store: StoreOpener | None = field(default=None, repr=False, compare=False)
    # Providers that can embed a query with the model the class's chunks were embedded with.
    embedding_providers: Sequence[EmbeddingProvider] | None = None
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
        order = resolve_order(settings, self.provider_order)
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

    async def class_store(self) -> Store | None:
        """The class database: the caller's, else the environment's (opened on first use)."""
        if self.store is None and self.open_store is not None:
            return await self.open_store()
        return self.store

    def run_deadline(self) -> Deadline:
        return self.deadline or Deadline.after_ms(self.timeout_ms or 60_000)

    async def embed_query(self, text: str, model: str) -> list[float] | None:
        """The query's vector from the provider that embedded the chunks (`model`), if any.

        Each call has its own embedding deadline inside the run's; a failure returns None.
        """
        return await embed_query(
            self.embedding_providers or (), text, model, deadline=self.run_deadline()
        )

    def objects(self) -> dict[str, Any]:
        """The objects, to carry them over to a richer context class."""
        names = ("router", "store", "open_store", "embedding_providers", "deadline", "settings")
        return {name: getattr(self, name) for name in names}


C = TypeVar("C", bound=GenerationContext)


@overload
def context_of(runtime: Runtime[Any]) -> GenerationContext: ...


@overload
def context_of(runtime: Runtime[Any], cls: type[C]) -> C: ...


def context_of(
    runtime: Runtime[Any], cls: type[GenerationContext] = GenerationContext
) -> GenerationContext:
    """The run's context as `cls`: the caller's own, or one resolved from the environment.

    `runtime.context` is a `GenerationContext` when stemgraph's server (or a test, an eval)
    passes one; under `langgraph dev` it is the `GenerationOptions` the client sent, or None.
    Then the objects come from the process's `runtime_objects()`: its router for the chosen
    providers and the store from `STEMGRAPH_DATABASE_URL` / `STEMGRAPH_DATA_DIR`.
    """
    context = runtime.context
    if isinstance(context, cls):
        return context
    if isinstance(context, GenerationContext):
        # A plain context given to a graph with a richer class: same options, same objects.
        return cls(**context.options(), **context.objects())
    options = context if isinstance(context, GenerationOptions) else GenerationOptions()
    objects = runtime_objects()
    return cls(
        **options.options(),
        router=objects.router(options.provider_order),
        embedding_providers=objects.embedding_providers(options.provider_order),
        open_store=objects.store,
    )

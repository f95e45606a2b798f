"""Run-scoped dependencies of the teaching brief graph.

Its `context_schema` is the data-only `GenerationOptions`; `BriefContext` is the in-process form
that may carry loaders (`context_of(runtime, BriefContext)` builds one for other callers)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from graphs.shared.context import GenerationContext
from graphs.shared.errors import GenerationError
from tools.store.base import Store

InsightsLoader = Callable[[str], Awaitable[dict[str, Any]]]
BlueprintLoader = Callable[[str], Awaitable[dict[str, Any] | None]]


@dataclass(frozen=True, kw_only=True)
class BriefContext(GenerationContext):
    """A generation context that also says where the class's insights and blueprint come from.

    By default both are read from `store`; tests (and callers that already computed the
    insights) pass their own loaders.
    """

    load_insights: InsightsLoader | None = None
    load_blueprint: BlueprintLoader | None = None

    async def _sql_store(self) -> Store:
        store = await self.class_store()
        if store is None:
            raise GenerationError("The teaching brief needs the class database, and none is set.")
        return store

    async def insights(self, class_id: str) -> dict[str, Any]:
        """The class's insights payload (`compute_insights` unless a loader was given)."""
        if self.load_insights is not None:
            return await self.load_insights(class_id)
        from tools.analytics.insights import compute_insights

        return await compute_insights(await self._sql_store(), class_id)

    async def blueprint(self, class_id: str) -> dict[str, Any] | None:
        """The class's published course blueprint, if there is one, its topics keyed by the
        `topics` row ids the insights name them by."""
        if self.load_blueprint is not None:
            return await self.load_blueprint(class_id)
        store = await self.class_store()
        if store is None:
            return None
        from tools.analytics.blueprint import published_blueprint

        return await published_blueprint(await self._sql_store(), class_id)

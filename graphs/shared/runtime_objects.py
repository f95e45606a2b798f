"""What a graph run uses besides data, resolved from the environment when no caller passed it.

stemgraph's server passes its own store, model router and deadline in the run's context
(`GenerationContext`). A run without them — `langgraph dev` and Studio, a script — gets them
here, built once per process from the same environment variables the server reads: the store
from `STEMGRAPH_DATABASE_URL` or SQLite in `STEMGRAPH_DATA_DIR` (the demo class seeded in dev
mode), the providers from their `*_API_KEY` variables.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from pydantic import Field, field_validator

from tools.materials.extract import ExtractionLimits
from tools.models.embeddings import EMBEDDING_DIMENSIONS
from tools.models.providers import (
    EmbeddingProvider,
    chat_providers,
    embedding_providers,
    resolve_order,
)
from tools.models.router import ModelRouter
from tools.models.settings import ProviderName, ProviderSettings
from tools.store import open_store
from tools.store.base import Store
from tools.store.settings import StoreSettings

logger = logging.getLogger("stemgraph.runtime")


class RunEnvironment(ProviderSettings, StoreSettings):
    """The provider settings plus where the class data lives: what a graph run reads from the
    environment. The server's `Settings` extends it with the HTTP layer's own."""

    data_dir: Path = Field(Path(".data"), validation_alias="STEMGRAPH_DATA_DIR")
    database_url: str | None = Field(None, validation_alias="STEMGRAPH_DATABASE_URL")
    database_schema: str | None = Field(
        None, pattern=r"^[a-z_][a-z0-9_]{0,62}$", validation_alias="STEMGRAPH_DATABASE_SCHEMA"
    )
    dev_mode: bool = Field(False, validation_alias="STEMGRAPH_DEV_MODE")
    seed_demo: bool | None = Field(None, validation_alias="STEMGRAPH_SEED_DEMO")
    # Per material: PDFs with more pages, or whose text takes longer to extract, fail with
    # a reason (extraction runs in a child process that is killed at the time limit).
    material_max_pages: int = Field(200, ge=1, validation_alias="STEMGRAPH_MATERIAL_MAX_PAGES")
    material_extract_seconds: float = Field(
        30.0, gt=0, le=600, validation_alias="STEMGRAPH_MATERIAL_EXTRACT_SECONDS"
    )

    @field_validator("database_url", mode="before")
    @classmethod
    def _blank_url_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @property
    def resolved_database_url(self) -> str:
        """A `postgresql://` URL, or a SQLite file path (the embedded default)."""
        return self.database_url or str(self.data_dir / "stemgraph.sqlite3")

    @property
    def uses_postgres(self) -> bool:
        return self.resolved_database_url.startswith(("postgresql://", "postgres://"))

    @property
    def should_seed_demo(self) -> bool:
        return self.dev_mode if self.seed_demo is None else self.seed_demo

    @property
    def extraction_limits(self) -> ExtractionLimits:
        return ExtractionLimits(
            max_pages=self.material_max_pages, max_seconds=self.material_extract_seconds
        )


async def open_class_store(environment: RunEnvironment) -> Store:
    """The class database the environment names, with the demo class when it asks for it.

    The one place a graph outside the server opens the store: re-point it here if the store
    moves.
    """
    if not environment.uses_postgres:
        # Off the event loop: `langgraph dev` refuses blocking calls on it.
        await asyncio.to_thread(environment.data_dir.mkdir, parents=True, exist_ok=True)
    store = await open_store(
        environment.resolved_database_url,
        schema=environment.database_schema,
        platform_database=environment.platform_database,
    )
    if environment.should_seed_demo:
        from tools.demo import seed_demo

        if await seed_demo(store):
            logger.info("seeded the demo class")
    return store


class RuntimeObjects:
    """One process's store, routers and embedding providers, built on first use.

    A store is bound to the event loop that opened it (its connection's futures, a pool's
    tasks), and LangGraph's server may run graphs on more than one loop, so there is one store
    per loop.
    """

    def __init__(self, environment: RunEnvironment) -> None:
        self.environment = environment
        self._stores: dict[asyncio.AbstractEventLoop, asyncio.Task[Store]] = {}
        self._routers: dict[tuple[ProviderName, ...], ModelRouter] = {}
        self._embedders: dict[tuple[ProviderName, ...], tuple[EmbeddingProvider, ...]] = {}
        self._guard = threading.Lock()

    def router(self, provider_order: Sequence[ProviderName] | None = None) -> ModelRouter:
        """A router over the configured providers (in `provider_order`), offline last."""
        order = tuple(resolve_order(self.environment, provider_order))
        with self._guard:
            if order not in self._routers:
                providers = chat_providers(self.environment, list(order))
                self._routers[order] = ModelRouter(
                    providers, rate_limit_retries=self.environment.ai_rate_limit_retries
                )
            return self._routers[order]

    def embedding_providers(
        self, provider_order: Sequence[ProviderName] | None = None
    ) -> tuple[EmbeddingProvider, ...]:
        """The configured providers that can embed (in `provider_order`)."""
        order = tuple(resolve_order(self.environment, provider_order))
        with self._guard:
            if order not in self._embedders:
                self._embedders[order] = tuple(
                    embedding_providers(
                        self.environment, list(order), dimensions=EMBEDDING_DIMENSIONS
                    )
                )
            return self._embedders[order]

    async def store(self) -> Store:
        """This loop's store, opened (and seeded in dev mode) by the first run that asks."""
        loop = asyncio.get_running_loop()
        with self._guard:
            task = self._stores.get(loop)
            failed = task is not None and task.done() and (task.cancelled() or task.exception())
            if task is None or failed:
                # A task, not a coroutine: concurrent first runs share one opening, and a
                # cancelled run cannot leave the store half open for the next.
                task = loop.create_task(open_class_store(self.environment))
                if not self._stores:
                    _before_thread_join(self._close_at_exit)
                self._stores[loop] = task
        return await asyncio.shield(task)

    def _close_at_exit(self) -> None:
        """Close what is still open when the interpreter exits: SQLite's connection runs on a
        non-daemon thread, which would keep a stopped `langgraph dev` from exiting."""
        with self._guard:
            opened = list(self._stores.items())
            self._stores.clear()
        for loop, task in opened:
            if not task.done() or task.cancelled() or task.exception() is not None:
                continue
            store = task.result()
            try:
                if loop.is_running():
                    asyncio.run_coroutine_threadsafe(store.close(), loop).result(timeout=5)
                else:
                    asyncio.run(store.close())
            except Exception:  # noqa: BLE001 - exiting anyway; say so and go on
                logger.warning("could not close the class store at exit", exc_info=True)

    async def aclose(self) -> None:
        """Close the store opened on the running loop, if any (a test's end, a shutdown)."""
        with self._guard:
            task = self._stores.pop(asyncio.get_running_loop(), None)
        if task is not None:
            store = await task
            await store.close()


def _before_thread_join(callback: Callable[[], None]) -> None:
    """Run `callback` at exit before non-daemon threads are joined (`atexit` runs after)."""
    register = getattr(threading, "_register_atexit", None)
    if register is not None:
        register(callback)


@functools.cache
def runtime_objects() -> RuntimeObjects:
    """The process's objects, from the environment as it is on first use."""
    return RuntimeObjects(RunEnvironment())

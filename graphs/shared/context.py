"""Run-scoped settings shared by the generation graphs (LangGraph `context_schema`)."""

from __future__ import annotations

from dataclasses import dataclass

from server.settings import Settings
from tools.models.providers import chat_providers, resolve_order
from tools.models.router import Deadline, ModelRouter
from tools.store.base import Store


@dataclass(frozen=True, kw_only=True)
class GenerationContext:
    """What a run may use. The server always passes one; `langgraph dev` runs on the defaults."""

    router: ModelRouter | None = None
    store: Store | None = None
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

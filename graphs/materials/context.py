"""Run-scoped dependencies of the materials ingest graph (LangGraph `context_schema`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from tools.materials.extract import ExtractionLimits
from tools.models.providers import EmbeddingProvider
from tools.store.base import Store


@dataclass(frozen=True, kw_only=True)
class IngestContext:
    """The store to read the upload from and write chunks to, and the embedding providers.

    With no embedding provider the graph stores no vectors: retrieval computes the offline
    engine's vectors itself, so only a provider's embeddings are worth persisting.
    """

    store: Store
    embedding_providers: list[EmbeddingProvider] = field(default_factory=list)
    timeout_ms: int = 20_000
    extraction: ExtractionLimits = field(default_factory=ExtractionLimits)

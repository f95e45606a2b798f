"""Run-scoped dependencies of the materials ingest graph (LangGraph `context_schema`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from tools.files import FileStore, FileStoreSettings, open_file_store
from tools.materials.extract import ExtractionLimits
from tools.models.providers import EmbeddingProvider
from tools.store.base import Store


def default_file_store() -> FileStore:
    """The file store the environment configures (`tools/files/settings.py`)."""
    return open_file_store(FileStoreSettings.from_env())


@dataclass(frozen=True, kw_only=True)
class IngestContext:
    """The store to read the material's row from and write chunks to, the file store its
    upload is in, and the embedding providers.

    With no embedding provider the graph stores no vectors: retrieval computes the offline
    engine's vectors itself, so only a provider's embeddings are worth persisting. Without a
    file store given, the environment's is used (the server always passes its own).
    """

    store: Store
    files: FileStore = field(default_factory=default_file_store)
    embedding_providers: list[EmbeddingProvider] = field(default_factory=list)
    timeout_ms: int = 20_000
    extraction: ExtractionLimits = field(default_factory=ExtractionLimits)

"""Run context of the materials ingest graph.

`IngestOptions` is the `context_schema` (data only); `IngestContext` adds the store and the
embedding providers. The materials worker passes an `IngestContext`; a run given only options
(`langgraph dev`, Studio) gets the environment's (`graphs/shared/runtime_objects.py`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tools.files import FileStore, FileStoreSettings, open_file_store
from tools.materials.extract import ExtractionLimits
from tools.models.providers import EmbeddingProvider
from tools.models.settings import ProviderSettings
from tools.store.base import Store


def default_file_store() -> FileStore:
    """The file store the environment configures (`tools/files/settings.py`)."""
    return open_file_store(FileStoreSettings.from_env())


@dataclass(frozen=True, kw_only=True)
class IngestOptions:
    """What a caller may choose for one ingest run: plain data."""

    timeout_ms: int | None = field(
        default=None,
        metadata={
            "description": "Time for each batch of chunk embeddings, in ms "
            "(default: AI_EMBEDDING_TIMEOUT_MS)."
        },
    )

    def __post_init__(self) -> None:
        if self.timeout_ms is None:
            object.__setattr__(self, "timeout_ms", ProviderSettings().ai_embedding_timeout_ms)


@dataclass(frozen=True, kw_only=True)
class IngestContext(IngestOptions):
    """The store to read the material's row from and write chunks to, the file store its
    upload is in, and the embedding providers.

    With no embedding provider the graph stores no vectors: retrieval computes the offline
    engine's vectors itself, so only a provider's embeddings are worth persisting. Without a
    file store given, the environment's is used (the server always passes its own).
    """

    store: Store
    files: FileStore = field(default_factory=default_file_store)
    embedding_providers: list[EmbeddingProvider] = field(default_factory=list)
    extraction: ExtractionLimits = field(default_factory=ExtractionLimits)

    def embedding_timeout_ms(self) -> int:
        return self.timeout_ms or 20_000

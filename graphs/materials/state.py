"""What flows through the materials ingest graph."""

from __future__ import annotations

from typing import Any

from typing_extensions import TypedDict


class IngestInput(TypedDict):
    material_id: str


class IngestOutput(TypedDict):
    material_id: str
    status: str
    chunks: int
    embedded: int
    error: str | None
    # `materials.metadata.warnings` / `.extraction_stats` as the platform's worker writes them.
    warnings: list[str]
    extraction_stats: dict[str, int]


class IngestState(IngestInput, total=False):
    class_id: str
    title: str
    file_name: str | None
    mime_type: str | None
    # The object path of the upload in the file store (`tools/files`).
    storage_path: str
    content: bytes | None
    source_type: str
    # Segments as {kind, index, text}: pages, slides or paragraph blocks, 1-based.
    segments: list[dict[str, Any]]
    warnings: list[str]
    extraction_stats: dict[str, int]
    # Chunks as {index, section, content, token_count, source_kind, source_index}; `chunks`
    # is only their count.
    pieces: list[dict[str, Any]]
    vectors: list[list[float]] | None
    embedding_model: str | None
    embedding_provider: str | None
    status: str
    chunks: int
    embedded: int
    error: str | None

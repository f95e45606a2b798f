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


class IngestState(IngestInput, total=False):
    class_id: str
    title: str
    file_name: str | None
    mime_type: str | None
    content: bytes | None
    source_type: str
    text: str
    # Chunks as {index, section, content, token_count}; `chunks` is only their count.
    pieces: list[dict[str, Any]]
    vectors: list[list[float]] | None
    embedding_model: str | None
    status: str
    chunks: int
    embedded: int
    error: str | None

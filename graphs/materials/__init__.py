"""Materials ingest: load → download → extract → chunk → embed → store."""

from graphs.materials.context import IngestContext, IngestOptions
from graphs.materials.graph import builder, graph, ingest_runner

__all__ = ["IngestContext", "IngestOptions", "builder", "graph", "ingest_runner"]

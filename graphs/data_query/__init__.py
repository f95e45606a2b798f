"""Teacher data questions: context → plan → validate → (repair) → run → chart → finalize."""

from graphs.data_query.graph import builder, graph

__all__ = ["builder", "graph"]

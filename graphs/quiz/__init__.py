"""Quiz generation: context → generate → validate → (repair) → finalize."""

from graphs.quiz.graph import builder, graph

__all__ = ["builder", "graph"]

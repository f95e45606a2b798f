"""Class insights: load_or_compute → (narrate → merge → save_snapshot) → finalize."""

from graphs.insights.graph import builder, graph

__all__ = ["builder", "graph"]

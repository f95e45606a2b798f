"""Course blueprints: prepare → generate → validate → (repair) → review → (publish) → finalize."""

from graphs.blueprint.graph import builder, graph

__all__ = ["builder", "graph"]

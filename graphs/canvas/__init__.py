"""Canvas specs for the chat: generate → validate → (repair) → finalize, offline as the floor."""

from graphs.canvas.graph import builder, graph

__all__ = ["builder", "graph"]

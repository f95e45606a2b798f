"""Flashcard generation: context → generate → validate → (repair) → finalize."""

from graphs.flashcards.graph import builder, graph

__all__ = ["builder", "graph"]

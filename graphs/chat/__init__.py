"""Tutor chat: load session → compaction → retrieve → generate → parse → persist."""

from graphs.chat.graph import builder, graph

__all__ = ["builder", "graph"]

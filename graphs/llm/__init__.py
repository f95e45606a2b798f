"""A direct model call (`/v1/llm/generate`): one node, the router's fallback, tokens streamed."""

from graphs.llm.graph import builder, graph

__all__ = ["builder", "graph"]

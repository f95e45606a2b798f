"""The teacher's daily brief: insights → (no data | draft → validate → (repair) → finalize)."""

from graphs.teaching_brief.context import BriefContext
from graphs.teaching_brief.graph import builder, graph

__all__ = ["BriefContext", "builder", "graph"]

"""Rendering a published blueprint as the prompt's "Blueprint Context" block."""

from __future__ import annotations

from typing import Any

from tools.text import strip_invisible


def render_blueprint_context(blueprint: dict[str, Any], *, max_chars: int = 6000) -> str:
    """Topics in sequence with their objectives, as compact text for a prompt."""
    lines = ["Blueprint Context"]
    if blueprint.get("summary"):
        lines.append(f"Course summary: {blueprint['summary']}")
    topics = sorted(blueprint.get("topics") or [], key=lambda t: t.get("sequence", 0))
    for topic in topics:
        lines.append(f"{topic.get('sequence')}. {topic.get('title')} [{topic.get('key')}]")
        for objective in topic.get("objectives") or []:
            level = objective.get("level")
            suffix = f" ({level})" if level else ""
            lines.append(f"   - {objective.get('statement')}{suffix}")
        flags = topic.get("misconceptionFlags") or []
        if flags:
            lines.append(f"   Misconceptions to watch: {'; '.join(flags)}")
    text = strip_invisible("\n".join(lines))
    return text if len(text) <= max_chars else text[: max_chars - 1] + "…"


def blueprint_topic_titles(blueprint: dict[str, Any]) -> list[str]:
    return [str(t.get("title")) for t in blueprint.get("topics") or [] if t.get("title")]

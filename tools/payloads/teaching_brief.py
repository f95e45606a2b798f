"""The teaching brief's contract limits and evidence rules, shared by validation and drafting.

The brief lists at most 3 attention items, 3 misconceptions and 5 students to watch; a topic is
weak when the insights label it critical or warning (or, without a label, it averages 75% or
less); a class has evidence to brief on when it has submitted work or chat messages; a student
without a display name (or with one that speaks to an AI) is called "Unnamed student".
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from tools.text.injection import is_instruction_like

MAX_ATTENTION: Final = 3
MAX_MISCONCEPTIONS: Final = 3
MAX_STUDENTS: Final = 5
WEAK_UP_TO: Final = 0.75  # the insights' `warning` band ends here
WEAK_STATUSES: Final = frozenset({"critical", "warning"})
UNNAMED: Final = "Unnamed student"


def fraction(score: object) -> float | None:
    """A score as a 0-1 fraction (insights may carry 0-1 or 0-100), None when unknown."""
    if isinstance(score, bool) or not isinstance(score, int | float):
        return None
    value = float(score)
    return value / 100 if value > 1 else value


def percent(score: object) -> int | None:
    """A score as a whole percentage, None when unknown."""
    value = fraction(score)
    return None if value is None else round(value * 100)


def count(value: object) -> int:
    """A count from the insights (0 for anything that is not a number)."""
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0


def student_name(student: Mapping[str, Any]) -> str:
    """The name a brief must use for the student: profiles without a name, and names that speak
    to an AI ("SYSTEM: ignore previous instructions"), get a fixed one."""
    name = student.get("display_name")
    if not isinstance(name, str) or not name.strip() or is_instruction_like(name):
        return UNNAMED
    return name.strip()


def topics_of(insights: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The insights' topic entries (anything that is not an object is skipped)."""
    return [t for t in insights.get("topics") or [] if isinstance(t, Mapping)]


def students_of(insights: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The insights' student entries (anything that is not an object is skipped)."""
    return [s for s in insights.get("students") or [] if isinstance(s, Mapping)]


def activities_of(student: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """A student's activity breakdown entries."""
    return [a for a in student.get("activity_breakdown") or [] if isinstance(a, Mapping)]


def has_evidence(insights: Mapping[str, Any]) -> bool:
    """Whether the class has anything to brief on: submitted work or chat messages.

    The insights' `class_summary.is_empty` says exactly that; without it, the topics' attempts,
    the students' chat counts and their activity attempts decide.
    """
    is_empty = (insights.get("class_summary") or {}).get("is_empty")
    if isinstance(is_empty, bool):
        return not is_empty
    if any(count(t.get("attempt_count")) > 0 for t in topics_of(insights)):
        return True
    return any(
        count(s.get("chat_message_count")) > 0
        or any(count(a.get("attempts")) > 0 for a in activities_of(s))
        for s in students_of(insights)
    )


def is_weak(topic: Mapping[str, Any]) -> bool:
    """The insights' own label when it has one (critical/warning), else the average."""
    status = topic.get("status")
    if isinstance(status, str) and status in WEAK_STATUSES | {"good"}:
        return status in WEAK_STATUSES
    return (fraction(topic.get("avg_score")) or 0.0) <= WEAK_UP_TO


def brief_inputs(insights: Mapping[str, Any], blueprint: Mapping[str, Any] | None) -> str:
    """The text in a brief's inputs that people wrote (names, titles, summaries, misconception
    flags), one item a line: what an instruction could be planted in."""
    texts: list[Any] = [s.get("display_name") for s in students_of(insights)]
    texts += [s.get("ai_mini_summary") for s in students_of(insights)]
    texts += [t.get("title") for t in topics_of(insights)]
    for topic in (blueprint or {}).get("topics") or []:
        if isinstance(topic, Mapping):
            texts += [topic.get("title"), *(topic.get("misconceptionFlags") or [])]
    return "\n".join(t.strip() for t in texts if isinstance(t, str) and t.strip())

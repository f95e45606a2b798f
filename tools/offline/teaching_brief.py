"""Deterministic offline teaching brief, written from the class insights' numbers alone.

Attention items are the weakest topics ("Topic: avg 54% over 23 attempts"), students to watch
are the high- then medium-risk students with reasons from their own numbers, misconceptions come
from the published blueprint's `misconceptionFlags` of weak topics, and the recommended activity
is a quiz on the weakest topic. Nothing is invented: every name and id comes from the inputs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from tools.payloads.teaching_brief import (
    MAX_ATTENTION,
    MAX_MISCONCEPTIONS,
    MAX_STUDENTS,
    activities_of,
    count,
    fraction,
    is_weak,
    percent,
    student_name,
    students_of,
    topics_of,
)
from tools.text.injection import is_instruction_like

_RISK_ORDER = {"high": 0, "medium": 1}


def _scored(insights: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [
        t
        for t in topics_of(insights)
        if count(t.get("attempt_count")) > 0 and fraction(t.get("avg_score")) is not None
    ]


def weak_topics(insights: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """Scored topics labelled critical or warning (or averaging ≤ 75%), weakest first."""
    weak = [t for t in _scored(insights) if is_weak(t)]
    return sorted(weak, key=lambda t: (fraction(t.get("avg_score")) or 0.0, str(t["topic_id"])))


def _strongest(insights: Mapping[str, Any]) -> Mapping[str, Any] | None:
    scored = _scored(insights)
    if not scored:
        return None
    return max(scored, key=lambda t: (fraction(t.get("avg_score")) or 0.0, str(t["topic_id"])))


def _topic_line(topic: Mapping[str, Any]) -> str:
    attempts = count(topic.get("attempt_count"))
    noun = "attempt" if attempts == 1 else "attempts"
    return f"{topic['title']}: avg {percent(topic.get('avg_score'))}% over {attempts} {noun}"


def _watch_reason(student: Mapping[str, Any]) -> str:
    parts = [f"{student.get('risk_level')} risk"]
    score = percent(student.get("avg_score"))
    activities = activities_of(student)
    # An activity nobody attempted carries score 0.0 with `attempts: 0` (never null).
    unscored = bool(activities) and all(
        a.get("score") is None or count(a.get("attempts")) == 0 for a in activities
    )
    parts.append("no scored work yet" if score is None or unscored else f"average {score}%")
    completion = percent(student.get("completion_rate"))
    if completion is not None:
        parts.append(f"{completion}% of assigned work completed")
    parts.append(f"{count(student.get('chat_message_count'))} tutor chat messages")
    return ", ".join(parts)


def students_to_watch(insights: Mapping[str, Any]) -> list[dict[str, str]]:
    at_risk = [s for s in students_of(insights) if s.get("risk_level") in _RISK_ORDER]
    at_risk.sort(
        key=lambda s: (
            _RISK_ORDER[str(s.get("risk_level"))],
            fraction(s.get("avg_score")) if fraction(s.get("avg_score")) is not None else 2.0,
            student_name(s),
            str(s.get("student_id")),
        )
    )
    return [
        {
            "student_id": str(s["student_id"]),
            "display_name": student_name(s),
            "reason": _watch_reason(s),
        }
        for s in at_risk[:MAX_STUDENTS]
    ]


def _flags(blueprint: Mapping[str, Any] | None) -> dict[str, list[str]]:
    """Each blueprint topic key's misconception flags, without flags that speak to an AI."""
    flags: dict[str, list[str]] = {}
    for topic in (blueprint or {}).get("topics") or []:
        if isinstance(topic, Mapping) and isinstance(topic.get("key"), str):
            found = [f.strip() for f in topic.get("misconceptionFlags") or [] if isinstance(f, str)]
            flags[topic["key"]] = [f for f in found if f and not is_instruction_like(f)]
    return flags


def misconceptions(
    weak: Sequence[Mapping[str, Any]], blueprint: Mapping[str, Any] | None
) -> list[dict[str, str]]:
    flags = _flags(blueprint)
    found: list[dict[str, str]] = []
    for topic in weak:
        for flag in flags.get(str(topic["topic_id"]), []):
            found.append(
                {
                    "topic_id": str(topic["topic_id"]),
                    "topic_title": str(topic["title"]),
                    "description": f'Students may believe "{flag.rstrip(".")}" (flagged in the '
                    f"course blueprint); the class averages {percent(topic.get('avg_score'))}% "
                    "on this topic.",
                }
            )
    return found[:MAX_MISCONCEPTIONS]


def _evidence_basis(insights: Mapping[str, Any], used_blueprint: bool) -> str:
    topics = topics_of(insights)
    students = students_of(insights)
    attempts = sum(count(t.get("attempt_count")) for t in topics)
    chats = sum(count(s.get("chat_message_count")) for s in students)
    scored = sum(1 for t in topics if count(t.get("attempt_count")) > 0)
    basis = (
        f"{attempts} scored attempts across {scored} of {len(topics)} topics, {chats} tutor chat "
        f"messages and completion rates of {len(students)} students"
    )
    if used_blueprint:
        basis += ", plus the misconception notes in the published course blueprint"
    return f"Class insights: {basis}."


def offline_brief(
    insights: Mapping[str, Any], blueprint: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """A complete, valid brief computed from `insights` (and the blueprint's flags)."""
    summary_numbers = insights.get("class_summary") or {}
    weak = weak_topics(insights)
    watch = students_to_watch(insights)
    mistakes = misconceptions(weak, blueprint)
    strongest = _strongest(insights)
    attention = [_topic_line(t) for t in weak[:MAX_ATTENTION]]
    completion = percent(summary_numbers.get("completion_rate"))
    if len(attention) < MAX_ATTENTION and completion is not None and completion < 80:
        attention.append(f"Completion: {completion}% of assigned work has been submitted")

    average = percent(summary_numbers.get("avg_score"))
    summary = (
        f"{count(summary_numbers.get('student_count'))} students, class average "
        f"{'n/a' if average is None else f'{average}%'}, "
        f"{count(summary_numbers.get('at_risk_count'))} at risk."
    )
    if weak:
        summary += f" Weakest topic: {weak[0]['title']} ({percent(weak[0].get('avg_score'))}%)."
    if strongest is not None and (not weak or strongest is not weak[0]):
        summary += f" Strongest: {strongest['title']} ({percent(strongest.get('avg_score'))}%)."

    if weak:
        action = f"Reteach {weak[0]['title']} with a worked example before moving on."
        step = f"Set a short quiz on {weak[0]['title']} and compare it with today's average."
        activity: dict[str, str] | None = {
            "type": "quiz",
            "reason": f"{weak[0]['title']} has the lowest average "
            f"({percent(weak[0].get('avg_score'))}%); a quiz shows whether reteaching worked.",
        }
    elif watch:
        action = f"Check in with {watch[0]['display_name']} and the other students to watch."
        step = "Review the students to watch one by one before the next assignment."
        activity = {"type": "chat", "reason": "Individual tutor chat suits a few students."}
    else:
        action = "Keep the current pace: every assessed topic averages above 75%."
        step = "Introduce the next topic in the course blueprint."
        activity = None
    if watch and weak:
        step += f" Check in with {watch[0]['display_name']} first."
    return {
        "summary": summary,
        "strongest_action": action,
        "attention_items": attention,
        "misconceptions": mistakes,
        "students_to_watch": watch,
        "next_step": step,
        "recommended_activity": activity,
        "evidence_basis": _evidence_basis(insights, bool(mistakes)),
    }

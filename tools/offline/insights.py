"""The offline engine's class narrative: deterministic sentences written from the numbers alone.

It answers in the model's reply format (`executive_summary`, `key_findings`, `interventions`,
`student_summaries`), so the graph validates it exactly as it validates a model's narrative.
"""

from __future__ import annotations

from typing import Any

MAX_INTERVENTIONS = 3
_RISK_PHRASE = {
    "high": "needs support now",
    "medium": "is worth a check-in",
    "low": "is on track",
}


def _pct(value: float | None) -> str:
    return "no data" if value is None else f"{round(value * 100)}%"


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def _findings(payload: dict[str, Any]) -> list[str]:
    summary = payload["class_summary"]
    topics: list[dict[str, Any]] = payload["topics"]
    findings = [
        f"The class average of best scores is {_pct(summary['avg_score'])} across "
        f"{_plural(summary['student_count'], 'student')}, with {_pct(summary['completion_rate'])} "
        "of assignments completed on average."
    ]
    if topics:
        weakest = min(topics, key=lambda t: (t["avg_score"], t["topic_id"]))
        findings.append(
            f"The weakest topic is {weakest['title']} at {_pct(weakest['avg_score'])} "
            f"({weakest['status']}, {_plural(weakest['attempt_count'], 'attempt')})."
        )
        strongest = max(topics, key=lambda t: (t["avg_score"], t["topic_id"]))
        if strongest is not weakest:
            findings.append(
                f"The strongest topic is {strongest['title']} at {_pct(strongest['avg_score'])}."
            )
    # `at_risk_count` covers high and medium risk; the finding names the two apart.
    risks = [s["risk_level"] for s in payload["students"]]
    high, medium = risks.count("high"), risks.count("medium")
    at_risk = summary["at_risk_count"]
    findings.append(
        f"{_plural(at_risk, 'student')} {'is' if at_risk == 1 else 'are'} at risk: {high} high "
        "(low scores and under half of the assignments completed) and "
        f"{medium} medium (a score under 70% or under half completed)."
    )
    levels = {k: v for k, v in payload["bloom_breakdown"].items() if v is not None}
    if levels:
        level = min(levels, key=lambda k: (levels[k], k))
        findings.append(
            f"Questions at the '{level}' Bloom level score lowest ({_pct(levels[level])})."
        )
    findings.append(
        f"Students sent {summary['avg_chat_messages']:g} chat questions each on average."
    )
    return findings[:5]


def _interventions(payload: dict[str, Any]) -> list[dict[str, str]]:
    weak = sorted(
        (t for t in payload["topics"] if t["status"] in ("critical", "warning")),
        key=lambda t: (t["avg_score"], t["topic_id"]),
    )
    interventions = []
    for topic in weak[:MAX_INTERVENTIONS]:
        focus = f" at the {topic['bloom_levels'][0]} level" if topic["bloom_levels"] else ""
        interventions.append(
            {
                "type": "generate_quiz",
                "topic_id": topic["topic_id"],
                "topic_title": topic["title"],
                "reason": (
                    f"{topic['title']} averages {_pct(topic['avg_score'])} over "
                    f"{_plural(topic['attempt_count'], 'attempt')} ({topic['status']})."
                ),
                "suggested_action": (
                    f"Generate a short practice quiz on {topic['title']}{focus} and review the "
                    "most missed questions together."
                ),
            }
        )
    return interventions


def _mini_summary(student: dict[str, Any]) -> str:
    return (
        f"{student['display_name']} averages {_pct(student['avg_score'])} with "
        f"{_pct(student['completion_rate'])} of assignments completed and "
        f"{_plural(student['chat_message_count'], 'chat message')}, and "
        f"{_RISK_PHRASE.get(student['risk_level'], 'is worth a check-in')}."
    )


def offline_narrative(payload: dict[str, Any]) -> dict[str, Any]:
    """A narrative for the insights `payload`, written only from its numbers."""
    summary = payload["class_summary"]
    if summary["is_empty"]:
        executive = (
            f"There is no quiz or chat activity yet for the "
            f"{_plural(summary['student_count'], 'enrolled student')}; insights will appear "
            "once students start submitting work."
        )
    else:
        critical = [t["title"] for t in payload["topics"] if t["status"] == "critical"]
        warning = [t["title"] for t in payload["topics"] if t["status"] == "warning"]
        focus = (
            f" Critical topics: {', '.join(critical)}."
            if critical
            else f" Topics to watch: {', '.join(warning)}."
            if warning
            else " Every assessed topic is in good shape."
        )
        executive = (
            f"The class averages {_pct(summary['avg_score'])} on its best attempts with "
            f"{_pct(summary['completion_rate'])} completion, and "
            f"{_plural(summary['at_risk_count'], 'student')} at risk.{focus}"
        )
    return {
        "executive_summary": executive,
        "key_findings": _findings(payload),
        "interventions": _interventions(payload),
        "student_summaries": {s["student_id"]: _mini_summary(s) for s in payload["students"]},
    }

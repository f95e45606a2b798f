"""The offline narrative and teaching brief read the insights as the contract shapes them:
`at_risk_count` counts high and medium risk, an unattempted activity scores 0.0 with 0 attempts."""

from __future__ import annotations

from typing import Any

from tools.offline.insights import offline_narrative
from tools.offline.teaching_brief import students_to_watch


def student(sid: str, name: str, avg: float, risk: str, attempts: int) -> dict[str, Any]:
    return {
        "student_id": sid,
        "display_name": name,
        "avg_score": avg,
        "completion_rate": 0.5 if attempts else 0.0,
        "chat_message_count": 2,
        "risk_level": risk,
        "activity_breakdown": [
            {"activity_id": "a1", "title": "Quiz 1", "score": avg, "attempts": attempts},
            {"activity_id": "a2", "title": "Quiz 2", "score": 0.0, "attempts": 0},
        ],
        "ai_mini_summary": None,
    }


INSIGHTS: dict[str, Any] = {
    "generated_at": "2026-11-21T08:00:00.000000Z",
    "class_summary": {
        "student_count": 3,
        "avg_score": 0.62,
        "completion_rate": 0.33,
        "at_risk_count": 2,
        "avg_chat_messages": 2.0,
        "is_empty": False,
    },
    "topics": [],
    "bloom_breakdown": dict.fromkeys(
        ("remember", "understand", "apply", "analyze", "evaluate", "create")
    ),
    "students": [
        student("s1", "Finn O.", 0.0, "high", 0),
        student("s2", "Ben A.", 0.62, "medium", 1),
        student("s3", "Ada L.", 0.9, "low", 1),
    ],
    "ai_narrative": None,
}


def test_the_narrative_counts_high_and_medium_risk_as_at_risk() -> None:
    narrative = offline_narrative(INSIGHTS)
    assert "2 students at risk." in narrative["executive_summary"]
    (finding,) = [f for f in narrative["key_findings"] if "at risk" in f]
    assert finding.startswith("2 students are at risk: 1 high")
    assert "1 medium" in finding


def test_a_student_who_attempted_nothing_has_no_scored_work() -> None:
    reasons = {s["student_id"]: s["reason"] for s in students_to_watch(INSIGHTS)}
    assert "no scored work yet" in reasons["s1"]
    assert "average 0%" not in reasons["s1"]
    assert "average 62%" in reasons["s2"]

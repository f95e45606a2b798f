"""A class's insights payload computed from the platform's rows (SQL reads them, Python does the
arithmetic); no model touches these numbers. How scores, attempts and completion are read from
submissions and recipients is in `tools/analytics/classwork.py`.

Rules, where the contract leaves room:
- Students are the class's `student` enrollments, except guests (anonymous users trying the
  product from a sandbox: they are not pupils).
- Assessed work is the class's published quiz activities that have an assignment.
- A student's `avg_score` is the mean of their best scores (0-1) over the assignments they have a
  scored attempt on, 0.0 when none; `completion_rate` is the share of their recipient rows that
  are `submitted` or `reviewed` (0.0 when nothing is assigned to them). The class `avg_score` is
  the mean of the students' averages over the students with any score; its `completion_rate` is
  the mean over the students with assigned work.
- In `activity_breakdown` (one entry per assessed activity), `score` is the best score over the
  activity's assignments, 0.0 when nothing scored was submitted: the web app charts
  `score * 100`, so it is never null; `attempts` (all quiz attempts) tells "not attempted" apart.
- Risk and topic status are judged on the rounded (4 decimal) numbers the payload shows, so the
  label always agrees with the number. `at_risk_count` counts `high` and `medium` risk students
  (the contract's rule). A student with nothing assigned has nothing to fall behind on: `low`.
- Topics are the published blueprint's `topics` rows (by `sequence`) that have at least one
  scored attempt (a topic nobody has been assessed on is left out rather than shown as a 0.0
  "critical" topic); `topic_id` is the row's id and `bloom_levels` its objectives' levels. A
  topic's `avg_score` is the mean best score over (student, assignment) pairs on its activities;
  `attempt_count` counts every quiz attempt on them.
- A Bloom level's score is the mean best score over (student, assignment) pairs whose activity's
  topic has an objective at that level (an activity assesses its topic's levels); null when none.
- Students are listed most at risk first (risk, then lowest average, then name).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, Final

from tools.analytics.classwork import BLOOM_LEVELS, ClassRows, Classwork, Work, join
from tools.analytics.loading import load_class_rows
from tools.clock import to_iso, utc_now
from tools.store.base import Store

CRITICAL_BELOW: Final = 0.60
WARNING_UP_TO: Final = 0.75
_RISK_ORDER: Final = {"high": 0, "medium": 1, "low": 2}
AT_RISK: Final = frozenset({"high", "medium"})


def topic_status(avg_score: float) -> str:
    """critical below 0.60, warning up to and including 0.75, good above."""
    if avg_score < CRITICAL_BELOW:
        return "critical"
    return "warning" if avg_score <= WARNING_UP_TO else "good"


def risk_level(avg_score: float, completion_rate: float) -> str:
    """high: score < 0.6 and completion < 0.5; medium: score < 0.7 or completion < 0.5."""
    if avg_score < 0.6 and completion_rate < 0.5:
        return "high"
    if avg_score < 0.7 or completion_rate < 0.5:
        return "medium"
    return "low"


def at_risk_count(students: Iterable[Mapping[str, Any]]) -> int:
    """Students at `high` or `medium` risk."""
    return sum(1 for s in students if s.get("risk_level") in AT_RISK)


def upgrade_payload(payload: dict[str, Any]) -> dict[str, Any]:
    """A stored payload in today's shape: snapshots written before an activity's unscored
    `score` became 0.0 and `at_risk_count` included medium risk are served corrected."""
    students = [s for s in payload.get("students") or [] if isinstance(s, dict)]
    for student in students:
        for activity in student.get("activity_breakdown") or []:
            if isinstance(activity, dict) and activity.get("score") is None:
                activity["score"] = 0.0
    summary = payload.get("class_summary")
    if isinstance(summary, dict):
        summary["at_risk_count"] = at_risk_count(students)
    return payload


def short_name(display_name: str | None, number: int) -> str:
    """ "First L." from a profile's display name; "Student N" when there is none."""
    parts = (display_name or "").split()
    if not parts:
        return f"Student {number}"
    if len(parts) == 1:
        return parts[0]
    return f"{parts[0]} {parts[-1][0].upper()}."


def _r(value: float) -> float:
    return round(value, 4)


def _mean(values: Iterable[float]) -> float | None:
    items = list(values)
    return sum(items) / len(items) if items else None


def _student(
    rows: ClassRows, cw: Classwork, student_id: str, name: str
) -> tuple[dict[str, Any], float | None, float | None]:
    """A student's payload entry, with their unrounded mean score and completion (None when
    nothing is scored / assigned)."""
    work = cw.work.get(student_id, {})
    raw_avg = _mean(w.best for w in work.values() if w.best is not None)
    assigned = [w for w in work.values() if w.assigned]
    raw_completion = sum(w.complete for w in assigned) / len(assigned) if assigned else None
    avg, completion = _r(raw_avg or 0.0), _r(raw_completion or 0.0)
    breakdown = []
    assessed = set(cw.activity_of.values())
    for activity in rows.activities:
        if str(activity["id"]) not in assessed:
            continue  # never assigned: nothing to break down
        mine = [w for a, w in work.items() if cw.activity_of[a] == str(activity["id"])]
        best = max((w.best for w in mine if w.best is not None), default=None)
        breakdown.append(
            {
                "activity_id": str(activity["id"]),
                "title": str(activity["title"]),
                "score": _r(best) if best is not None else 0.0,
                "attempts": sum(w.attempts for w in mine),
            }
        )
    entry = {
        "student_id": student_id,
        "display_name": name,
        "avg_score": avg,
        "completion_rate": completion,
        "chat_message_count": int(rows.chat_counts.get(student_id, 0)),
        "risk_level": risk_level(avg, completion) if assigned else "low",
        "activity_breakdown": breakdown,
        "ai_mini_summary": None,
    }
    return entry, raw_avg, raw_completion


def _pairs(rows: ClassRows, cw: Classwork) -> list[tuple[str | None, Work]]:
    """Every (topic id of the activity, work) pair of an enrolled student."""
    topic_of = {str(a["id"]): a.get("topic_id") for a in rows.activities}
    return [
        (None if topic is None else str(topic), w)
        for work in cw.work.values()
        for assignment, w in work.items()
        for topic in [topic_of.get(cw.activity_of[assignment])]
    ]


def _topics(rows: ClassRows, cw: Classwork, pairs: list[tuple[str | None, Work]]) -> list[Any]:
    topics: list[dict[str, Any]] = []
    for topic in rows.topics:
        topic_id = str(topic["id"])
        mine = [w for t, w in pairs if t == topic_id]
        avg = _mean(w.best for w in mine if w.best is not None)
        if avg is None:
            continue
        topics.append(
            {
                "topic_id": topic_id,
                "title": str(topic.get("title") or topic_id),
                "bloom_levels": cw.levels_of_topic.get(topic_id, []),
                "avg_score": _r(avg),
                "attempt_count": sum(w.attempts for w in mine),
                "status": topic_status(_r(avg)),
            }
        )
    return topics


def build_insights(rows: ClassRows, generated_at: str) -> dict[str, Any]:
    """The insights payload of `rows` (`ai_narrative` and every `ai_mini_summary` None)."""
    cw = join(rows)
    names = {str(s["user_id"]): s.get("display_name") for s in rows.students}
    entries = [
        _student(rows, cw, student_id, short_name(names.get(student_id), n))
        for n, student_id in enumerate(cw.students, start=1)
    ]
    students = [entry for entry, _, _ in entries]
    pairs = _pairs(rows, cw)
    count = len(students)
    chat_total = sum(s["chat_message_count"] for s in students)
    any_attempt = any(w.attempts for _, w in pairs)
    bloom = {
        level: _mean(
            w.best
            for topic, w in pairs
            if w.best is not None and level in cw.levels_of_topic.get(topic or "", [])
        )
        for level in BLOOM_LEVELS
    }
    students.sort(key=lambda s: (_RISK_ORDER[s["risk_level"]], s["avg_score"], s["display_name"]))
    return {
        "generated_at": generated_at,
        "class_summary": {
            "student_count": count,
            "avg_score": _r(_mean(avg for _, avg, _ in entries if avg is not None) or 0.0),
            "completion_rate": _r(_mean(c for _, _, c in entries if c is not None) or 0.0),
            "at_risk_count": at_risk_count(students),
            "avg_chat_messages": _r(chat_total / count) if count else 0.0,
            "is_empty": not any_attempt and chat_total == 0,
        },
        "topics": _topics(rows, cw, pairs),
        "bloom_breakdown": {
            level: None if value is None else _r(value) for level, value in bloom.items()
        },
        "students": students,
        "ai_narrative": None,
    }


async def compute_insights(
    store: Store, class_id: str, *, now: datetime | None = None
) -> dict[str, Any]:
    """The class's insights payload, with `ai_narrative` and every `ai_mini_summary` None."""
    rows = await load_class_rows(store, class_id)
    return build_insights(rows, to_iso(now or utc_now()))

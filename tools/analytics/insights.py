"""A class's insights payload computed from the database alone (SQL for the rows, Python for
the arithmetic); no model touches these numbers.

Rules, where the contract leaves room:
- Students are the class's `student` enrollments, except guest accounts (guests try the product
  from a sandbox inside the demo class; they are not pupils).
- Rows are the platform's: published quiz activities and their assignments, one `submissions`
  row per submitted attempt with a 0-100 `score` (read here as a 0-1 fraction); an attempt a
  student has not submitted has no row. A student's score on an assignment is their best
  submitted score (a later, worse attempt never lowers it); a submitted attempt without a score
  counts towards completion only.
- A student's `avg_score` is the mean of their best scores, 0.0 when they have none;
  `completion_rate` is the share of the class's assignments with a submitted attempt (0.0 when
  the class has no assignments). The class `avg_score` is the mean of the students' averages
  over the students with any score; its `completion_rate` is the mean over all students.
- In `activity_breakdown`, `score` is the best score, 0.0 when nothing scored was submitted: the
  web app charts `score * 100`, so it is never null; `attempts` tells "not attempted" apart.
- Risk and topic status are judged on the rounded (4 decimal) numbers the payload shows, so the
  label always agrees with the number. `at_risk_count` counts `high` and `medium` risk students
  (the contract's rule). A class with no assignments has nothing to fall behind on, so its
  students are `low` risk.
- Topics are the published blueprint's topics that have at least one scored attempt (a topic
  nobody has been assessed on yet is left out rather than shown as a 0.0 "critical" topic);
  activities on topics outside the blueprint still count for students and Bloom levels.
- Students are listed most at risk first (risk, then lowest average, then name).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from tools.clock import to_iso, utc_now
from tools.store.base import Row, Store
from tools.store.classes import is_guest_sql

BLOOM_LEVELS: Final = ("remember", "understand", "apply", "analyze", "evaluate", "create")
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


@dataclass(frozen=True, slots=True)
class _Assignment:
    id: str
    activity_id: str
    title: str
    topic_id: str | None
    bloom_level: str | None


@dataclass(slots=True)
class _Progress:
    """One student's submitted work: best score and attempt count per assignment."""

    best: dict[str, float] = field(default_factory=dict)
    attempts: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class _ClassData:
    students: list[tuple[str, str]]  # (student_id, display name "First L.")
    assignments: list[_Assignment]
    progress: dict[str, _Progress]
    chat_counts: dict[str, int]
    blueprint_topics: list[dict[str, Any]]


async def _load(store: Store, class_id: str) -> _ClassData:
    params = {"c": class_id}
    bloom = "act.config ->> 'bloomLevel'"
    async with store.session() as db:
        student_rows = await db.query(
            "SELECT e.user_id, p.display_name FROM enrollments e"
            " LEFT JOIN profiles p ON p.id = e.user_id"
            " WHERE e.class_id = :c AND e.role = 'student'"
            f" AND NOT {is_guest_sql('e.user_id')}"
            " ORDER BY e.joined_at, e.user_id",
            params,
        )
        # The platform's shapes: published quiz activities, an activity's title on its
        # assignment, its topic a `topics` row of the published blueprint.
        assignment_rows = await db.query(
            f"SELECT asg.id, asg.activity_id, act.title, t.title AS topic_title,"
            f" {bloom} AS bloom_level"
            " FROM assignments asg JOIN activities act ON act.id = asg.activity_id"
            " LEFT JOIN topics t ON t.id = act.topic_id"
            " WHERE asg.class_id = :c AND act.type = 'quiz' AND act.status = 'published'"
            " ORDER BY asg.created_at, asg.id",
            params,
        )
        # Every submission is a submitted attempt; `score` is 0-100.
        attempt_rows = await db.query(
            "SELECT s.student_id, s.assignment_id,"
            " MAX(CAST(s.score AS DOUBLE PRECISION)) / 100 AS best, COUNT(*) AS attempts"
            " FROM submissions s JOIN assignments asg ON asg.id = s.assignment_id"
            " WHERE asg.class_id = :c GROUP BY s.student_id, s.assignment_id",
            params,
        )
        chat_rows = await db.query(
            "SELECT author_user_id, COUNT(*) AS n FROM class_chat_messages"
            " WHERE class_id = :c AND author_kind = 'student' AND author_user_id IS NOT NULL"
            " GROUP BY author_user_id",
            params,
        )
    blueprint = await store.get_published_blueprint(class_id)
    students = [
        (str(row["user_id"]), short_name(row["display_name"], n))
        for n, row in enumerate(student_rows, start=1)
    ]
    enrolled = {student_id for student_id, _ in students}
    progress: dict[str, _Progress] = defaultdict(_Progress)
    for row in attempt_rows:
        student_id = str(row["student_id"])
        if student_id not in enrolled:
            continue
        assignment_id = str(row["assignment_id"])
        progress[student_id].attempts[assignment_id] = int(row["attempts"])
        if row["best"] is not None:
            progress[student_id].best[assignment_id] = float(row["best"])
    topics = blueprint.get("topics") if blueprint else None
    keys = {
        str(t.get("title")): str(t.get("key"))
        for t in topics or []
        if isinstance(t, dict) and t.get("key")
    }
    return _ClassData(
        students=students,
        assignments=[_assignment(row, keys) for row in assignment_rows],
        progress=dict(progress),
        chat_counts=_chat_counts(chat_rows, enrolled),
        blueprint_topics=[t for t in topics or [] if isinstance(t, dict)],
    )


def _assignment(row: Row, topic_keys: Mapping[str, str]) -> _Assignment:
    """An assignment; its topic is named by the blueprint's topic key (matched by title)."""
    topic = row["topic_title"]
    return _Assignment(
        id=str(row["id"]),
        activity_id=str(row["activity_id"]),
        title=str(row["title"]),
        topic_id=topic_keys.get(topic, topic) if topic is not None else None,
        bloom_level=row["bloom_level"],
    )


def _chat_counts(rows: Sequence[Row], enrolled: set[str]) -> dict[str, int]:
    counts = {str(row["author_user_id"]): int(row["n"]) for row in rows}
    return {student_id: n for student_id, n in counts.items() if student_id in enrolled}


def _raw(data: _ClassData, student_id: str) -> tuple[float | None, float]:
    """A student's unrounded mean best score (None without scores) and completion rate."""
    work = data.progress.get(student_id, _Progress())
    total = len(data.assignments)
    return _mean(work.best.values()), len(work.attempts) / total if total else 0.0


def _student(data: _ClassData, student_id: str, name: str) -> dict[str, Any]:
    work = data.progress.get(student_id, _Progress())
    total = len(data.assignments)
    raw_avg, raw_completion = _raw(data, student_id)
    avg, completion = _r(raw_avg or 0.0), _r(raw_completion)
    return {
        "student_id": student_id,
        "display_name": name,
        "avg_score": avg,
        "completion_rate": completion,
        "chat_message_count": data.chat_counts.get(student_id, 0),
        "risk_level": risk_level(avg, completion) if total else "low",
        "activity_breakdown": [
            {
                "activity_id": a.activity_id,
                "title": a.title,
                "score": _r(work.best[a.id]) if a.id in work.best else 0.0,
                "attempts": work.attempts.get(a.id, 0),
            }
            for a in data.assignments
        ],
        "ai_mini_summary": None,
    }


def _best_scores(data: _ClassData) -> list[tuple[_Assignment, float, int]]:
    """Every (assignment, best score, submitted attempts) of an enrolled student."""
    by_id = {a.id: a for a in data.assignments}
    scored = []
    for work in data.progress.values():
        for assignment_id, attempts in work.attempts.items():
            assignment = by_id.get(assignment_id)
            if assignment is not None and assignment_id in work.best:
                scored.append((assignment, work.best[assignment_id], attempts))
    return scored


def _topics(data: _ClassData, scored: list[tuple[_Assignment, float, int]]) -> list[Any]:
    topics: list[dict[str, Any]] = []
    for topic in data.blueprint_topics:
        key = topic.get("key")
        if not isinstance(key, str) or not key:
            continue
        mine = [(best, attempts) for a, best, attempts in scored if a.topic_id == key]
        avg = _mean(best for best, _ in mine)
        if avg is None:
            continue
        levels = {o.get("level") for o in topic.get("objectives") or [] if isinstance(o, dict)}
        topics.append(
            {
                "topic_id": key,
                "title": str(topic.get("title") or key),
                "bloom_levels": [level for level in BLOOM_LEVELS if level in levels],
                "avg_score": _r(avg),
                "attempt_count": sum(attempts for _, attempts in mine),
                "status": topic_status(_r(avg)),
            }
        )
    return topics


def build_insights(data: _ClassData, generated_at: str) -> dict[str, Any]:
    students = [_student(data, student_id, name) for student_id, name in data.students]
    raw = [_raw(data, student_id) for student_id, _ in data.students]
    scored = _best_scores(data)
    count = len(students)
    chat_total = sum(data.chat_counts.values())
    any_submission = any(work.attempts for work in data.progress.values())
    bloom = {
        level: _mean(best for a, best, _ in scored if a.bloom_level == level)
        for level in BLOOM_LEVELS
    }
    students.sort(key=lambda s: (_RISK_ORDER[s["risk_level"]], s["avg_score"], s["display_name"]))
    return {
        "generated_at": generated_at,
        "class_summary": {
            "student_count": count,
            "avg_score": _r(_mean(avg for avg, _ in raw if avg is not None) or 0.0),
            "completion_rate": _r(_mean(completion for _, completion in raw) or 0.0),
            "at_risk_count": at_risk_count(students),
            "avg_chat_messages": _r(chat_total / count) if count else 0.0,
            "is_empty": not any_submission and chat_total == 0,
        },
        "topics": _topics(data, scored),
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
    data = await _load(store, class_id)
    return build_insights(data, to_iso(now or utc_now()))

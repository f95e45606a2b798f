"""A class's assessed work as the platform's tables hold it, reduced to what analytics needs.

The web app writes these rows; stemgraph only reads them (platform-schema.md, sections 1.8-1.14):
- `activities` of type `quiz` and status `published` are what insights assess; each may sit on a
  topic of the published blueprint (`topic_id`, a `topics` row id).
- `assignments` give an activity to the class; `assignment_recipients` lists the students enrolled
  when it was assigned, with their `status` (`assigned`, `in_progress`, `submitted`, `reviewed`).
- `submissions` are quiz attempts: `score` on a 0-100 scale, and in `content` the `mode`
  (`quiz_attempt`) and the `attemptNumber`.

Rules (where the platform leaves room):
- **Best attempt, not the latest.** A student's score on an assignment is the best `score` of
  their quiz attempts, divided by 100: the web app writes `scoringPolicy: best_of_attempts`, and a
  later, worse attempt never lowers it. An attempt without a score counts as an attempt only.
- **Attempts** are the student's `quiz_attempt` submissions to the assignment (the web app writes
  one row per attempt, numbered by `content.attemptNumber`, unique per student and assignment).
  Submissions of another mode (flashcard sessions, chat assignments) are not quiz attempts and are
  ignored, whatever their score.
- **Completion** follows the recipient row: `submitted` or `reviewed` is complete; `assigned` and
  `in_progress` (attempts remain) are not. A student's assigned work is their recipient rows; a
  student enrolled after an assignment was made is not a recipient of it (the platform adds none)
  and is not judged on it.
- Only the class's enrolled students count (`students`); work of anyone else is dropped.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

COMPLETE: Final = frozenset({"submitted", "reviewed"})
QUIZ_ATTEMPT: Final = "quiz_attempt"
BLOOM_LEVELS: Final = ("remember", "understand", "apply", "analyze", "evaluate", "create")

Row = Mapping[str, Any]


def content_of(value: Any) -> dict[str, Any]:
    """A submission's `content` as a dict (jsonb arrives parsed on Postgres, as text on SQLite)."""
    if isinstance(value, str | bytes):
        try:
            value = json.loads(value)
        except ValueError:
            return {}
    return dict(value) if isinstance(value, Mapping) else {}


def is_quiz_attempt(submission: Row) -> bool:
    """Whether a submission is a quiz attempt (`content.mode` is `quiz_attempt`)."""
    return content_of(submission.get("content")).get("mode") == QUIZ_ATTEMPT


def attempt_number(submission: Row) -> int | None:
    """`content.attemptNumber` when it is a positive integer (as the platform's index reads it)."""
    number = content_of(submission.get("content")).get("attemptNumber")
    if isinstance(number, bool) or not isinstance(number, int | float):
        return None
    return int(number) if number >= 1 and float(number).is_integer() else None


def score_fraction(value: Any) -> float | None:
    """A 0-100 `score` as a 0-1 fraction (None for no score; out-of-range values are clamped)."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)  # numeric arrives as Decimal on Postgres
    except (TypeError, ValueError):
        return None
    if not math.isfinite(number):
        return None
    return min(100.0, max(0.0, number)) / 100


@dataclass(frozen=True, slots=True)
class ClassRows:
    """One class's rows, with the platform's column names.

    students: `{user_id, display_name}` of the `student` enrollments, in enrollment order.
    activities: `{id, topic_id, title}` of the published quiz activities, in creation order.
    assignments: `{id, activity_id}` of those activities, in creation order.
    recipients: `{assignment_id, student_id, status}`.
    submissions: `{assignment_id, student_id, score, content}`.
    topics: `{id, title}` of the published blueprint, in `sequence` order.
    objectives: `{topic_id, level}` of those topics.
    chat_counts: messages each student wrote in the class's tutor chat.
    """

    students: Sequence[Row] = ()
    activities: Sequence[Row] = ()
    assignments: Sequence[Row] = ()
    recipients: Sequence[Row] = ()
    submissions: Sequence[Row] = ()
    topics: Sequence[Row] = ()
    objectives: Sequence[Row] = ()
    chat_counts: Mapping[str, int] = field(default_factory=dict)


@dataclass(slots=True)
class Work:
    """One student's work on one assignment."""

    best: float | None = None
    attempts: int = 0
    assigned: bool = False
    complete: bool = False


@dataclass(frozen=True, slots=True)
class Classwork:
    """`ClassRows` joined: each enrolled student's work by assignment, and what each assignment
    assesses."""

    students: list[str]
    activity_of: dict[str, str]  # assignment id -> activity id
    work: dict[str, dict[str, Work]]  # student id -> assignment id -> work
    levels_of_topic: dict[str, list[str]]  # topic id -> Bloom levels, in taxonomy order


def join(rows: ClassRows) -> Classwork:
    """Each enrolled student's best score, attempts and completion per assignment."""
    students = [str(s["user_id"]) for s in rows.students]
    enrolled = set(students)
    activities = {str(a["id"]) for a in rows.activities}
    activity_of = {
        str(a["id"]): str(a["activity_id"])
        for a in rows.assignments
        if str(a["activity_id"]) in activities
    }
    work: dict[str, dict[str, Work]] = {s: defaultdict(Work) for s in students}
    for recipient in rows.recipients:
        student, assignment = str(recipient["student_id"]), str(recipient["assignment_id"])
        if student in enrolled and assignment in activity_of:
            item = work[student][assignment]
            item.assigned = True
            item.complete = str(recipient.get("status")) in COMPLETE
    for submission in rows.submissions:
        student, assignment = str(submission["student_id"]), str(submission["assignment_id"])
        if student not in enrolled or assignment not in activity_of:
            continue
        if not is_quiz_attempt(submission):
            continue
        item = work[student][assignment]
        item.attempts += 1
        score = score_fraction(submission.get("score"))
        if score is not None and (item.best is None or score > item.best):
            item.best = score
    levels: dict[str, set[str]] = defaultdict(set)
    for objective in rows.objectives:
        level = str(objective.get("level") or "").strip().lower()
        if level in BLOOM_LEVELS:
            levels[str(objective["topic_id"])].add(level)
    return Classwork(
        students=students,
        activity_of=activity_of,
        work={s: dict(w) for s, w in work.items()},
        levels_of_topic={
            topic: [level for level in BLOOM_LEVELS if level in found]
            for topic, found in levels.items()
        },
    )

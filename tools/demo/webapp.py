"""Rows written the way the platform's web app writes them (platform-schema.md, section 1).

stemgraph never writes these tables in production: the web app does. The demo class and the
tests use these helpers so that what analytics reads has exactly the platform's shapes:
- a blueprint is published with its `content_json` (schema v2) and one `topics` row per topic
  (ordered by `sequence`, prerequisites patched in as topic ids) with its `objectives` rows;
- a quiz activity starts as a `draft` with the web app's `config` (two attempts, best of
  attempts) and its `quiz_questions` (four choices, the answer being one of them), then is
  published;
- an assignment goes to the whole class: one `assignments` row and one `assignment_recipients`
  row (`assigned`) per student enrolled at that moment;
- each quiz attempt is one `submissions` row, `score` on 0-100 and `content` of mode
  `quiz_attempt` with its `attemptNumber`; the recipient moves to `in_progress` while attempts
  remain and to `submitted` after the last one; a teacher's review sets `reviewed`.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

from tools.demo.rows import insert
from tools.store.base import Session

Backend = Literal["sqlite", "postgres"]
QUIZ_ATTEMPT_LIMIT: Final = 2


def child_id(parent: str, name: str) -> str:
    """A stable id for a row made from another (a topic of a blueprint, a question of a quiz)."""
    return str(uuid.uuid5(uuid.UUID(parent), name))


async def publish_blueprint(
    db: Session,
    *,
    blueprint_id: str,
    class_id: str,
    content: Mapping[str, Any],
    teacher_id: str,
    at: str,
    backend: Backend,
    version: int = 1,
) -> dict[str, str]:
    """A published blueprint with its topics and objectives; returns topic ids by topic key.

    The web app's lifecycle is draft, approved, then published by `publish_blueprint`; this
    writes the outcome of it (a class has at most one published blueprint)."""
    await insert(
        db,
        "blueprints",
        {
            "id": blueprint_id,
            "class_id": class_id,
            "version": version,
            "status": "published",
            "summary": content.get("summary"),
            "created_by": teacher_id,
            "approved_by": teacher_id,
            "published_by": teacher_id,
            "created_at": at,
            "approved_at": at,
            "published_at": at,
            "content_json": dict(content),
            "content_schema_version": "v2",
        },
    )
    topics = [t for t in content.get("topics") or [] if isinstance(t, Mapping)]
    ids = {str(t["key"]): child_id(blueprint_id, f"topic:{t['key']}") for t in topics}
    for topic in topics:
        topic_id = ids[str(topic["key"])]
        await insert(
            db,
            "topics",
            {
                "id": topic_id,
                "blueprint_id": blueprint_id,
                "title": topic["title"],
                "description": topic.get("description"),
                "section": topic.get("section"),
                "sequence": int(topic.get("sequence") or 0),
                "created_at": at,
            },
        )
        for n, objective in enumerate(topic.get("objectives") or []):
            await insert(
                db,
                "objectives",
                {
                    "id": child_id(topic_id, f"objective:{n}"),
                    "topic_id": topic_id,
                    "statement": objective["statement"],
                    "level": objective.get("level"),
                    "created_at": at,
                },
            )
    await _patch_prerequisites(db, topics, ids, backend)
    return ids


async def _patch_prerequisites(
    db: Session, topics: Sequence[Mapping[str, Any]], ids: Mapping[str, str], backend: Backend
) -> None:
    """The web app inserts the topics first, then sets each one's prerequisite topic ids."""
    for topic in topics:
        wanted = [ids[k] for k in topic.get("prerequisites") or [] if k in ids]
        if wanted:
            await db.execute(
                "UPDATE topics SET prerequisite_topic_ids = :p WHERE id = :id",
                {"p": _uuid_array(wanted, backend), "id": ids[str(topic["key"])]},
            )


def _uuid_array(ids: list[str], backend: Backend) -> Any:
    """A `uuid[]` value: a list for Postgres, JSON text for SQLite (which stores it as text)."""
    return ids if backend == "postgres" else json.dumps(ids)


@dataclass(frozen=True, slots=True)
class Question:
    """One quiz question: four choices, `answer` the text of the right one."""

    question: str
    choices: tuple[str, str, str, str]
    answer: str
    explanation: str


async def create_quiz(
    db: Session,
    *,
    activity_id: str,
    class_id: str,
    blueprint_id: str | None,
    topic_id: str | None,
    title: str,
    teacher_id: str,
    questions: Sequence[Question],
    at: str,
    instructions: str = "",
    publish: bool = True,
    attempt_limit: int = QUIZ_ATTEMPT_LIMIT,
) -> None:
    """A quiz activity with its questions, created as a draft and then (by default) published."""
    await insert(
        db,
        "activities",
        {
            "id": activity_id,
            "class_id": class_id,
            "blueprint_id": blueprint_id,
            "topic_id": topic_id,
            "type": "quiz",
            "title": title,
            "config": {
                "mode": "assignment",
                "questionCount": len(questions),
                "attemptLimit": attempt_limit,
                "scoringPolicy": "best_of_attempts",
                "revealPolicy": "after_final_attempt",
                "instructions": instructions,
            },
            "status": "draft",
            "created_by": teacher_id,
            "created_at": at,
        },
    )
    for n, q in enumerate(questions):
        if len(q.choices) != 4 or q.answer not in q.choices:
            raise ValueError(f"question {n + 1} needs four choices, one of them the answer")
        await insert(
            db,
            "quiz_questions",
            {
                "id": child_id(activity_id, f"question:{n}"),
                "activity_id": activity_id,
                "question": q.question,
                "choices": list(q.choices),
                "answer": q.answer,
                "explanation": q.explanation,
                "order_index": n,
            },
        )
    if publish:
        await db.execute(
            "UPDATE activities SET status = 'published' WHERE id = :id", {"id": activity_id}
        )


async def create_activity(
    db: Session,
    *,
    activity_id: str,
    class_id: str,
    kind: str,
    title: str,
    teacher_id: str,
    at: str,
    topic_id: str | None = None,
    config: Mapping[str, Any] | None = None,
) -> None:
    """A published activity of another kind (flashcards, chat) without its content rows."""
    await insert(
        db,
        "activities",
        {
            "id": activity_id,
            "class_id": class_id,
            "topic_id": topic_id,
            "type": kind,
            "title": title,
            "config": dict(config or {"mode": "assignment", "instructions": ""}),
            "status": "published",
            "created_by": teacher_id,
            "created_at": at,
        },
    )


async def assign_to_class(
    db: Session,
    *,
    assignment_id: str,
    class_id: str,
    activity_id: str,
    teacher_id: str,
    student_ids: Sequence[str],
    at: str,
    due_at: str | None = None,
) -> None:
    """A whole-class assignment: the students enrolled now become its recipients."""
    await insert(
        db,
        "assignments",
        {
            "id": assignment_id,
            "class_id": class_id,
            "activity_id": activity_id,
            "assigned_by": teacher_id,
            "due_at": due_at,
            "created_at": at,
        },
    )
    for student_id in student_ids:
        await insert(
            db,
            "assignment_recipients",
            {
                "id": child_id(assignment_id, f"recipient:{student_id}"),
                "assignment_id": assignment_id,
                "student_id": student_id,
                "status": "assigned",
                "assigned_at": at,
            },
        )


async def submit_quiz_attempt(
    db: Session,
    *,
    assignment_id: str,
    activity_id: str,
    student_id: str,
    attempt: int,
    answers: Sequence[str],
    correct: int,
    at: str,
    attempt_limit: int = QUIZ_ATTEMPT_LIMIT,
    max_points: int | None = None,
) -> float:
    """One attempt at a quiz, `correct` points of `max_points` (default: one per answer);
    returns the 0-100 score written."""
    if not 1 <= attempt <= attempt_limit:
        raise ValueError(f"attempt {attempt} is outside 1..{attempt_limit}")
    points = len(answers) if max_points is None else max_points
    if not 0 <= correct <= points:
        raise ValueError(f"{correct} points of {points}")
    percent = round(100 * correct / points, 2) if points else 0.0
    await insert(
        db,
        "submissions",
        {
            "id": child_id(assignment_id, f"attempt:{student_id}:{attempt}"),
            "assignment_id": assignment_id,
            "student_id": student_id,
            "content": {
                "mode": "quiz_attempt",
                "activityId": activity_id,
                "attemptNumber": attempt,
                "answers": list(answers),
                "scoreRaw": correct,
                "scorePercent": percent,
                "maxPoints": points,
                "submittedAt": at,
            },
            "score": percent,
            "submitted_at": at,
        },
    )
    status = "submitted" if attempt >= attempt_limit else "in_progress"
    await set_recipient_status(db, assignment_id, student_id, status)
    return percent


async def set_recipient_status(
    db: Session, assignment_id: str, student_id: str, status: str
) -> None:
    """Move a recipient along (`in_progress`, `submitted`, or a teacher's `reviewed`)."""
    await db.execute(
        "UPDATE assignment_recipients SET status = :st"
        " WHERE assignment_id = :a AND student_id = :s",
        {"st": status, "a": assignment_id, "s": student_id},
    )

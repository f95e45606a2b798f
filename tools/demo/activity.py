"""Realistic class activity for the demo class: activities per blueprint topic, assignments,
quiz attempts and chat use, generated deterministically so analytics evals are reproducible.

Rows are written in the platform's shapes: published quiz activities on the published
blueprint's topics, whole-class assignments with one recipient row per student, and one
submission per finished attempt (0-100 `score`, `content.attemptNumber`). An attempt a student
left unfinished is no submission; their recipient row says `in_progress`. Each activity's Bloom
level rides in `config.bloomLevel` (a stemgraph demo key; the platform's activities carry none).
"""

from __future__ import annotations

import json
import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from tools.clock import to_iso
from tools.demo.blueprint import DEMO_BLUEPRINT_ID
from tools.store.base import ChatMessage, Store
from tools.store.classes import topic_row_id

_NAMESPACE: Final = uuid.UUID("5f0c7d2e-9a44-4b5c-8e61-0d3f2a9b7c11")
BASE_TIME: Final = datetime(2026, 10, 1, 9, 0, tzinfo=UTC)

# (name, ability by topic: forces, energy, atoms, waves; chance of skipping an assignment)
EXTRA_STUDENTS: Final = (
    ("Amara Diallo", (0.92, 0.88, 0.90, 0.86), 0.0),
    ("Ben Carter", (0.55, 0.48, 0.62, 0.50), 0.6),
    ("Chloe Nguyen", (0.81, 0.77, 0.85, 0.74), 0.1),
    ("Dev Patel", (0.70, 0.66, 0.58, 0.63), 0.25),
    ("Elena Rossi", (0.95, 0.91, 0.93, 0.89), 0.0),
    ("Finn O'Brien", (0.45, 0.52, 0.40, 0.47), 0.55),
    ("Grace Kim", (0.78, 0.69, 0.74, 0.71), 0.15),
    ("Hugo Silva", (0.62, 0.57, 0.66, 0.52), 0.35),
    ("Isla Murray", (0.86, 0.80, 0.79, 0.83), 0.05),
    ("Jonah Levi", (0.58, 0.61, 0.49, 0.55), 0.45),
)
# The two seeded students the README names, with profiles of their own.
NAMED_STUDENT_PROFILES: Final = ((0.84, 0.79, 0.72, 0.80), 0.1), ((0.61, 0.55, 0.68, 0.58), 0.3)

# (title, activity type, blueprint topic key, topic index, Bloom level, difficulty)
ACTIVITIES: Final = (
    ("Newton's laws check", "quiz", "forces-and-motion", 0, "remember", 0.00),
    ("Forces calculations", "quiz", "forces-and-motion", 0, "apply", 0.12),
    ("Energy stores quiz", "quiz", "energy-work-power", 1, "understand", 0.03),
    ("Power and efficiency", "quiz", "energy-work-power", 1, "analyze", 0.15),
    ("Atomic structure quiz", "quiz", "atoms-and-bonding", 2, "remember", 0.00),
    ("Bonding quiz", "quiz", "atoms-and-bonding", 2, "understand", 0.10),
    ("Wave basics", "quiz", "waves-and-sound", 3, "understand", 0.02),
    ("Wave equation practice", "quiz", "waves-and-sound", 3, "apply", 0.14),
)


def demo_id(kind: str, name: str) -> str:
    """A stable id for a seeded row, so evals can name it."""
    return str(uuid.uuid5(_NAMESPACE, f"{kind}:{name}"))


async def seed_demo_activity(
    store: Store, class_id: str, named_students: tuple[str, ...], *, teacher_id: str | None = None
) -> None:
    """Students, activities, assignments, attempts and chat use for the demo class."""
    rng = random.Random(20261001)
    students: list[tuple[str, tuple[float, ...], float]] = []
    for (named_abilities, named_skip), student_id in zip(
        NAMED_STUDENT_PROFILES, named_students, strict=True
    ):
        students.append((student_id, named_abilities, named_skip))
    for name, extra_abilities, extra_skip in EXTRA_STUDENTS:
        student_id = demo_id("student", name)
        await store.upsert_profile(student_id, "student", name)
        await store.enroll(class_id, student_id, "student")
        students.append((student_id, extra_abilities, extra_skip))
    klass = await store.get_class(class_id)
    author = teacher_id or (klass.owner_id if klass else "")
    json_cast = "CAST(:{} AS jsonb)" if store.backend == "postgres" else ":{}"

    async with store.transaction() as db:
        for n, (title, kind, topic, _topic_index, level, _difficulty) in enumerate(ACTIVITIES):
            activity_id = demo_id("activity", title)
            assignment_id = demo_id("assignment", title)
            created = BASE_TIME + timedelta(days=5 * n)
            await db.execute(
                "INSERT INTO activities (id, class_id, blueprint_id, topic_id, type, title,"
                " config, status, created_by, created_at) VALUES (:id, :c, :b, :topic, :k, :t,"
                f" {json_cast.format('config')}, 'published', :by, :at)",
                {
                    "id": activity_id,
                    "c": class_id,
                    "b": DEMO_BLUEPRINT_ID,
                    "topic": topic_row_id(DEMO_BLUEPRINT_ID, topic),
                    "k": kind,
                    "t": title,
                    "config": json.dumps(
                        {
                            "mode": "assignment",
                            "questionCount": 5,
                            "attemptLimit": 3,
                            "scoringPolicy": "best_of_attempts",
                            "revealPolicy": "after_final_attempt",
                            "instructions": "",
                            "bloomLevel": level,
                        }
                    ),
                    "by": author,
                    "at": to_iso(created),
                },
            )
            await db.execute(
                "INSERT INTO assignments (id, class_id, activity_id, assigned_by, due_at,"
                " created_at) VALUES (:id, :c, :a, :by, :due, :at)",
                {
                    "id": assignment_id,
                    "c": class_id,
                    "a": activity_id,
                    "by": author,
                    "due": to_iso(created + timedelta(days=7)),
                    "at": to_iso(created),
                },
            )
            await _attempts(db, rng, students, n, assignment_id, activity_id, created, json_cast)

    # The README's named students start with empty chat workspaces; the others have history.
    for index, (student_id, abilities, skip) in enumerate(students):
        if student_id in named_students:
            continue
        questions = int(round(2 + 14 * (1 - skip) * (1 - sum(abilities) / 8) + index % 3))
        if questions <= 0:
            continue
        session = await store.create_session(
            session_id=demo_id("session", student_id),
            class_id=class_id,
            owner_user_id=student_id,
            title="Revision questions",
        )
        messages: list[ChatMessage] = []
        for q in range(questions):
            at = BASE_TIME + timedelta(days=2 + q, hours=index)
            messages.append(
                ChatMessage(
                    id=demo_id("message", f"{student_id}:{q}:q"),
                    session_id=session.id,
                    class_id=class_id,
                    author_user_id=student_id,
                    author_kind="student",
                    content=f"Can you explain part {q + 1} of the last lesson again?",
                    created_at=to_iso(at),
                )
            )
            messages.append(
                ChatMessage(
                    id=demo_id("message", f"{student_id}:{q}:a"),
                    session_id=session.id,
                    class_id=class_id,
                    author_user_id=None,
                    author_kind="assistant",
                    content="Here is the key idea again, step by step [Source 1].",
                    created_at=to_iso(at + timedelta(seconds=20)),
                    safety="ok",
                    provider="offline",
                    model="stemgraph-offline-1",
                )
            )
        await store.append_messages(session.id, messages)


async def _attempts(
    db: Any,
    rng: random.Random,
    students: list[tuple[str, tuple[float, ...], float]],
    n: int,
    assignment_id: str,
    activity_id: str,
    created: datetime,
    json_cast: str,
) -> None:
    """Each student's recipient row and finished attempts on one assignment."""
    title, _kind, _topic, topic_index, _level, difficulty = ACTIVITIES[n]
    for student_id, abilities, skip in students:
        status = "assigned"
        if rng.random() >= skip:
            attempts = 1 + (rng.random() < 0.35) + (rng.random() < 0.15)
            for attempt in range(1, attempts + 1):
                noise = rng.uniform(-0.12, 0.12)
                improvement = 0.06 * (attempt - 1)
                score = abilities[topic_index] - difficulty + noise + improvement
                score = round(min(1.0, max(0.0, score)), 2)
                finished = rng.random() > 0.05 or attempt > 1
                submitted = created + timedelta(days=1 + attempt, hours=rng.randint(0, 20))
                if not finished:
                    status = "in_progress"
                    continue
                status = "submitted"
                percent = round(score * 100, 2)
                await db.execute(
                    "INSERT INTO submissions (id, assignment_id, student_id, content, score,"
                    f" submitted_at) VALUES (:id, :a, :s, {json_cast.format('content')},"
                    " :score, :at)",
                    {
                        "id": demo_id("submission", f"{title}:{student_id}:{attempt}"),
                        "a": assignment_id,
                        "s": student_id,
                        "content": json.dumps(
                            {
                                "mode": "quiz_attempt",
                                "activityId": activity_id,
                                "attemptNumber": attempt,
                                "answers": [],
                                "scoreRaw": round(score * 5, 2),
                                "scorePercent": percent,
                                "maxPoints": 5,
                                "submittedAt": to_iso(submitted),
                            }
                        ),
                        "score": percent,
                        "at": to_iso(submitted),
                    },
                )
        await db.execute(
            "INSERT INTO assignment_recipients (id, assignment_id, student_id, status,"
            " assigned_at) VALUES (:id, :a, :s, :status, :at)",
            {
                "id": demo_id("recipient", f"{title}:{student_id}"),
                "a": assignment_id,
                "s": student_id,
                "status": status,
                "at": to_iso(created),
            },
        )

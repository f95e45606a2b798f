"""The demo class's generated students, published blueprint, coursework and tutor chat use, as
the platform's rows: students through the store (as stemgraph enrols them), the blueprint and
coursework as the web app writes them (`tools.demo.webapp`), chat as stemgraph's tutor writes it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any, Final

from tools.clock import to_iso
from tools.demo.classwork import (
    BASE_TIME,
    EXTRA_STUDENTS,
    NAMED_STUDENT_PROFILES,
    DemoStudent,
    demo_id,
    seed_classwork,
)
from tools.demo.rows import insert
from tools.demo.webapp import Backend, publish_blueprint
from tools.store.base import Session, Store

# The blueprint was published two days before the first quiz.
PUBLISHED_AT: Final = BASE_TIME - timedelta(days=2)


def demo_students(named: Sequence[str]) -> list[DemoStudent]:
    """The README's named students (their ids given) and the ten generated ones."""
    students = [
        DemoStudent(student_id, abilities, skip)
        for (abilities, skip), student_id in zip(NAMED_STUDENT_PROFILES, named, strict=True)
    ]
    students += [
        DemoStudent(demo_id("student", name), abilities, skip)
        for name, abilities, skip in EXTRA_STUDENTS
    ]
    return students


async def seed_demo_students(store: Store, class_id: str) -> None:
    """The ten generated students' profiles and enrollments (after the named ones)."""
    for name, _, _ in EXTRA_STUDENTS:
        student_id = demo_id("student", name)
        await store.upsert_profile(student_id, "student", name)
        await store.enroll(class_id, student_id, "student")


async def seed_demo_coursework(
    db: Session,
    *,
    class_id: str,
    teacher_id: str,
    blueprint_id: str,
    blueprint: dict[str, Any],
    named_students: Sequence[str],
    backend: Backend,
) -> dict[str, str]:
    """The published blueprint, then six weeks of quizzes and attempts; returns topic ids by
    blueprint topic key."""
    topic_ids = await publish_blueprint(
        db,
        blueprint_id=blueprint_id,
        class_id=class_id,
        content=blueprint,
        teacher_id=teacher_id,
        at=to_iso(PUBLISHED_AT),
        backend=backend,
    )
    await seed_classwork(
        db,
        class_id=class_id,
        teacher_id=teacher_id,
        blueprint_id=blueprint_id,
        topic_ids=topic_ids,
        students=demo_students(named_students),
    )
    return topic_ids


async def seed_demo_chat(db: Session, *, class_id: str, named_students: Sequence[str]) -> None:
    """A revision chat for each generated student (the README's named students start with an
    empty workspace): a student message and the tutor's answer per question."""
    for index, student in enumerate(demo_students(named_students)):
        if student.id in named_students:
            continue
        questions = round(
            2 + 14 * (1 - student.skip) * (1 - sum(student.abilities) / 8) + index % 3
        )
        session_id = demo_id("session", student.id)
        first = BASE_TIME + timedelta(days=2, hours=index)
        last = first + timedelta(days=questions - 1, seconds=20)
        await insert(
            db,
            "class_chat_sessions",
            {
                "id": session_id,
                "class_id": class_id,
                "owner_user_id": student.id,
                "title": "Revision questions",
                "last_message_at": to_iso(last),
                "created_at": to_iso(first),
                "updated_at": to_iso(last),
            },
        )
        for q in range(questions):
            at = first + timedelta(days=q)
            await _message(db, class_id, session_id, student.id, q, at=to_iso(at))
            await _message(db, class_id, session_id, None, q, at=to_iso(at + timedelta(seconds=20)))


async def _message(
    db: Session, class_id: str, session_id: str, author: str | None, q: int, *, at: str
) -> None:
    asked = author is not None
    row: dict[str, Any] = {
        "id": demo_id("message", f"{session_id}:{q}:{'q' if asked else 'a'}"),
        "session_id": session_id,
        "class_id": class_id,
        "author_user_id": author,
        "author_kind": "student" if asked else "assistant",
        "content": (
            f"Can you explain part {q + 1} of the last lesson again?"
            if asked
            else "Here is the key idea again, step by step [Source 1]."
        ),
        "citations": [] if asked else [{"sourceLabel": "Source 1"}],
        "created_at": at,
    }
    if not asked:
        row.update({"safety": "ok", "provider": "offline", "model": "stemgraph-offline-1"})
    await insert(db, "class_chat_messages", row)

"""Small classes for analytics tests, written the way the platform writes them: profiles and
enrollments as the auth trigger and stemgraph do, coursework through `tools.demo.webapp`."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from tools.demo.rows import insert
from tools.demo.webapp import (
    Question,
    assign_to_class,
    create_quiz,
    publish_blueprint,
    set_recipient_status,
    submit_quiz_attempt,
)
from tools.store.base import Store

T0 = "2026-11-21T12:00:00.000000Z"
QUESTION = Question("Which one?", ("right", "wrong a", "wrong b", "wrong c"), "right", "Because.")


def new_id() -> str:
    return str(uuid.uuid4())


@dataclass
class HandClass:
    """A class with a teacher, students (ids in enrollment order) and blueprint topic ids."""

    store: Store
    id: str
    teacher: str
    students: list[str]
    topics: dict[str, str] = field(default_factory=dict)
    blueprint: str | None = None
    _clock: int = 0

    def tick(self) -> str:
        """A moment one second after the last one, so creation order is well defined."""
        self._clock += 1
        return f"2026-11-21T12:{self._clock // 60:02d}:{self._clock % 60:02d}.000000Z"

    async def quiz(
        self, title: str, *, topic: str | None = None, attempt_limit: int = 1, assign: bool = True
    ) -> tuple[str, str]:
        """A published one-question quiz assigned to every student; (activity, assignment)."""
        activity, assignment = new_id(), new_id()
        at = self.tick()
        async with self.store.transaction() as db:
            await create_quiz(
                db,
                activity_id=activity,
                class_id=self.id,
                blueprint_id=self.blueprint,
                topic_id=self.topics[topic] if topic else None,
                title=title,
                teacher_id=self.teacher,
                questions=[QUESTION],
                at=at,
                attempt_limit=attempt_limit,
            )
            if assign:
                await assign_to_class(
                    db,
                    assignment_id=assignment,
                    class_id=self.id,
                    activity_id=activity,
                    teacher_id=self.teacher,
                    student_ids=self.students,
                    at=at,
                )
        return activity, assignment

    async def attempt(
        self,
        student: str,
        quiz: tuple[str, str],
        score: float,
        *,
        attempt: int = 1,
        attempt_limit: int = 1,
    ) -> None:
        """One attempt scoring `score` (0-100, in hundredths of a point)."""
        activity, assignment = quiz
        async with self.store.transaction() as db:
            await submit_quiz_attempt(
                db,
                assignment_id=assignment,
                activity_id=activity,
                student_id=student,
                attempt=attempt,
                answers=["right"],
                correct=round(score * 100),
                max_points=10_000,
                at=self.tick(),
                attempt_limit=attempt_limit,
            )

    async def status(self, student: str, quiz: tuple[str, str], status: str) -> None:
        async with self.store.transaction() as db:
            await set_recipient_status(db, quiz[1], student, status)

    async def chat(self, author: str | None, kind: str, count: int = 1) -> None:
        owner = author or self.students[0]
        session = str(uuid.uuid5(uuid.UUID(self.id), f"session:{owner}"))
        async with self.store.transaction() as db:
            found = await db.query(
                "SELECT id FROM class_chat_sessions WHERE id = :s", {"s": session}
            )
            if not found:
                await insert(
                    db,
                    "class_chat_sessions",
                    {
                        "id": session,
                        "class_id": self.id,
                        "owner_user_id": owner,
                        "title": "Help",
                        "last_message_at": T0,
                        "created_at": T0,
                    },
                )
            for _ in range(count):
                await insert(
                    db,
                    "class_chat_messages",
                    {
                        "id": new_id(),
                        "session_id": session,
                        "class_id": self.id,
                        "author_user_id": author,
                        "author_kind": kind,
                        "content": "Why?",
                        "created_at": self.tick(),
                    },
                )


async def add_profile(store: Store, user: str, kind: str, name: str | None) -> None:
    async with store.transaction() as db:
        await insert(db, "profiles", {"id": user, "display_name": name, "account_type": kind})


async def enroll(store: Store, class_id: str, user: str, role: str, at: str = T0) -> None:
    async with store.transaction() as db:
        await insert(
            db,
            "enrollments",
            {"id": new_id(), "class_id": class_id, "user_id": user, "role": role, "joined_at": at},
        )


async def make_class(
    store: Store, students: list[str | None], *, topics: list[str] | None = None
) -> HandClass:
    """A class with a teacher, students (by display name) and, when given, a published blueprint
    whose topics each have one `apply` objective."""
    teacher, class_id = new_id(), new_id()
    await add_profile(store, teacher, "teacher", "Teacher T")
    async with store.transaction() as db:
        await insert(
            db,
            "classes",
            {
                "id": class_id,
                "owner_id": teacher,
                "title": "Hand-built",
                "join_code": new_id()[:8].upper(),
            },
        )
    await enroll(store, class_id, teacher, "teacher")
    made = HandClass(store, class_id, teacher, [])
    for name in students:
        student = new_id()
        await add_profile(store, student, "student", name)
        await enroll(store, class_id, student, "student", made.tick())
        made.students.append(student)
    if topics is not None:
        made.blueprint = new_id()
        content: dict[str, Any] = {
            "schemaVersion": "v2",
            "summary": "Hand-built.",
            "topics": [
                {
                    "key": key,
                    "title": key.title(),
                    "sequence": n,
                    "objectives": [{"statement": "s", "level": "apply"}],
                }
                for n, key in enumerate(topics, start=1)
            ],
        }
        async with store.transaction() as db:
            made.topics = await publish_blueprint(
                db,
                blueprint_id=made.blueprint,
                class_id=class_id,
                content=content,
                teacher_id=teacher,
                at=T0,
                backend=store.backend,
            )
    return made

"""Read one class's assessed work from the platform's tables (what `ClassRows` holds).

The queries read the columns the platform's own backend read for insights (platform-schema.md,
sections 1.3-1.14 and 1.20), always scoped to one class id, with bound parameters only.
"""

from __future__ import annotations

from typing import Final

from tools.analytics.classwork import ClassRows
from tools.store.base import Store
from tools.store.classes import is_guest_sql

# A guest (an anonymous user trying the product) is enrolled as a student of its sandbox's class
# but is not a pupil. Its `profiles` row says `student`; stemgraph knows it from its own guest
# accounts (until the guest signs up in place) and, for guests the web app made, from their
# active sandbox.
NOT_GUEST: Final = (
    f"NOT {is_guest_sql('e.user_id')}"
    " AND NOT EXISTS (SELECT 1 FROM guest_sandboxes sb WHERE sb.user_id = e.user_id"
    " AND sb.status = 'active')"
)
_STUDENTS: Final = (
    "SELECT e.user_id, p.display_name FROM enrollments e"
    " LEFT JOIN profiles p ON p.id = e.user_id"
    f" WHERE e.class_id = :c AND e.role = 'student' AND {NOT_GUEST}"
    " ORDER BY e.joined_at, e.user_id"
)
_QUIZ: Final = "a.type = 'quiz' AND a.status = 'published'"
_ACTIVITIES: Final = (
    "SELECT a.id, a.topic_id, a.title FROM activities a"
    f" WHERE a.class_id = :c AND {_QUIZ} ORDER BY a.created_at, a.id"
)
_ASSIGNMENTS: Final = (
    "SELECT asg.id, asg.activity_id FROM assignments asg"
    " JOIN activities a ON a.id = asg.activity_id"
    f" WHERE asg.class_id = :c AND a.class_id = :c AND {_QUIZ}"
    " ORDER BY asg.created_at, asg.id"
)
_RECIPIENTS: Final = (
    "SELECT r.assignment_id, r.student_id, r.status FROM assignment_recipients r"
    " JOIN assignments asg ON asg.id = r.assignment_id WHERE asg.class_id = :c"
)
_SUBMISSIONS: Final = (
    "SELECT s.assignment_id, s.student_id, s.score, s.content FROM submissions s"
    " JOIN assignments asg ON asg.id = s.assignment_id WHERE asg.class_id = :c"
)
# The published blueprint: at most one per class (the platform's unique partial index).
_PUBLISHED: Final = "b.class_id = :c AND b.status = 'published'"
_TOPICS: Final = (
    "SELECT t.id, t.title FROM topics t JOIN blueprints b ON b.id = t.blueprint_id"
    f" WHERE {_PUBLISHED} ORDER BY t.sequence, t.id"
)
_OBJECTIVES: Final = (
    "SELECT o.topic_id, o.level FROM objectives o JOIN topics t ON t.id = o.topic_id"
    f" JOIN blueprints b ON b.id = t.blueprint_id WHERE {_PUBLISHED}"
)
_CHAT: Final = (
    "SELECT author_user_id, COUNT(*) AS n FROM class_chat_messages"
    " WHERE class_id = :c AND author_kind = 'student' AND author_user_id IS NOT NULL"
    " GROUP BY author_user_id"
)


async def load_class_rows(store: Store, class_id: str) -> ClassRows:
    """The class's students, published quizzes, assignments, recipients, submissions, blueprint
    topics and objectives, and chat counts, in one read session."""
    params = {"c": class_id}
    async with store.session() as db:
        students = await db.query(_STUDENTS, params)
        activities = await db.query(_ACTIVITIES, params)
        assignments = await db.query(_ASSIGNMENTS, params)
        recipients = await db.query(_RECIPIENTS, params)
        submissions = await db.query(_SUBMISSIONS, params)
        topics = await db.query(_TOPICS, params)
        objectives = await db.query(_OBJECTIVES, params)
        chat = await db.query(_CHAT, params)
    return ClassRows(
        students=students,
        activities=activities,
        assignments=assignments,
        recipients=recipients,
        submissions=submissions,
        topics=topics,
        objectives=objectives,
        chat_counts={str(row["author_user_id"]): int(row["n"]) for row in chat},
    )

"""Insights over rows written the way the web app writes them, on both backends, checked against
numbers worked out by hand (the arithmetic is in the comments)."""

from __future__ import annotations

import uuid
from typing import Any

from tools.analytics import compute_insights
from tools.demo.rows import insert
from tools.demo.webapp import (
    Backend,
    Question,
    assign_to_class,
    create_activity,
    create_quiz,
    publish_blueprint,
    set_recipient_status,
    submit_quiz_attempt,
)
from tools.store.base import Session, Store

NS = uuid.UUID("0b9a4c1e-12d3-4f56-8a7b-9c0d1e2f3a4b")
T0 = "2026-10-01T09:00:00.000000Z"
LATER = "2026-10-20T09:00:00.000000Z"


def uid(name: str) -> str:
    return str(uuid.uuid5(NS, name))


TEACHER, ANA, BEN, CARA, DAN, GUEST, GUEST2 = (
    uid(n) for n in ("teacher", "ana", "ben", "cara", "dan", "guest", "guest2")
)
CLASS, OTHER_CLASS = uid("class"), uid("other-class")
BLUEPRINT = uid("blueprint")
Q1, Q2, Q3, Q4, F1 = (uid(n) for n in ("q1", "q2", "q3", "q4", "f1"))
G1, G2, G3 = (uid(n) for n in ("g1", "g2", "g3"))
QUESTIONS = [
    Question(f"Question {n}?", ("right", "wrong a", "wrong b", "wrong c"), "right", "Because.")
    for n in range(1, 6)
]
CONTENT = {
    "schemaVersion": "v2",
    "summary": "Forces, energy and waves.",
    "topics": [
        {
            "key": "forces",
            "title": "Forces",
            "sequence": 1,
            "prerequisites": [],
            "objectives": [
                {"statement": "Recall Newton's laws.", "level": "remember"},
                {"statement": "Use F = ma.", "level": "Apply "},  # read lower-cased, trimmed
            ],
        },
        {
            "key": "energy",
            "title": "Energy",
            "sequence": 2,
            "prerequisites": ["forces"],
            "objectives": [
                {"statement": "Describe energy stores.", "level": "understand"},
                {"statement": "Synthesise ideas.", "level": "synthesis"},  # not a Bloom level
            ],
        },
        {
            "key": "waves",
            "title": "Waves",
            "sequence": 3,
            "prerequisites": [],
            "objectives": [{"statement": "Compare waves.", "level": "analyze"}],
        },
    ],
}


async def people(db: Session) -> None:
    """Profiles (the auth trigger's rows), the class and its enrollments (stemgraph's rows)."""
    for user, name, kind in (
        (TEACHER, "Tess Teacher", "teacher"),
        (ANA, "Ana Lima", "student"),
        (BEN, "Ben Ode", "student"),
        (CARA, "Cara Diaz", "student"),
        (DAN, "Dan Late", "student"),
        (GUEST, None, "student"),  # an anonymous guest gets a student profile
        (GUEST2, None, "student"),
    ):
        await insert(db, "profiles", {"id": user, "display_name": name, "account_type": kind})
    for class_id, code in ((CLASS, "HAND01"), (OTHER_CLASS, "HAND02")):
        await insert(
            db,
            "classes",
            {"id": class_id, "owner_id": TEACHER, "title": "Hand-built", "join_code": code},
        )
        await insert(
            db,
            "enrollments",
            {
                "id": uid(f"{class_id}:t"),
                "class_id": class_id,
                "user_id": TEACHER,
                "role": "teacher",
                "joined_at": T0,
            },
        )
    for n, student in enumerate((ANA, BEN, CARA, GUEST, GUEST2)):
        await insert(
            db,
            "enrollments",
            {
                "id": uid(f"e{n}"),
                "class_id": CLASS,
                "user_id": student,
                "role": "student",
                "joined_at": f"2026-10-01T09:00:0{n}.000000Z",
            },
        )
    await insert(
        db,
        "guest_sandboxes",
        {
            "id": uid("sandbox"),
            "user_id": GUEST,
            "class_id": CLASS,
            "status": "active",
            "guest_role": "student",
        },
    )
    # A guest stemgraph made itself (its own guest accounts), without an active sandbox.
    await insert(db, "stemgraph_guest_accounts", {"user_id": GUEST2})


async def attempt(db: Session, g: str, quiz: str, student: str, n: int, correct: int) -> None:
    answers = ["right"] * correct + ["wrong a"] * (5 - correct)
    await submit_quiz_attempt(
        db,
        assignment_id=g,
        activity_id=quiz,
        student_id=student,
        attempt=n,
        answers=answers,
        correct=correct,
        at=T0,
    )


async def coursework(db: Session, backend: Backend) -> None:
    topics = await publish_blueprint(
        db,
        blueprint_id=BLUEPRINT,
        class_id=CLASS,
        content=CONTENT,
        teacher_id=TEACHER,
        at=T0,
        backend=backend,
    )
    quiz = {"class_id": CLASS, "blueprint_id": BLUEPRINT, "teacher_id": TEACHER, "at": T0}
    await create_quiz(
        db,
        activity_id=Q1,
        topic_id=topics["forces"],
        title="Forces quiz",
        questions=QUESTIONS,
        **quiz,
    )
    # Created a minute later: the breakdown lists quizzes in creation order.
    await create_quiz(
        db,
        activity_id=Q2,
        topic_id=topics["energy"],
        title="Energy quiz",
        questions=QUESTIONS,
        **{**quiz, "at": T0.replace("09:00:00", "09:01:00")},
    )
    # A draft and a published quiz nobody was assigned: neither appears anywhere.
    await create_quiz(
        db,
        activity_id=Q3,
        topic_id=topics["waves"],
        title="Draft quiz",
        questions=QUESTIONS,
        publish=False,
        **quiz,
    )
    await create_quiz(
        db,
        activity_id=Q4,
        topic_id=topics["forces"],
        title="Unassigned quiz",
        questions=QUESTIONS,
        **quiz,
    )
    await create_activity(
        db,
        activity_id=F1,
        class_id=CLASS,
        kind="flashcards",
        title="Forces cards",
        teacher_id=TEACHER,
        at=T0,
        topic_id=topics["forces"],
    )
    roster = [ANA, BEN, CARA, GUEST, GUEST2]  # Dan enrols later: no recipient rows for him
    for g, activity in ((G1, Q1), (G2, Q2), (G3, F1)):
        await assign_to_class(
            db,
            assignment_id=g,
            class_id=CLASS,
            activity_id=activity,
            teacher_id=TEACHER,
            student_ids=roster,
            at=T0,
        )
    await insert(
        db,
        "enrollments",
        {
            "id": uid("e-dan"),
            "class_id": CLASS,
            "user_id": DAN,
            "role": "student",
            "joined_at": LATER,
        },
    )
    # Five questions each, so a score is 20 points per right answer.
    await attempt(db, G1, Q1, ANA, 1, 4)  # 80
    await attempt(db, G1, Q1, ANA, 2, 3)  # 60: later and worse, the best (80) stands
    await set_recipient_status(db, G1, ANA, "reviewed")  # the teacher reviewed it
    await attempt(db, G2, Q2, ANA, 1, 5)  # 100, one attempt left: in_progress
    await attempt(db, G1, Q1, BEN, 1, 2)  # 40
    await attempt(db, G1, Q1, BEN, 2, 3)  # 60: best, last attempt: submitted
    await attempt(db, G1, Q1, CARA, 1, 2)  # 40, in_progress
    await attempt(db, G2, Q2, CARA, 1, 3)  # 60, in_progress
    await attempt(db, G1, Q1, GUEST, 1, 5)  # a guest's 100: not a pupil, ignored
    await attempt(db, G2, Q2, GUEST, 1, 5)
    await attempt(db, G1, Q1, GUEST2, 1, 0)  # the other guest's 0: ignored too
    # A flashcards session with a score: not a quiz attempt, ignored.
    await insert(
        db,
        "submissions",
        {
            "id": uid("cards"),
            "assignment_id": G3,
            "student_id": ANA,
            "score": 100,
            "submitted_at": T0,
            "content": {
                "mode": "flashcards_session",
                "activityId": F1,
                "sessionNumber": 1,
                "scorePercent": 100,
            },
        },
    )
    await set_recipient_status(db, G3, ANA, "submitted")


async def elsewhere(db: Session) -> None:
    """Ana's zero in another class must not reach this class's numbers."""
    await insert(
        db,
        "enrollments",
        {
            "id": uid("e-other"),
            "class_id": OTHER_CLASS,
            "user_id": ANA,
            "role": "student",
            "joined_at": T0,
        },
    )
    other_quiz, other_g = uid("other-quiz"), uid("other-g")
    await create_quiz(
        db,
        activity_id=other_quiz,
        class_id=OTHER_CLASS,
        blueprint_id=None,
        topic_id=None,
        title="Other quiz",
        teacher_id=TEACHER,
        questions=QUESTIONS,
        at=T0,
    )
    await assign_to_class(
        db,
        assignment_id=other_g,
        class_id=OTHER_CLASS,
        activity_id=other_quiz,
        teacher_id=TEACHER,
        student_ids=[ANA],
        at=T0,
    )
    await attempt(db, other_g, other_quiz, ANA, 1, 0)


async def chat(db: Session) -> None:
    """Ana wrote 3 messages, Cara 1; the teacher's and the assistant's do not count."""
    for n, (author, kind) in enumerate(
        [(ANA, "student")] * 3 + [(CARA, "student"), (TEACHER, "teacher"), (None, "assistant")]
    ):
        owner = author or ANA
        session = uid(f"session:{owner}")
        if n in (0, 3, 4):
            await insert(
                db,
                "class_chat_sessions",
                {
                    "id": session,
                    "class_id": CLASS,
                    "owner_user_id": owner,
                    "title": "Help",
                    "last_message_at": T0,
                    "created_at": T0,
                },
            )
        await insert(
            db,
            "class_chat_messages",
            {
                "id": uid(f"m{n}"),
                "session_id": session,
                "class_id": CLASS,
                "author_user_id": author,
                "author_kind": kind,
                "content": "Why?",
                "created_at": T0,
            },
        )


def activity(quiz: str, title: str, score: float, attempts: int) -> dict[str, Any]:
    return {"activity_id": quiz, "title": title, "score": score, "attempts": attempts}


async def test_insights_match_a_hand_computation(store: Store) -> None:
    async with store.transaction() as db:
        await people(db)
        await coursework(db, store.backend)
        await elsewhere(db)
        await chat(db)
    payload = await compute_insights(store, CLASS)
    forces, energy = (
        str(uuid.uuid5(uuid.UUID(BLUEPRINT), f"topic:{k}")) for k in ("forces", "energy")
    )
    assert payload["class_summary"] == {
        "student_count": 4,  # Ana, Ben, Cara, Dan; the guests are not pupils
        # student averages of best scores: Ana (0.80 + 1.00) / 2 = 0.90, Ben 0.60,
        # Cara (0.40 + 0.60) / 2 = 0.50, Dan none -> (0.90 + 0.60 + 0.50) / 3 = 0.6667
        "avg_score": 0.6667,
        # complete recipients / recipients: Ana 1/2 (reviewed, in_progress), Ben 1/2
        # (submitted, assigned), Cara 0/2, Dan has none -> (0.5 + 0.5 + 0) / 3 = 0.3333
        "completion_rate": 0.3333,
        "at_risk_count": 2,  # Cara high (0.50 < 0.6 and 0 < 0.5), Ben medium (0.60 < 0.7)
        "avg_chat_messages": 1.0,  # (3 + 0 + 1 + 0) / 4
        "is_empty": False,
    }
    assert payload["topics"] == [
        # Forces quiz best scores: Ana 0.80, Ben 0.60, Cara 0.40 -> 1.80 / 3 = 0.60 (warning:
        # not below 0.60); attempts 2 + 2 + 1 = 5
        {
            "topic_id": forces,
            "title": "Forces",
            "bloom_levels": ["remember", "apply"],
            "avg_score": 0.6,
            "attempt_count": 5,
            "status": "warning",
        },
        # Energy quiz: Ana 1.00, Cara 0.60 -> 1.60 / 2 = 0.80 (good); attempts 1 + 1 = 2
        {
            "topic_id": energy,
            "title": "Energy",
            "bloom_levels": ["understand"],
            "avg_score": 0.8,
            "attempt_count": 2,
            "status": "good",
        },
        # Waves: only a draft quiz, nothing scored -> left out
    ]
    assert payload["bloom_breakdown"] == {
        "remember": 0.6,  # the Forces pairs: (0.80 + 0.60 + 0.40) / 3
        "understand": 0.8,  # the Energy pairs: (1.00 + 0.60) / 2
        "apply": 0.6,  # Forces again
        "analyze": None,  # Waves has no scored work
        "evaluate": None,
        "create": None,
    }
    students = payload["students"]
    # Most at risk first: Cara (high), Ben (medium), then low by average: Dan 0.0, Ana 0.90.
    assert [s["student_id"] for s in students] == [CARA, BEN, DAN, ANA]
    assert [
        (
            s["display_name"],
            s["avg_score"],
            s["completion_rate"],
            s["chat_message_count"],
            s["risk_level"],
        )
        for s in students
    ] == [
        ("Cara D.", 0.5, 0.0, 1, "high"),
        ("Ben O.", 0.6, 0.5, 0, "medium"),
        ("Dan L.", 0.0, 0.0, 0, "low"),  # nothing assigned to him: nothing to fall behind on
        ("Ana L.", 0.9, 0.5, 3, "low"),
    ]
    assert [s["activity_breakdown"] for s in students] == [
        [activity(Q1, "Forces quiz", 0.4, 1), activity(Q2, "Energy quiz", 0.6, 1)],
        [activity(Q1, "Forces quiz", 0.6, 2), activity(Q2, "Energy quiz", 0.0, 0)],
        [activity(Q1, "Forces quiz", 0.0, 0), activity(Q2, "Energy quiz", 0.0, 0)],
        [activity(Q1, "Forces quiz", 0.8, 2), activity(Q2, "Energy quiz", 1.0, 1)],
    ]
    assert all(s["ai_mini_summary"] is None for s in students)
    assert payload["ai_narrative"] is None

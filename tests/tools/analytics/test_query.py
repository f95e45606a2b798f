"""Structured data queries: the allowlist, name resolution, and the numbers on both backends."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date
from typing import Any

import pytest

from tools.analytics.query import (
    Catalog,
    DataQuery,
    Named,
    QueryError,
    load_catalog,
    parse_query,
    run_query,
)
from tools.demo.rows import insert
from tools.demo.webapp import (
    Question,
    assign_to_class,
    create_activity,
    create_quiz,
    publish_blueprint,
    set_recipient_status,
    submit_quiz_attempt,
)
from tools.store.base import Session, Store
from tools.store.classes import topic_row_id

OPTICS = "0b7c0000-0000-4000-8000-00000000000a"
RIVAL = "0b7c0000-0000-4000-8000-00000000000b"
# (key, title, Bloom levels of its objectives)
TOPICS = (
    ("light", "Light and optics", ("remember", "understand")),
    ("lenses", "Lenses", ("apply",)),
)
# (title, activity type, topic key, due date); quizzes allow two attempts
ACTIVITIES = (
    ("Reflection quiz", "quiz", "light", "2026-03-03"),
    ("Refraction quiz", "quiz", "light", "2026-03-10"),
    ("Lens drawing", "flashcards", "lenses", "2026-03-17"),
)
# (student, activity, attempt or flashcard session number, score 0-100, day submitted)
Attempt = tuple[str, str, int, float, str]
ATTEMPTS: tuple[Attempt, ...] = (
    ("Sam Lee", "Reflection quiz", 1, 50, "2026-03-02"),
    ("Sam Lee", "Reflection quiz", 2, 90, "2026-03-04"),  # last attempt: submitted
    ("Sam Lee", "Refraction quiz", 1, 70, "2026-03-09"),  # one attempt left: in progress
    ("Sam Lee", "Lens drawing", 1, 70, "2026-03-16"),  # a flashcards session: submitted
    ("Ana Ruiz", "Reflection quiz", 1, 60, "2026-03-02"),  # reviewed by the teacher below
    ("Ana Ruiz", "Refraction quiz", 1, 80, "2026-03-09"),
    ("Ana Ruiz", "Refraction quiz", 2, 75, "2026-03-10"),
    ("Guest", "Reflection quiz", 1, 100, "2026-03-02"),
)
REVIEWED = (("Ana Ruiz", "Reflection quiz"),)
# (author, day) of a student's message to the tutor
CHAT: tuple[tuple[str, str], ...] = (
    ("Sam Lee", "2026-03-02"),
    ("Sam Lee", "2026-03-02"),
    ("Sam Lee", "2026-03-11"),
    ("Ana Ruiz", "2026-03-10"),
    ("Guest", "2026-03-02"),
)
STUDENTS = ("Sam Lee", "Ana Ruiz", "Kai Moss")
# Another class with the same names and titles and very different numbers.
RIVAL_ATTEMPTS: tuple[Attempt, ...] = (
    ("Sam Lee", "Reflection quiz", 1, 10, "2026-03-02"),
    ("Zed Quinn", "Lens drawing", 1, 5, "2026-03-16"),
    ("Zed Quinn", "Refraction quiz", 1, 2, "2026-03-09"),
)
QUESTION = Question("Which?", ("right", "wrong a", "wrong b", "wrong c"), "right", "Because.")


def sid(class_id: str, name: str) -> str:
    return str(uuid.uuid5(uuid.UUID(class_id), name))


async def _people(db: Session, class_id: str, teacher_id: str, students: Sequence[str]) -> None:
    """The teacher (whose profile may exist already), the students and a guest: a "Guest" is an
    anonymous user stemgraph made (a `student` profile and a guest account)."""
    known = await db.query("SELECT id FROM profiles WHERE id = :t", {"t": teacher_id})
    if not known:
        await insert(db, "profiles", {"id": teacher_id, "account_type": "teacher"})
    await insert(
        db,
        "classes",
        {"id": class_id, "owner_id": teacher_id, "title": "Optics", "join_code": class_id[-8:]},
    )
    members = [(teacher_id, "teacher")] + [(sid(class_id, n), "student") for n in students]
    for name in (*students, "Guest"):
        await insert(
            db,
            "profiles",
            {"id": sid(class_id, name), "display_name": name, "account_type": "student"},
        )
    await insert(db, "stemgraph_guest_accounts", {"user_id": sid(class_id, "Guest")})
    for user, role in [*members, (sid(class_id, "Guest"), "student")]:
        await insert(
            db,
            "enrollments",
            {
                "id": sid(class_id, f"enrollment {user}"),
                "class_id": class_id,
                "user_id": user,
                "role": role,
            },
        )


async def _coursework(db: Session, class_id: str, teacher_id: str, backend: Any) -> list[str]:
    """The blueprint and `ACTIVITIES`, assigned to every student enrolled (the guest too)."""
    blueprint = sid(class_id, "blueprint")
    content = {
        "schemaVersion": "v2",
        "topics": [
            {
                "key": key,
                "title": title,
                "sequence": n,
                "objectives": [{"statement": "s", "level": level} for level in levels],
            }
            for n, (key, title, levels) in enumerate(TOPICS, start=1)
        ],
    }
    topics = await publish_blueprint(
        db,
        blueprint_id=blueprint,
        class_id=class_id,
        content=content,
        teacher_id=teacher_id,
        at="2026-02-28T08:00:00.000000Z",
        backend=backend,
    )
    roster = [
        str(r["user_id"])
        for r in await db.query(
            "SELECT user_id FROM enrollments WHERE class_id = :c AND role = 'student'",
            {"c": class_id},
        )
    ]
    for n, (title, kind, topic, due) in enumerate(ACTIVITIES):
        at = f"2026-03-0{n + 1}T08:00:00.000000Z"
        common = {
            "activity_id": sid(class_id, title),
            "class_id": class_id,
            "title": title,
            "teacher_id": teacher_id,
            "at": at,
            "topic_id": topics[topic],
        }
        if kind == "quiz":
            await create_quiz(db, blueprint_id=blueprint, questions=[QUESTION], **common)
        else:
            await create_activity(db, kind=kind, **common)
        await assign_to_class(
            db,
            assignment_id=sid(class_id, f"assignment {title}"),
            class_id=class_id,
            activity_id=sid(class_id, title),
            teacher_id=teacher_id,
            student_ids=roster,
            at=at,
            due_at=f"{due}T17:00:00.000000Z",
        )
    return roster


async def _work(db: Session, class_id: str, attempts: Sequence[Attempt]) -> None:
    kinds = {title: kind for title, kind, _, _ in ACTIVITIES}
    for name, title, number, score, day in attempts:
        student, assignment = sid(class_id, name), sid(class_id, f"assignment {title}")
        at = f"{day}T10:00:00.000000Z"
        if kinds[title] == "quiz":
            await submit_quiz_attempt(
                db,
                assignment_id=assignment,
                activity_id=sid(class_id, title),
                student_id=student,
                attempt=number,
                answers=["right"],
                correct=round(score),
                max_points=100,
                at=at,
            )
            continue
        await insert(
            db,
            "submissions",
            {
                "id": sid(class_id, f"{name}:{title}:{number}"),
                "assignment_id": assignment,
                "student_id": student,
                "score": score,
                "submitted_at": at,
                "content": {
                    "mode": "flashcards_session",
                    "activityId": sid(class_id, title),
                    "sessionNumber": number,
                    "scorePercent": score,
                    "submittedAt": at,
                },
            },
        )
        await set_recipient_status(db, assignment, student, "submitted")


async def _chat(db: Session, class_id: str, chat: Sequence[tuple[str, str]]) -> None:
    for n, (name, day) in enumerate(chat):
        session = sid(class_id, f"session {n}")
        await insert(
            db,
            "class_chat_sessions",
            {
                "id": session,
                "class_id": class_id,
                "owner_user_id": sid(class_id, name),
                "title": "Questions",
            },
        )
        for m, (author, kind, at) in enumerate(
            [(sid(class_id, name), "student", "12:00:00"), (None, "assistant", "12:00:05")]
        ):
            await insert(
                db,
                "class_chat_messages",
                {
                    "id": sid(class_id, f"message {n}:{m}"),
                    "session_id": session,
                    "class_id": class_id,
                    "author_user_id": author,
                    "author_kind": kind,
                    "content": "Why?" if author else "Because.",
                    "created_at": f"{day}T{at}.000000Z",
                },
            )


async def seed_class(
    store: Store,
    class_id: str,
    *,
    students: Sequence[str],
    attempts: Sequence[Attempt],
    chat: Sequence[tuple[str, str]] = (),
    reviewed: Sequence[tuple[str, str]] = (),
    teacher: str | None = None,
) -> str:
    """A class with a published blueprint, `ACTIVITIES` assigned to the whole class, and the
    given people and work, written the way the web app writes them. Returns the teacher's id."""
    teacher_id = teacher or sid(class_id, "teacher")
    async with store.transaction() as db:
        await _people(db, class_id, teacher_id, students)
        await _coursework(db, class_id, teacher_id, store.backend)
        await _work(db, class_id, attempts)
        for name, title in reviewed:
            await set_recipient_status(
                db, sid(class_id, f"assignment {title}"), sid(class_id, name), "reviewed"
            )
        await _chat(db, class_id, chat)
    return teacher_id


@pytest.fixture
async def optics(store: Store) -> Store:
    """The optics class and a rival class that shares its names, on each backend."""
    await seed_class(
        store, OPTICS, students=STUDENTS, attempts=ATTEMPTS, chat=CHAT, reviewed=REVIEWED
    )
    await seed_class(
        store,
        RIVAL,
        students=("Sam Lee", "Zed Quinn"),
        attempts=RIVAL_ATTEMPTS,
        chat=(("Zed Quinn", "2026-03-02"),) * 3,
    )
    return store


async def ask(store: Store, class_id: str = OPTICS, **query: Any) -> list[tuple[str, float]]:
    return await run_query(store, class_id, parse_query(query))


CATALOG = Catalog(
    topics=(Named("light", "Light and optics"), Named("lenses", "Lenses")),
    activities=(
        Named("a1", "Reflection quiz"),
        Named("a2", "Refraction quiz"),
        Named("a3", "Lens drawing"),
    ),
    students=(Named("s1", "Sam Lee"), Named("s2", "Ana Ruiz"), Named("s3", "Kai Moss")),
)


def errors_of(obj: Any, catalog: Catalog | None = None) -> list[str]:
    with pytest.raises(QueryError) as caught:
        parse_query(obj, catalog)
    return caught.value.errors


def test_a_minimal_query_gets_the_defaults() -> None:
    query = parse_query({"metric": "avg_score", "group_by": None, "filters": None})
    assert query == DataQuery(metric="avg_score")
    assert (query.group_by, query.order, query.limit, query.chart_type) == ("none", None, 8, None)
    assert parse_query(query) is query
    full = parse_query(
        {
            "metric": "chat_messages",
            "group_by": "week",
            "order": "desc",
            "limit": 3,
            "chart_type": "line",
            "filters": {"student": "Sam", "since": "2026-03-01", "until": "2026-03-31"},
        }
    )
    assert full.filters.since == date(2026, 3, 1) and full.limit == 3


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        ({"metric": "salary"}, "`metric`"),
        ({"metric": "avg_score", "group_by": "class"}, "`group_by`"),
        ({"metric": "avg_score", "class_id": "x"}, "`class_id` is not an allowed field"),
        ({"metric": "avg_score", "sql": "SELECT 1"}, "`sql` is not an allowed field"),
        ({"metric": "avg_score", "filters": {"class": "B"}}, "`filters.class` is not an allowed"),
        ({"metric": "avg_score", "limit": 1}, "`limit`"),
        ({"metric": "avg_score", "limit": 9}, "`limit`"),
        ({"metric": "avg_score", "order": "random"}, "`order`"),
        ({"metric": "avg_score", "chart_type": "radar"}, "`chart_type`"),
        ({"metric": "avg_score", "filters": {"min_score": 120}}, "`filters.min_score`"),
        ({"metric": "avg_score", "filters": {"since": "last tuesday"}}, "`filters.since`"),
        ({"metric": "attempt_count", "filters": {"max_score": 50}}, "avg_score metric only"),
        ({"metric": "avg_score", "filters": {"min_score": 80, "max_score": 20}}, "not be above"),
        (
            {"metric": "avg_score", "filters": {"since": "2026-03-09", "until": "2026-03-01"}},
            "not be after",
        ),
        ({"metric": "chat_messages", "group_by": "topic"}, "student, week or none"),
        ({"metric": "chat_messages", "filters": {"activity": "Lens drawing"}}, "topic or activity"),
        ({"metric": "student_count", "group_by": "student"}, "cannot be grouped by student"),
        ({}, "`metric`"),
    ],
)
def test_the_allowlist_is_enforced_with_readable_errors(obj: Any, expected: str) -> None:
    assert any(expected in error for error in errors_of(obj)), errors_of(obj)


def test_every_problem_is_reported_at_once_and_non_objects_are_refused() -> None:
    assert len(errors_of({"metric": "x", "group_by": "y", "limit": 0})) == 3
    assert errors_of(["avg_score"]) == ["The query must be a JSON object."]
    assert errors_of("avg_score per topic") == ["The query must be a JSON object."]


def test_names_resolve_against_the_class() -> None:
    query = parse_query(
        {
            "metric": "avg_score",
            "filters": {"topic": "LENSES", "activity": "the reflection quiz", "student": "sam"},
        },
        CATALOG,
    )
    assert query.filters.topic == "lenses"  # a topic resolves to its key
    assert query.filters.activity == "Reflection quiz"
    assert query.filters.student == "Sam Lee"
    by_title = parse_query(
        {"metric": "avg_score", "filters": {"topic": "Light and optics"}}, CATALOG
    )
    assert by_title.filters.topic == "light"


def test_unknown_or_ambiguous_names_are_errors_that_never_list_students() -> None:
    [topic] = errors_of({"metric": "avg_score", "filters": {"topic": "gravity"}}, CATALOG)
    assert "matches no topic" in topic and "Light and optics, Lenses" in topic
    [activity] = errors_of({"metric": "avg_score", "filters": {"activity": "quiz"}}, CATALOG)
    assert "activity" in activity
    [several] = errors_of({"metric": "avg_score", "filters": {"activity": "refl OR 1=1"}}, CATALOG)
    assert "matches no activity" in several
    [student] = errors_of({"metric": "avg_score", "filters": {"student": "Zed"}}, CATALOG)
    assert "matches no student" in student
    assert not any(name in student for name in ("Sam", "Ana", "Kai"))
    twins = Catalog(students=(Named("1", "Jo Park"), Named("2", "Jo Smith")))
    [ambiguous] = errors_of({"metric": "avg_score", "filters": {"student": "Jo"}}, twins)
    assert "matches several" in ambiguous and "Park" not in ambiguous


def test_the_catalog_round_trips_through_plain_data() -> None:
    assert Catalog.from_dict(CATALOG.as_dict()) == CATALOG
    assert Catalog.from_dict({}) == Catalog()


async def test_the_catalog_holds_the_class_names_only(optics: Store) -> None:
    catalog = await load_catalog(optics, OPTICS)
    # Topics are named by their blueprint keys and read through their `topics` rows.
    assert [(t.id, t.name) for t in catalog.topics] == [
        ("light", "Light and optics"),
        ("lenses", "Lenses"),
    ]
    assert catalog.topic_rows == {
        "light": topic_row_id(sid(OPTICS, "blueprint"), "light"),
        "lenses": topic_row_id(sid(OPTICS, "blueprint"), "lenses"),
    }
    assert Catalog.from_dict(catalog.as_dict()) == catalog
    assert [a.name for a in catalog.activities] == [a[0] for a in ACTIVITIES]
    assert sorted(s.name for s in catalog.students) == sorted(STUDENTS)  # no guest, no Zed
    assert {a.id for a in catalog.activities}.isdisjoint(
        a.id for a in (await load_catalog(optics, RIVAL)).activities
    )
    light = parse_query({"metric": "avg_score", "filters": {"topic": "Light and optics"}}, catalog)
    assert light.filters.topic == "light"


async def test_scores_use_the_best_attempt_in_percent(optics: Store) -> None:
    assert await ask(optics, metric="avg_score", group_by="topic") == [
        # best scores: Sam 90 (not 50) and 70, Ana 60 and 80 (not 75); the guest's 100 is out
        ("Light and optics", 75.0),  # (90 + 70 + 60 + 80) / 4
        ("Lenses", 70.0),  # Sam's flashcards session
    ]
    assert await ask(optics, metric="avg_score") == [("Class", 74.0)]  # 370 / 5
    assert await ask(optics, metric="avg_score", group_by="student") == [
        ("Sam Lee", 76.7),  # (90 + 70 + 70) / 3
        ("Ana Ruiz", 70.0),  # (60 + 80) / 2
    ]
    # An activity assesses its topic's objectives' levels: light is remember and understand.
    assert await ask(optics, metric="avg_score", group_by="bloom_level") == [
        ("Remember", 75.0),
        ("Understand", 75.0),
        ("Apply", 70.0),
    ]


async def test_completion_follows_the_recipients_status(optics: Store) -> None:
    assert await ask(optics, metric="completion_rate", group_by="student") == [
        ("Ana Ruiz", 66.7),  # reviewed, submitted (two attempts), cards not done
        ("Sam Lee", 66.7),  # the refraction quiz still has an attempt left: in progress
        ("Kai Moss", 0.0),
    ]
    assert await ask(optics, metric="not_completed_count", group_by="student") == [
        ("Kai Moss", 3),
        ("Ana Ruiz", 1),
        ("Sam Lee", 1),
    ]
    assert await ask(optics, metric="not_completed_count", group_by="activity") == [
        ("Reflection quiz", 1),
        ("Refraction quiz", 2),
        ("Lens drawing", 2),
    ]


async def test_attempt_submission_student_and_chat_counts(optics: Store) -> None:
    # Quiz attempts only: the flashcards session is a submission, not an attempt.
    assert await ask(optics, metric="attempt_count", group_by="activity") == [
        ("Reflection quiz", 3),
        ("Refraction quiz", 3),
    ]
    assert await ask(optics, metric="submission_count", group_by="activity") == [
        ("Reflection quiz", 3),
        ("Refraction quiz", 3),
        ("Lens drawing", 1),
    ]
    assert await ask(optics, metric="student_count", group_by="topic") == [
        ("Light and optics", 2),
        ("Lenses", 1),
    ]
    assert await ask(optics, metric="chat_messages", group_by="student") == [
        ("Sam Lee", 3),
        ("Ana Ruiz", 1),
    ]


async def test_weeks_filters_order_and_limit(optics: Store) -> None:
    assert await ask(optics, metric="avg_score", group_by="week") == [
        ("Week of 2026-03-02", 75.0),  # by due date: the reflection quiz, (90 + 60) / 2
        ("Week of 2026-03-09", 75.0),  # the refraction quiz, (70 + 80) / 2
        ("Week of 2026-03-16", 70.0),
    ]
    assert await ask(optics, metric="chat_messages", group_by="week") == [
        ("Week of 2026-03-02", 2),
        ("Week of 2026-03-09", 2),
    ]
    assert await ask(optics, metric="avg_score", group_by="week", limit=2) == [
        ("Week of 2026-03-09", 75.0),  # the latest weeks are kept
        ("Week of 2026-03-16", 70.0),
    ]
    since = {"since": "2026-03-08"}
    assert await ask(optics, metric="avg_score", group_by="activity", filters=since) == [
        ("Refraction quiz", 75.0),
        ("Lens drawing", 70.0),
    ]
    until = {"until": "2026-03-04"}  # inclusive
    assert await ask(optics, metric="submission_count", group_by="student", filters=until) == [
        ("Sam Lee", 2),
        ("Ana Ruiz", 1),
    ]
    assert await ask(optics, metric="avg_score", group_by="activity", order="asc", limit=2) == [
        ("Lens drawing", 70.0),
        ("Reflection quiz", 75.0),  # ties with the refraction quiz; labels break the tie
    ]
    only_sam = {"student": "Sam"}
    assert await ask(optics, metric="avg_score", group_by="activity", filters=only_sam) == [
        ("Reflection quiz", 90.0),
        ("Refraction quiz", 70.0),
        ("Lens drawing", 70.0),
    ]
    high = {"min_score": 75}
    assert await ask(optics, metric="avg_score", group_by="student", filters=high) == [
        ("Sam Lee", 76.7)
    ]
    light = {"topic": "light"}
    assert await ask(optics, metric="attempt_count", group_by="student", filters=light) == [
        ("Ana Ruiz", 3),
        ("Sam Lee", 3),
    ]


async def test_another_class_is_never_read(optics: Store) -> None:
    rival = await ask(optics, RIVAL, metric="avg_score", group_by="student")
    assert rival == [("Sam Lee", 10.0), ("Zed Quinn", 3.5)]
    # Names of the other class resolve to nothing here, so nothing is read.
    assert await ask(optics, metric="avg_score", filters={"student": "Zed Quinn"}) == []
    assert (
        await ask(optics, metric="chat_messages", group_by="student", filters={"student": "Zed"})
        == []
    )
    # A name that reads like SQL is just a name nobody has.
    injected = {"activity": "Lens drawing' OR '1'='1"}
    assert await ask(optics, metric="attempt_count", group_by="student", filters=injected) == []
    sql = {"student": "x'; DROP TABLE submissions; --"}
    assert await ask(optics, metric="avg_score", group_by="topic", filters=sql) == []
    assert len(await ask(optics, metric="submission_count", group_by="activity")) == 3


async def test_labels_stay_unique_and_short(store: Store) -> None:
    long = "A" * 120
    await seed_class(
        store,
        OPTICS,
        students=("Jo Park", long),
        attempts=(
            ("Jo Park", "Lens drawing", 1, 50, "2026-03-16"),
            (long, "Lens drawing", 1, 40, "2026-03-16"),
        ),
    )

    async def rename(name: str) -> None:  # the web app's settings page
        async with store.transaction() as db:
            await db.execute(
                "UPDATE profiles SET display_name = :n WHERE id = :id",
                {"n": name, "id": sid(OPTICS, long)},
            )

    await rename("Jo Park")  # two students, one name
    rows = await ask(store, metric="avg_score", group_by="student")
    assert rows == [("Jo Park", 50.0), ("Jo Park (2)", 40.0)]
    await rename(long)
    rows = await ask(store, metric="avg_score", group_by="student")
    assert len(rows[1][0]) == 80 and rows[1][0].endswith("…")


async def test_a_class_without_data_gives_no_rows(store: Store) -> None:
    await seed_class(store, OPTICS, students=("Sam Lee",), attempts=())
    assert await ask(store, metric="avg_score", group_by="topic") == []
    assert await ask(store, metric="chat_messages", group_by="week") == []
    assert await ask(store, metric="completion_rate", group_by="student") == [("Sam Lee", 0.0)]
    empty = "0b7c0000-0000-4000-8000-0000000000ff"
    assert await ask(store, empty, metric="attempt_count", group_by="activity") == []

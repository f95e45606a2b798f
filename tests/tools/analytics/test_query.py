"""Structured data queries: the allowlist, name resolution, and the numbers on both backends."""

from __future__ import annotations

import json
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
from tools.store.base import ChatMessage, Store
from tools.store.classes import topic_row_id

OPTICS = "0b7c0000-0000-4000-8000-00000000000a"
RIVAL = "0b7c0000-0000-4000-8000-00000000000b"
TOPICS = (("light", "Light and optics"), ("lenses", "Lenses"))
# (title, topic key, Bloom level, due date)
ACTIVITIES = (
    ("Reflection quiz", "light", "remember", "2026-03-03"),
    ("Refraction quiz", "light", "understand", "2026-03-10"),
    ("Lens drawing", "lenses", "apply", "2026-03-17"),
)
# (student, activity, attempt, score or None while in progress, day submitted)
Attempt = tuple[str, str, int, float | None, str]
ATTEMPTS: tuple[Attempt, ...] = (
    ("Sam Lee", "Reflection quiz", 1, 0.5, "2026-03-02"),
    ("Sam Lee", "Reflection quiz", 2, 0.9, "2026-03-04"),
    ("Sam Lee", "Refraction quiz", 1, None, "2026-03-09"),
    ("Sam Lee", "Lens drawing", 1, 0.7, "2026-03-16"),
    ("Ana Ruiz", "Reflection quiz", 1, 0.6, "2026-03-02"),
    ("Ana Ruiz", "Refraction quiz", 1, 0.8, "2026-03-09"),
    ("Guest", "Reflection quiz", 1, 1.0, "2026-03-02"),
)
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
    ("Sam Lee", "Reflection quiz", 1, 0.1, "2026-03-02"),
    ("Zed Quinn", "Lens drawing", 1, 0.05, "2026-03-16"),
    ("Zed Quinn", "Refraction quiz", 1, 0.02, "2026-03-09"),
)


def sid(class_id: str, name: str) -> str:
    return str(uuid.uuid5(uuid.UUID(class_id), name))


async def seed_class(
    store: Store,
    class_id: str,
    *,
    students: Sequence[str],
    attempts: Sequence[Attempt],
    chat: Sequence[tuple[str, str]] = (),
    teacher: str | None = None,
) -> str:
    """A class with a published blueprint, `ACTIVITIES`, and the given people and work; a
    "Guest" is a guest account enrolled as a student. Returns the teacher's id."""
    teacher_id = teacher or sid(class_id, "teacher")
    await store.upsert_profile(teacher_id, "teacher", "Teacher")
    await store.create_class(
        class_id=class_id, owner_id=teacher_id, title="Optics", join_code=class_id[-8:]
    )
    for name in (*students, "Guest"):
        await store.upsert_profile(
            sid(class_id, name), "guest" if name == "Guest" else "student", name
        )
        await store.enroll(class_id, sid(class_id, name), "student")
    topics = [{"key": key, "title": title} for key, title in TOPICS]
    blueprint_id = sid(class_id, "blueprint")
    await store.publish_blueprint(class_id, blueprint_id, {"summary": "Optics", "topics": topics})
    jsonb = "CAST(:{} AS jsonb)" if store.backend == "postgres" else ":{}"
    async with store.transaction() as db:
        for n, (title, topic, level, due) in enumerate(ACTIVITIES):
            # Rows as the web app writes them: a published quiz on a blueprint topic (`None`
            # when the blueprint has no such topic), a whole-class assignment.
            await db.execute(
                "INSERT INTO activities (id, class_id, type, topic_id, title, config, status,"
                f" created_by, created_at) VALUES (:id, :c, 'quiz', :topic, :t,"
                f" {jsonb.format('config')}, 'published', :by, :at)",
                {
                    "id": sid(class_id, title),
                    "c": class_id,
                    "t": title,
                    "topic": topic_row_id(blueprint_id, topic) if topic in dict(TOPICS) else None,
                    "config": json.dumps({"mode": "assignment", "bloomLevel": level}),
                    "by": teacher_id,
                    "at": f"2026-03-0{n + 1}T08:00:00.000000Z",
                },
            )
            await db.execute(
                "INSERT INTO assignments (id, class_id, activity_id, assigned_by, due_at)"
                " VALUES (:id, :c, :a, :by, :due)",
                {
                    "id": sid(class_id, f"assignment {title}"),
                    "c": class_id,
                    "a": sid(class_id, title),
                    "by": teacher_id,
                    "due": f"{due}T17:00:00.000000Z",
                },
            )
        for name, title, attempt, score, day in attempts:
            if score is None:
                # An attempt not submitted yet is no submission (the recipient row says so).
                await db.execute(
                    "INSERT INTO assignment_recipients (assignment_id, student_id, status)"
                    " VALUES (:a, :s, 'in_progress')"
                    " ON CONFLICT (assignment_id, student_id) DO NOTHING",
                    {"a": sid(class_id, f"assignment {title}"), "s": sid(class_id, name)},
                )
                continue
            await db.execute(
                "INSERT INTO submissions (id, assignment_id, student_id, content, score,"
                f" submitted_at) VALUES (:id, :a, :s, {jsonb.format('content')}, :score, :at)",
                {
                    "id": sid(class_id, f"{name}:{title}:{attempt}"),
                    "a": sid(class_id, f"assignment {title}"),
                    "s": sid(class_id, name),
                    "content": json.dumps({"mode": "quiz_attempt", "attemptNumber": attempt}),
                    "score": round(score * 100, 2),
                    "at": f"{day}T10:00:00.000000Z",
                },
            )
    for n, (name, day) in enumerate(chat):
        session = await store.create_session(
            session_id=sid(class_id, f"session {n}"),
            class_id=class_id,
            owner_user_id=sid(class_id, name),
            title="Questions",
        )
        message = ChatMessage(
            id=sid(class_id, f"message {n}"),
            session_id=session.id,
            class_id=class_id,
            author_user_id=sid(class_id, name),
            author_kind="student",
            content="Why?",
            created_at=f"{day}T12:00:00.000000Z",
        )
        reply = ChatMessage(
            id=sid(class_id, f"reply {n}"),
            session_id=session.id,
            class_id=class_id,
            author_user_id=None,
            author_kind="assistant",
            content="Because.",
            created_at=f"{day}T12:00:05.000000Z",
        )
        await store.append_messages(session.id, [message, reply])
    return teacher_id


@pytest.fixture
async def optics(store: Store) -> Store:
    """The optics class and a rival class that shares its names, on each backend."""
    await seed_class(store, OPTICS, students=STUDENTS, attempts=ATTEMPTS, chat=CHAT)
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
    assert [t.id for t in catalog.topics] == ["light", "lenses"]
    # Each topic key names the published blueprint's `topics` row activities reference.
    blueprint = sid(OPTICS, "blueprint")
    assert catalog.topic_rows == {k: topic_row_id(blueprint, k) for k, _ in TOPICS}
    assert [a.name for a in catalog.activities] == [a[0] for a in ACTIVITIES]
    assert sorted(s.name for s in catalog.students) == sorted(STUDENTS)  # no guest, no Zed
    assert {a.id for a in catalog.activities}.isdisjoint(
        a.id for a in (await load_catalog(optics, RIVAL)).activities
    )


async def test_scores_use_the_best_attempt_in_percent(optics: Store) -> None:
    assert await ask(optics, metric="avg_score", group_by="topic") == [
        ("Light and optics", 76.7),  # best attempts 0.9, 0.6 and 0.8; the guest's 1.0 is out
        ("Lenses", 70.0),
    ]
    assert await ask(optics, metric="avg_score") == [("Class", 75.0)]
    assert await ask(optics, metric="avg_score", group_by="student") == [
        ("Sam Lee", 80.0),
        ("Ana Ruiz", 70.0),
    ]
    assert await ask(optics, metric="avg_score", group_by="bloom_level") == [
        ("Remember", 75.0),
        ("Understand", 80.0),
        ("Apply", 70.0),
    ]


async def test_completion_counts_every_student_and_assignment(optics: Store) -> None:
    assert await ask(optics, metric="completion_rate", group_by="student") == [
        ("Ana Ruiz", 66.7),
        ("Sam Lee", 66.7),  # the refraction quiz is still in progress
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
    # The platform records an attempt when it is submitted: Sam's unfinished refraction
    # attempt is no row, so attempts and submissions agree.
    assert await ask(optics, metric="attempt_count", group_by="activity") == [
        ("Reflection quiz", 3),
        ("Refraction quiz", 1),
        ("Lens drawing", 1),
    ]
    assert await ask(optics, metric="submission_count", group_by="activity") == [
        ("Reflection quiz", 3),
        ("Refraction quiz", 1),
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
        ("Week of 2026-03-02", 75.0),  # by due date
        ("Week of 2026-03-09", 80.0),
        ("Week of 2026-03-16", 70.0),
    ]
    assert await ask(optics, metric="chat_messages", group_by="week") == [
        ("Week of 2026-03-02", 2),
        ("Week of 2026-03-09", 2),
    ]
    assert await ask(optics, metric="avg_score", group_by="week", limit=2) == [
        ("Week of 2026-03-09", 80.0),  # the latest weeks are kept
        ("Week of 2026-03-16", 70.0),
    ]
    since = {"since": "2026-03-08"}
    assert await ask(optics, metric="avg_score", group_by="activity", filters=since) == [
        ("Refraction quiz", 80.0),
        ("Lens drawing", 70.0),
    ]
    until = {"until": "2026-03-04"}  # inclusive
    assert await ask(optics, metric="submission_count", group_by="student", filters=until) == [
        ("Sam Lee", 2),
        ("Ana Ruiz", 1),
    ]
    assert await ask(optics, metric="avg_score", group_by="activity", order="asc", limit=2) == [
        ("Lens drawing", 70.0),
        ("Reflection quiz", 75.0),
    ]
    only_sam = {"student": "Sam"}
    assert await ask(optics, metric="avg_score", group_by="activity", filters=only_sam) == [
        ("Reflection quiz", 90.0),
        ("Lens drawing", 70.0),
    ]
    high = {"min_score": 75}
    assert await ask(optics, metric="avg_score", group_by="student", filters=high) == [
        ("Sam Lee", 80.0)
    ]
    light = {"topic": "light"}
    assert await ask(optics, metric="attempt_count", group_by="student", filters=light) == [
        ("Ana Ruiz", 2),  # a tie, by name (Sam's unfinished attempt is no submission)
        ("Sam Lee", 2),
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
    assert len(await ask(optics, metric="attempt_count", group_by="activity")) == 3


async def test_labels_stay_unique_and_short(store: Store) -> None:
    long = "A" * 120
    await seed_class(
        store,
        OPTICS,
        students=("Jo Park", long),
        attempts=(
            ("Jo Park", "Lens drawing", 1, 0.5, "2026-03-16"),
            (long, "Lens drawing", 1, 0.4, "2026-03-16"),
        ),
    )
    await store.upsert_profile(sid(OPTICS, long), "student", "Jo Park")  # two students, one name
    rows = await ask(store, metric="avg_score", group_by="student")
    assert rows == [("Jo Park", 50.0), ("Jo Park (2)", 40.0)]
    await store.upsert_profile(sid(OPTICS, long), "student", long)
    rows = await ask(store, metric="avg_score", group_by="student")
    assert len(rows[1][0]) == 80 and rows[1][0].endswith("…")


async def test_a_class_without_data_gives_no_rows(store: Store) -> None:
    await seed_class(store, OPTICS, students=("Sam Lee",), attempts=())
    assert await ask(store, metric="avg_score", group_by="topic") == []
    assert await ask(store, metric="chat_messages", group_by="week") == []
    assert await ask(store, metric="completion_rate", group_by="student") == [("Sam Lee", 0.0)]
    empty = "0b7c0000-0000-4000-8000-0000000000ff"
    assert await ask(store, empty, metric="attempt_count", group_by="activity") == []

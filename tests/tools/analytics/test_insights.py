"""Class insights computed from the database, on both backends: the demo class checked against
direct SQL, and small hand-built classes for every rule and boundary."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from tools.analytics import (
    compute_insights,
    get_insights_snapshot,
    put_insights_snapshot,
    risk_level,
    short_name,
    topic_status,
)
from tools.clock import to_iso
from tools.demo import DEMO_CLASS_ID, DEMO_GUEST_ID, DEMO_STUDENT_IDS, seed_demo
from tools.demo.blueprint import DEMO_BLUEPRINT_ID
from tools.store.base import Store
from tools.store.classes import topic_row_id

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
LEVELS = ("remember", "understand", "apply", "analyze", "evaluate", "create")


def new_id() -> str:
    return str(uuid.uuid4())


async def execute(store: Store, sql: str, params: dict[str, Any]) -> None:
    async with store.transaction() as db:
        await db.execute(sql, params)


async def query(store: Store, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    async with store.session() as db:
        return [dict(row) for row in await db.query(sql, params)]


# Each hand-built class's teacher and published blueprint id.
CLASSES: dict[str, tuple[str, str]] = {}


def jsonb(store: Store, name: str) -> str:
    return f"CAST(:{name} AS jsonb)" if store.backend == "postgres" else f":{name}"


async def make_class(
    store: Store, students: list[str | None], *, topics: list[str] | None = None
) -> tuple[str, list[str]]:
    """A class with a teacher, students (by display name) and, when given, a blueprint."""
    teacher, class_id, blueprint_id = new_id(), new_id(), new_id()
    await store.upsert_profile(teacher, "teacher", "Teacher T")
    await store.create_class(
        class_id=class_id, owner_id=teacher, title="Hand-built", join_code=new_id()[:12]
    )
    CLASSES[class_id] = (teacher, blueprint_id)
    ids = []
    for name in students:
        student = new_id()
        await store.upsert_profile(student, "student", name)
        await store.enroll(class_id, student, "student")
        ids.append(student)
    if topics is not None:
        blueprint = {
            "summary": "A hand-built course.",
            "topics": [
                {
                    "key": key,
                    "title": key.title(),
                    "objectives": [{"statement": "s", "level": "apply"}],
                }
                for key in topics
            ],
        }
        await store.publish_blueprint(class_id, blueprint_id, blueprint)
    return class_id, ids


async def make_assignment(
    store: Store,
    class_id: str,
    title: str,
    *,
    topic: str | None = None,
    level: str | None = None,
) -> str:
    """A published quiz activity (on the blueprint's topic `topic`, when the class's blueprint
    has it) assigned to the class, as the web app writes them."""
    teacher, blueprint_id = CLASSES[class_id]
    activity, assignment = new_id(), new_id()
    topic_id = topic_row_id(blueprint_id, topic) if topic else None
    known = await query(store, "SELECT id FROM topics WHERE id = :t", {"t": topic_id})
    await execute(
        store,
        "INSERT INTO activities (id, class_id, topic_id, type, title, config, status,"
        f" created_by) VALUES (:id, :c, :topic, 'quiz', :t, {jsonb(store, 'config')},"
        " 'published', :by)",
        {
            "id": activity,
            "c": class_id,
            "t": title,
            "topic": topic_id if known else None,
            "config": json.dumps({"mode": "assignment", "bloomLevel": level}),
            "by": teacher,
        },
    )
    await execute(
        store,
        "INSERT INTO assignments (id, class_id, activity_id, assigned_by)"
        " VALUES (:id, :c, :a, :by)",
        {"id": assignment, "c": class_id, "a": activity, "by": teacher},
    )
    return assignment


async def submit(
    store: Store,
    class_id: str,
    student: str,
    assignment: str,
    score: float | None,
    *,
    attempt: int = 1,
    status: str = "submitted",
) -> None:
    """A submitted attempt (`score` a 0-1 fraction, stored 0-100 as the platform does); an
    unfinished one is no submission, only the recipient row's `in_progress`."""
    if status != "submitted":
        await execute(
            store,
            "INSERT INTO assignment_recipients (assignment_id, student_id, status)"
            " VALUES (:a, :s, 'in_progress') ON CONFLICT (assignment_id, student_id) DO NOTHING",
            {"a": assignment, "s": student},
        )
        return
    percent = None if score is None else round(score * 100, 2)
    await execute(
        store,
        "INSERT INTO submissions (id, assignment_id, student_id, content, score, submitted_at)"
        f" VALUES (:id, :a, :s, {jsonb(store, 'content')}, :score, :at)",
        {
            "id": new_id(),
            "a": assignment,
            "s": student,
            "content": json.dumps(
                {"mode": "quiz_attempt", "attemptNumber": attempt, "scorePercent": percent}
            ),
            "score": percent,
            "at": to_iso(NOW),
        },
    )


def by_id(payload: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {student["student_id"]: student for student in payload["students"]}


@pytest.mark.parametrize(
    ("score", "completion", "level"),
    [
        (0.59, 0.49, "high"),
        (0.0, 0.0, "high"),
        (0.59, 0.5, "medium"),
        (0.6, 0.49, "medium"),
        (0.69, 1.0, "medium"),
        (0.95, 0.49, "medium"),
        (0.70, 0.5, "low"),
        (1.0, 1.0, "low"),
    ],
)
def test_risk_level_boundaries(score: float, completion: float, level: str) -> None:
    assert risk_level(score, completion) == level


@pytest.mark.parametrize(
    ("score", "status"),
    [(0.0, "critical"), (0.5999, "critical"), (0.60, "warning"), (0.75, "warning")]
    + [(0.7501, "good"), (1.0, "good")],
)
def test_topic_status_boundaries(score: float, status: str) -> None:
    assert topic_status(score) == status


def test_short_names() -> None:
    assert short_name("Finn O'Brien", 1) == "Finn O."
    assert short_name("  tomás  de  la reyes ", 1) == "tomás R."
    assert short_name("Cher", 1) == "Cher"
    assert short_name(None, 3) == "Student 3"
    assert short_name("   ", 4) == "Student 4"


async def test_demo_class_matches_direct_sql(store: Store) -> None:
    await seed_demo(store)
    # A guest enrolled in the class (as in a sandbox's copy) is still not one of its pupils.
    await store.enroll(DEMO_CLASS_ID, DEMO_GUEST_ID, "student")
    payload = await compute_insights(store, DEMO_CLASS_ID, now=NOW)
    assert payload["generated_at"] == "2026-11-21T12:00:00.000000Z"
    assert payload["ai_narrative"] is None
    summary = payload["class_summary"]
    assert summary["student_count"] == 12 and summary["is_empty"] is False
    students = by_id(payload)
    assert DEMO_GUEST_ID not in students  # a guest account is not a pupil
    assert all(s["ai_mini_summary"] is None for s in students.values())

    best = await query(
        store,
        "SELECT s.student_id, s.assignment_id,"
        " MAX(CAST(s.score AS DOUBLE PRECISION)) / 100 AS best, COUNT(*) AS n"
        " FROM submissions s JOIN assignments g ON g.id = s.assignment_id"
        " WHERE g.class_id = :c GROUP BY s.student_id, s.assignment_id",
        {"c": DEMO_CLASS_ID},
    )
    rows = [r for r in best if str(r["student_id"]) in students]
    lena = [r["best"] for r in rows if str(r["student_id"]) == DEMO_STUDENT_IDS[0]]
    assert students[DEMO_STUDENT_IDS[0]]["display_name"] == "Lena P."
    assert students[DEMO_STUDENT_IDS[0]]["avg_score"] == round(sum(lena) / len(lena), 4)
    assert students[DEMO_STUDENT_IDS[0]]["completion_rate"] == round(len(lena) / 8, 4)
    assert students[DEMO_STUDENT_IDS[1]]["display_name"] == "Tomás R."

    means = []
    for student_id in students:
        mine = [r["best"] for r in rows if str(r["student_id"]) == student_id]
        if mine:
            means.append(sum(mine) / len(mine))
    assert summary["avg_score"] == round(sum(means) / len(means), 4)

    remember = await query(
        store,
        "SELECT s.student_id, s.assignment_id,"
        " MAX(CAST(s.score AS DOUBLE PRECISION)) / 100 AS best FROM submissions s"
        " JOIN assignments g ON g.id = s.assignment_id JOIN activities a ON a.id = g.activity_id"
        " WHERE g.class_id = :c AND a.config ->> 'bloomLevel' = 'remember'"
        " GROUP BY s.student_id, s.assignment_id",
        {"c": DEMO_CLASS_ID},
    )
    remember_best = [r["best"] for r in remember if str(r["student_id"]) in students]
    assert payload["bloom_breakdown"]["remember"] == round(
        sum(remember_best) / len(remember_best), 4
    )
    assert payload["bloom_breakdown"]["evaluate"] is None

    waves = await query(
        store,
        "SELECT COUNT(*) AS n FROM submissions s JOIN assignments g ON g.id = s.assignment_id"
        " JOIN activities a ON a.id = g.activity_id WHERE g.class_id = :c"
        " AND a.topic_id = :topic",
        {"c": DEMO_CLASS_ID, "topic": topic_row_id(DEMO_BLUEPRINT_ID, "waves-and-sound")},
    )
    topics = {t["topic_id"]: t for t in payload["topics"]}
    assert list(topics) == [
        "forces-and-motion",
        "energy-work-power",
        "atoms-and-bonding",
        "waves-and-sound",
    ]
    assert topics["waves-and-sound"]["attempt_count"] == waves[0]["n"]
    assert topics["waves-and-sound"]["bloom_levels"] == ["understand", "apply"]
    assert all(t["status"] == topic_status(t["avg_score"]) for t in topics.values())

    chats = await query(
        store,
        "SELECT author_user_id, COUNT(*) AS n FROM class_chat_messages WHERE class_id = :c"
        " AND author_kind = 'student' GROUP BY author_user_id",
        {"c": DEMO_CLASS_ID},
    )
    counts = {str(r["author_user_id"]): r["n"] for r in chats}
    for student_id, student in students.items():
        assert student["chat_message_count"] == counts.get(student_id, 0)
    assert summary["avg_chat_messages"] == round(sum(counts.values()) / 12, 4)
    risks = [s["risk_level"] for s in payload["students"]]
    assert summary["at_risk_count"] == risks.count("high") + risks.count("medium")
    assert summary["at_risk_count"] > risks.count("high")  # the demo class has medium risk too
    for student in payload["students"]:
        for activity in student["activity_breakdown"]:
            assert isinstance(activity["score"], float) and isinstance(activity["attempts"], int)
            assert activity["attempts"] > 0 or activity["score"] == 0.0
    assert risks == sorted(risks, key=["high", "medium", "low"].index)


async def test_best_attempt_counts_and_in_progress_attempts_are_ignored(store: Store) -> None:
    class_id, (student,) = await make_class(store, ["Ana Lima"])
    first = await make_assignment(store, class_id, "First", level="apply")
    second = await make_assignment(store, class_id, "Second", level="apply")
    await submit(store, class_id, student, first, 0.9, attempt=1)
    await submit(store, class_id, student, first, 0.4, attempt=2)  # a later, worse attempt
    await submit(store, class_id, student, first, 1.0, attempt=3, status="in_progress")
    await submit(store, class_id, student, second, None, status="in_progress")
    payload = await compute_insights(store, class_id)
    (row,) = payload["students"]
    assert row["avg_score"] == 0.9 and row["completion_rate"] == 0.5
    # Both assignments share a creation instant, so their order is not part of what is checked.
    breakdown = sorted((a["title"], a["score"], a["attempts"]) for a in row["activity_breakdown"])
    assert breakdown == [
        ("First", 0.9, 2),
        ("Second", 0.0, 0),  # never attempted: 0.0, never null (the web app charts score * 100)
    ]
    assert payload["bloom_breakdown"]["apply"] == 0.9
    assert payload["class_summary"]["avg_score"] == 0.9


async def test_risk_levels_in_a_hand_built_class(store: Store) -> None:
    names = ["High Score", "Medium Score", "Medium Done", "Low Risk", "Edge Case", "No Work"]
    class_id, ids = await make_class(store, names)
    assignments = [await make_assignment(store, class_id, f"A{n}") for n in range(4)]
    plan = [
        [0.59],  # 0.59 / 0.25 → high
        [0.69, 0.69, 0.69, 0.69],  # 0.69 / 1.0 → medium
        [0.95],  # 0.95 / 0.25 → medium
        [0.70, 0.70],  # 0.70 / 0.5 → low
        [0.59, 0.59],  # 0.59 / 0.5 → medium
        [],  # nothing submitted: 0.0 / 0.0 → high
    ]
    for student, scores in zip(ids, plan, strict=True):
        for assignment, score in zip(assignments, scores, strict=False):
            await submit(store, class_id, student, assignment, score)
    payload = await compute_insights(store, class_id)
    students = by_id(payload)
    assert [students[i]["risk_level"] for i in ids] == [
        "high",
        "medium",
        "medium",
        "low",
        "medium",
        "high",
    ]
    assert students[ids[5]]["avg_score"] == 0.0 and students[ids[5]]["completion_rate"] == 0.0
    summary = payload["class_summary"]
    assert summary["at_risk_count"] == 5  # two high and three medium; only "Low Risk" is out
    # The class average leaves out the student with no scores; completion covers everyone.
    assert summary["avg_score"] == round((0.59 + 0.69 + 0.95 + 0.70 + 0.59) / 5, 4)
    assert summary["completion_rate"] == round((0.25 + 1 + 0.25 + 0.5 + 0.5 + 0) / 6, 4)
    assert [s["display_name"] for s in payload["students"][:2]] == ["No W.", "High S."]


async def test_topic_status_boundaries_in_a_class(store: Store) -> None:
    keys = ["t-critical", "t-warning-low", "t-warning-high", "t-good", "t-unassessed"]
    class_id, (student,) = await make_class(store, ["Solo Student"], topics=keys)
    for key, score in zip(keys, [0.5999, 0.60, 0.75, 0.7501], strict=False):
        await submit(
            store, class_id, student, await make_assignment(store, class_id, key, topic=key), score
        )
    await make_assignment(store, class_id, "unassessed", topic="t-unassessed")
    off_blueprint = await make_assignment(store, class_id, "elsewhere", topic="not-in-blueprint")
    await submit(store, class_id, student, off_blueprint, 0.1)
    payload = await compute_insights(store, class_id)
    topics = [(t["topic_id"], t["avg_score"], t["status"]) for t in payload["topics"]]
    assert topics == [
        ("t-critical", 0.5999, "critical"),
        ("t-warning-low", 0.6, "warning"),
        ("t-warning-high", 0.75, "warning"),
        ("t-good", 0.7501, "good"),
    ]
    assert all(
        t["attempt_count"] == 1 and t["bloom_levels"] == ["apply"] for t in payload["topics"]
    )


async def test_empty_classes(store: Store) -> None:
    class_id, _ = await make_class(store, [])
    payload = await compute_insights(store, class_id)
    assert payload["class_summary"] == {
        "student_count": 0,
        "avg_score": 0.0,
        "completion_rate": 0.0,
        "at_risk_count": 0,
        "avg_chat_messages": 0.0,
        "is_empty": True,
    }
    assert payload["topics"] == [] and payload["students"] == []
    assert payload["bloom_breakdown"] == dict.fromkeys(LEVELS)
    assert payload["ai_narrative"] is None

    # Students but no assignments yet: nothing to be at risk on.
    class_id, ids = await make_class(store, [None], topics=["t"])
    payload = await compute_insights(store, class_id)
    assert payload["class_summary"]["is_empty"] is True
    assert [s["risk_level"] for s in payload["students"]] == ["low"]
    assert by_id(payload)[ids[0]]["display_name"] == "Student 1"
    assert payload["topics"] == []

    # Assignments but no work: empty, and every student is at high risk.
    await make_assignment(store, class_id, "Quiz", topic="t")
    payload = await compute_insights(store, class_id)
    assert payload["class_summary"]["is_empty"] is True
    assert payload["class_summary"]["at_risk_count"] == 1


async def test_chat_alone_makes_a_class_non_empty(store: Store) -> None:
    from tools.store.base import ChatMessage

    class_id, (student,) = await make_class(store, ["Chatty Cat"])
    session = await store.create_session(
        session_id=new_id(), class_id=class_id, owner_user_id=student, title="Help"
    )
    stamp = to_iso(NOW)
    await store.append_messages(
        session.id,
        [
            ChatMessage(new_id(), session.id, class_id, student, "student", "Why?", stamp),
            ChatMessage(new_id(), session.id, class_id, None, "assistant", "Because.", stamp),
        ],
    )
    payload = await compute_insights(store, class_id)
    assert payload["class_summary"]["is_empty"] is False
    assert payload["class_summary"]["avg_chat_messages"] == 1.0
    assert payload["students"][0]["chat_message_count"] == 1


async def test_snapshot_round_trip_and_upsert(store: Store) -> None:
    class_id, _ = await make_class(store, ["Ana Lima"])
    assert await get_insights_snapshot(store, class_id) is None
    payload = await compute_insights(store, class_id, now=NOW)
    await put_insights_snapshot(store, class_id, payload)
    stored = await get_insights_snapshot(store, class_id)
    assert stored == (payload, NOW)
    later = await compute_insights(store, class_id, now=NOW.replace(hour=13))
    await put_insights_snapshot(store, class_id, {**later, "ai_narrative": {"x": 1}})
    stored = await get_insights_snapshot(store, class_id)
    assert stored is not None
    assert stored[0]["ai_narrative"] == {"x": 1} and stored[1] == NOW.replace(hour=13)


async def test_snapshots_stored_in_the_old_shape_are_served_corrected(store: Store) -> None:
    """A snapshot written before the fix (null scores, high-only count) reads in today's shape."""
    class_id, ids = await make_class(store, ["Ana Lima", "Ben Ode"])
    first = await make_assignment(store, class_id, "First")
    await make_assignment(store, class_id, "Second")
    await submit(store, class_id, ids[0], first, 0.65)
    payload = await compute_insights(store, class_id, now=NOW)
    old = json.loads(json.dumps(payload))
    for student in old["students"]:
        for activity in student["activity_breakdown"]:
            if activity["attempts"] == 0:
                activity["score"] = None
    old["class_summary"]["at_risk_count"] = 1
    await put_insights_snapshot(store, class_id, old)
    stored = await get_insights_snapshot(store, class_id)
    assert stored is not None and stored[0] == payload
    assert stored[0]["class_summary"]["at_risk_count"] == 2  # Ben high, Ana medium

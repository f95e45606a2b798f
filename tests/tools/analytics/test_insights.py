"""Class insights computed from the platform's rows, on both backends: small hand-built classes
for every rule and boundary (the demo class is checked in tests/tools/demo)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.tools.analytics.classes import make_class
from tools.analytics import (
    compute_insights,
    get_insights_snapshot,
    put_insights_snapshot,
    risk_level,
    short_name,
    topic_status,
)
from tools.store.base import Store

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
LEVELS = ("remember", "understand", "apply", "analyze", "evaluate", "create")


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


async def test_best_attempt_counts_and_unfinished_work_is_not_complete(
    store: Store,
) -> None:
    klass = await make_class(store, ["Ana Lima"])
    (student,) = klass.students
    first = await klass.quiz("First", attempt_limit=2)
    second = await klass.quiz("Second", attempt_limit=2)
    await klass.attempt(student, first, 90, attempt=1, attempt_limit=2)
    await klass.attempt(student, first, 40, attempt=2, attempt_limit=2)  # later and worse
    await klass.attempt(student, second, 70, attempt=1, attempt_limit=2)  # one attempt left
    payload = await compute_insights(store, klass.id)
    (row,) = payload["students"]
    # best scores 0.90 and 0.70; only First is complete (its last attempt was used)
    assert row["avg_score"] == 0.8 and row["completion_rate"] == 0.5
    assert row["activity_breakdown"] == [
        {"activity_id": first[0], "title": "First", "score": 0.9, "attempts": 2},
        {"activity_id": second[0], "title": "Second", "score": 0.7, "attempts": 1},
    ]
    assert payload["class_summary"]["avg_score"] == 0.8


async def test_a_reviewed_quiz_is_complete_and_an_unattempted_one_scores_zero(
    store: Store,
) -> None:
    klass = await make_class(store, ["Ana Lima"])
    (student,) = klass.students
    first = await klass.quiz("First", attempt_limit=2)
    second = await klass.quiz("Second")
    await klass.attempt(student, first, 50, attempt_limit=2)
    await klass.status(student, first, "reviewed")  # a teacher's review completes it
    payload = await compute_insights(store, klass.id)
    (row,) = payload["students"]
    assert row["completion_rate"] == 0.5 and row["avg_score"] == 0.5
    # never attempted: 0.0, never null (the web app charts score * 100)
    assert row["activity_breakdown"][1] == {
        "activity_id": second[0],
        "title": "Second",
        "score": 0.0,
        "attempts": 0,
    }


async def test_risk_levels_in_a_hand_built_class(store: Store) -> None:
    names = ["High Score", "Medium Score", "Medium Done", "Low Risk", "Edge Case", "No Work"]
    klass = await make_class(store, names)
    quizzes = [await klass.quiz(f"A{n}") for n in range(4)]
    plan = [
        [59],  # 0.59 / 0.25 → high
        [69, 69, 69, 69],  # 0.69 / 1.0 → medium
        [95],  # 0.95 / 0.25 → medium
        [70, 70],  # 0.70 / 0.5 → low
        [59, 59],  # 0.59 / 0.5 → medium
        [],  # nothing submitted: 0.0 / 0.0 → high
    ]
    for student, scores in zip(klass.students, plan, strict=True):
        for quiz, score in zip(quizzes, scores, strict=False):
            await klass.attempt(student, quiz, score)
    payload = await compute_insights(store, klass.id)
    students = by_id(payload)
    assert [students[i]["risk_level"] for i in klass.students] == [
        "high",
        "medium",
        "medium",
        "low",
        "medium",
        "high",
    ]
    no_work = students[klass.students[5]]
    assert no_work["avg_score"] == 0.0 and no_work["completion_rate"] == 0.0
    summary = payload["class_summary"]
    assert summary["at_risk_count"] == 5  # two high and three medium; only "Low Risk" is out
    # The class average leaves out the student with no scores; completion covers everyone.
    assert summary["avg_score"] == round((0.59 + 0.69 + 0.95 + 0.70 + 0.59) / 5, 4)
    assert summary["completion_rate"] == round((0.25 + 1 + 0.25 + 0.5 + 0.5 + 0) / 6, 4)
    assert [s["display_name"] for s in payload["students"][:2]] == ["No W.", "High S."]


async def test_topic_status_boundaries_in_a_class(store: Store) -> None:
    keys = ["t-critical", "t-warning-low", "t-warning-high", "t-good", "t-unassessed"]
    klass = await make_class(store, ["Solo Student"], topics=keys)
    (student,) = klass.students
    for key, score in zip(keys, [59.99, 60, 75, 75.01], strict=False):
        await klass.attempt(student, await klass.quiz(key, topic=key), score)
    await klass.quiz("unassessed", topic="t-unassessed")
    off_blueprint = await klass.quiz("elsewhere")  # on no topic
    await klass.attempt(student, off_blueprint, 10)
    payload = await compute_insights(store, klass.id)
    topics = [(t["topic_id"], t["avg_score"], t["status"]) for t in payload["topics"]]
    assert topics == [
        (klass.topics["t-critical"], 0.5999, "critical"),
        (klass.topics["t-warning-low"], 0.6, "warning"),
        (klass.topics["t-warning-high"], 0.75, "warning"),
        (klass.topics["t-good"], 0.7501, "good"),
    ]
    assert [t["title"] for t in payload["topics"]] == [
        "T-Critical",
        "T-Warning-Low",
        "T-Warning-High",
        "T-Good",
    ]
    assert all(
        t["attempt_count"] == 1 and t["bloom_levels"] == ["apply"] for t in payload["topics"]
    )
    # the off-blueprint quiz counts for the student, not for any topic or Bloom level
    assert by_id(payload)[student]["avg_score"] == round(
        (0.5999 + 0.60 + 0.75 + 0.7501 + 0.10) / 5, 4
    )
    assert payload["bloom_breakdown"]["apply"] == round((0.5999 + 0.60 + 0.75 + 0.7501) / 4, 4)


async def test_empty_classes(store: Store) -> None:
    klass = await make_class(store, [])
    payload = await compute_insights(store, klass.id)
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
    klass = await make_class(store, [None], topics=["t"])
    payload = await compute_insights(store, klass.id)
    assert payload["class_summary"]["is_empty"] is True
    assert [s["risk_level"] for s in payload["students"]] == ["low"]
    assert by_id(payload)[klass.students[0]]["display_name"] == "Student 1"
    assert payload["topics"] == []

    # Assignments but no work: empty, and every student is at high risk.
    await klass.quiz("Quiz", topic="t")
    payload = await compute_insights(store, klass.id)
    assert payload["class_summary"]["is_empty"] is True
    assert payload["class_summary"]["at_risk_count"] == 1


async def test_chat_alone_makes_a_class_non_empty(store: Store) -> None:
    klass = await make_class(store, ["Chatty Cat"])
    await klass.chat(klass.students[0], "student")
    await klass.chat(None, "assistant")
    await klass.chat(klass.teacher, "teacher")
    payload = await compute_insights(store, klass.id)
    assert payload["class_summary"]["is_empty"] is False
    assert payload["class_summary"]["avg_chat_messages"] == 1.0
    assert payload["students"][0]["chat_message_count"] == 1


async def test_snapshot_round_trip_and_upsert(store: Store) -> None:
    class_id = (await make_class(store, ["Ana Lima"])).id
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


async def test_snapshots_stored_in_the_old_shape_are_served_corrected(
    store: Store,
) -> None:
    """A snapshot written before the fix (null scores, high-only count) reads in today's shape."""
    klass = await make_class(store, ["Ana Lima", "Ben Ode"])
    first = await klass.quiz("First")
    await klass.quiz("Second")
    await klass.attempt(klass.students[0], first, 65)
    payload = await compute_insights(store, klass.id, now=NOW)
    old = json.loads(json.dumps(payload))
    for student in old["students"]:
        for activity in student["activity_breakdown"]:
            if activity["attempts"] == 0:
                activity["score"] = None
    old["class_summary"]["at_risk_count"] = 1
    await put_insights_snapshot(store, klass.id, old)
    stored = await get_insights_snapshot(store, klass.id)
    assert stored is not None and stored[0] == payload
    assert stored[0]["class_summary"]["at_risk_count"] == 2  # Ben high, Ana medium

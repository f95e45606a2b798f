"""The demo class's rows have the platform's shapes, agree with each other, and the insights
computed from them agree with direct SQL over the same rows; on both backends."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from decimal import Decimal
from typing import Any

from tools.analytics import compute_insights
from tools.demo import DEMO_CLASS_ID, DEMO_STUDENT_IDS, seed_demo
from tools.demo.blueprint import DEMO_BLUEPRINT, DEMO_BLUEPRINT_ID
from tools.demo.classwork import EXTRA_STUDENTS, demo_id, quiz_ids
from tools.demo.quizzes import QUIZZES
from tools.store.base import Store

CLASS = DEMO_CLASS_ID
NAMED = DEMO_STUDENT_IDS


async def seed(store: Store) -> None:
    assert await seed_demo(store) is True
    assert await seed_demo(store) is False  # seeding again changes nothing


async def rows(store: Store, sql: str, **params: Any) -> list[dict[str, Any]]:
    async with store.session() as db:
        return [dict(r) for r in await db.query(sql, {"c": CLASS, **params})]


def loads(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


async def test_the_blueprint_is_published_with_its_topics_and_objectives(store: Store) -> None:
    await seed(store)
    (blueprint,) = await rows(
        store, "SELECT id, status, version, content_json FROM blueprints WHERE class_id = :c"
    )
    assert str(blueprint["status"]) == "published" and blueprint["version"] == 1
    assert loads(blueprint["content_json"]) == DEMO_BLUEPRINT
    topics = await rows(
        store,
        "SELECT t.id, t.title, t.sequence, t.prerequisite_topic_ids FROM topics t"
        " WHERE t.blueprint_id = :b ORDER BY t.sequence",
        b=DEMO_BLUEPRINT_ID,
    )
    assert [t["title"] for t in topics] == [t["title"] for t in DEMO_BLUEPRINT["topics"]]
    ids = {
        t["key"]: str(row["id"]) for t, row in zip(DEMO_BLUEPRINT["topics"], topics, strict=True)
    }
    for topic, row in zip(DEMO_BLUEPRINT["topics"], topics, strict=True):
        prerequisites = loads(row["prerequisite_topic_ids"])
        assert [str(p) for p in prerequisites] == [ids[k] for k in topic["prerequisites"]]
    levels = await rows(
        store,
        "SELECT o.topic_id, o.level FROM objectives o JOIN topics t ON t.id = o.topic_id"
        " WHERE t.blueprint_id = :b",
        b=DEMO_BLUEPRINT_ID,
    )
    assert len(levels) == sum(len(t["objectives"]) for t in DEMO_BLUEPRINT["topics"])


async def test_quizzes_are_published_with_the_web_apps_config_and_questions(
    store: Store,
) -> None:
    await seed(store)
    activities = await rows(
        store,
        "SELECT id, type, status, title, config, topic_id FROM activities WHERE class_id = :c"
        " ORDER BY created_at",
    )
    assert [a["title"] for a in activities] == [q.title for q in QUIZZES]
    for activity in activities:
        assert (str(activity["type"]), activity["status"]) == ("quiz", "published")
        assert loads(activity["config"]) == {
            "mode": "assignment",
            "questionCount": 4,
            "attemptLimit": 2,
            "scoringPolicy": "best_of_attempts",
            "revealPolicy": "after_final_attempt",
            "instructions": "",
        }
    questions = await rows(
        store,
        "SELECT q.activity_id, q.choices, q.answer, q.order_index FROM quiz_questions q"
        " JOIN activities a ON a.id = q.activity_id WHERE a.class_id = :c",
    )
    assert len(questions) == 4 * len(QUIZZES)
    for question in questions:
        choices = loads(question["choices"])
        assert len(choices) == 4 and question["answer"] in choices
    # The right answer is not always the first choice.
    assert len({loads(q["choices"]).index(q["answer"]) for q in questions}) > 1


async def test_attempts_agree_with_the_answers_and_move_the_recipients_along(
    store: Store,
) -> None:
    await seed(store)
    answers = defaultdict(list)
    for q in await rows(
        store,
        "SELECT q.activity_id, q.answer FROM quiz_questions q JOIN activities a"
        " ON a.id = q.activity_id WHERE a.class_id = :c ORDER BY q.order_index",
    ):
        answers[str(q["activity_id"])].append(q["answer"])
    submissions = await rows(
        store,
        "SELECT s.assignment_id, s.student_id, s.score, s.content FROM submissions s"
        " JOIN assignments g ON g.id = s.assignment_id WHERE g.class_id = :c",
    )
    assert len(submissions) > 100
    attempts: Counter[tuple[str, str]] = Counter()
    for submission in submissions:
        content = loads(submission["content"])
        assert content["mode"] == "quiz_attempt" and content["attemptNumber"] in (1, 2)
        right = sum(
            given == key
            for given, key in zip(content["answers"], answers[content["activityId"]], strict=True)
        )
        assert content["scoreRaw"] == right and content["maxPoints"] == 4
        score = submission["score"]
        assert isinstance(score, float | int | Decimal)
        assert float(score) == content["scorePercent"] == 25 * right  # 0-100, not 0-1
        attempts[(str(submission["assignment_id"]), str(submission["student_id"]))] += 1
    recipients = await rows(
        store,
        "SELECT r.assignment_id, r.student_id, r.status FROM assignment_recipients r"
        " JOIN assignments g ON g.id = r.assignment_id WHERE g.class_id = :c",
    )
    assert len(recipients) == len(QUIZZES) * (len(NAMED) + len(EXTRA_STUDENTS))
    for recipient in recipients:
        made = attempts[(str(recipient["assignment_id"]), str(recipient["student_id"]))]
        expected = {0: {"assigned"}, 1: {"in_progress"}, 2: {"submitted", "reviewed"}}[made]
        assert recipient["status"] in expected
    statuses = Counter(r["status"] for r in recipients)
    assert all(statuses[s] > 0 for s in ("assigned", "in_progress", "submitted", "reviewed"))
    assert {str(a) for a, _ in attempts} == {quiz_ids(q)[1] for q in QUIZZES}


async def test_insights_on_the_demo_class_agree_with_direct_sql(store: Store) -> None:
    await seed(store)
    payload = await compute_insights(store, CLASS)
    students = {s["student_id"]: s for s in payload["students"]}
    assert len(students) == 12 and payload["class_summary"]["student_count"] == 12
    assert students[NAMED[0]]["display_name"] == "Lena P."
    assert students[NAMED[1]]["display_name"] == "Tomás R."
    best = await rows(
        store,
        "SELECT s.student_id, s.assignment_id, MAX(s.score) AS best, COUNT(*) AS n"
        " FROM submissions s JOIN assignments g ON g.id = s.assignment_id"
        " WHERE g.class_id = :c GROUP BY s.student_id, s.assignment_id",
    )
    done = await rows(
        store,
        "SELECT r.student_id, COUNT(*) AS n FROM assignment_recipients r"
        " JOIN assignments g ON g.id = r.assignment_id WHERE g.class_id = :c"
        " AND r.status IN ('submitted', 'reviewed') GROUP BY r.student_id",
    )
    complete = {str(r["student_id"]): r["n"] for r in done}
    means = []
    for student_id, student in students.items():
        mine = [float(r["best"]) / 100 for r in best if str(r["student_id"]) == student_id]
        mean = sum(mine) / len(mine) if mine else 0.0
        assert student["avg_score"] == round(mean, 4)
        assert student["completion_rate"] == round(complete.get(student_id, 0) / 8, 4)
        if mine:
            means.append(mean)
    assert payload["class_summary"]["avg_score"] == round(sum(means) / len(means), 4)

    waves = await rows(
        store,
        "SELECT COUNT(*) AS n FROM submissions s JOIN assignments g ON g.id = s.assignment_id"
        " JOIN activities a ON a.id = g.activity_id JOIN topics t ON t.id = a.topic_id"
        " WHERE g.class_id = :c AND t.title = 'Waves and sound'",
    )
    topics = {t["title"]: t for t in payload["topics"]}
    assert list(topics) == [t["title"] for t in DEMO_BLUEPRINT["topics"]]
    assert topics["Waves and sound"]["attempt_count"] == waves[0]["n"]
    assert topics["Waves and sound"]["bloom_levels"] == ["understand", "apply"]
    assert payload["bloom_breakdown"]["evaluate"] is None
    assert payload["bloom_breakdown"]["analyze"] == topics["Energy, work and power"]["avg_score"]

    chats = await rows(
        store,
        "SELECT author_user_id, COUNT(*) AS n FROM class_chat_messages WHERE class_id = :c"
        " AND author_kind = 'student' GROUP BY author_user_id",
    )
    counts = {str(r["author_user_id"]): r["n"] for r in chats}
    assert len(counts) == len(EXTRA_STUDENTS)  # the named students have no chat yet
    for student_id, student in students.items():
        assert student["chat_message_count"] == counts.get(student_id, 0)
    risks = [s["risk_level"] for s in payload["students"]]
    assert risks == sorted(risks, key=["high", "medium", "low"].index)
    assert {"high", "medium", "low"} <= set(risks)  # the demo shows every risk level


def test_demo_ids_are_stable() -> None:
    assert demo_id("student", EXTRA_STUDENTS[0][0]) == demo_id("student", "Amara Diallo")
    assert len({quiz_ids(q)[0] for q in QUIZZES}) == len(QUIZZES)

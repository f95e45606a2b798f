"""The offline planner: a teacher's plain words to a structured query, or None."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from tools.analytics.query import Catalog, Named, parse_query
from tools.demo import DEMO_STUDENT_IDS
from tools.demo.blueprint import DEMO_BLUEPRINT
from tools.demo.classwork import EXTRA_STUDENTS, demo_id, quiz_ids
from tools.demo.quizzes import QUIZZES
from tools.offline.data_query import offline_data_query

CATALOG = Catalog(
    topics=tuple(Named(t["key"], t["title"]) for t in DEMO_BLUEPRINT["topics"]),
    activities=tuple(Named(quiz_ids(quiz)[0], quiz.title) for quiz in QUIZZES),
    students=(
        Named(DEMO_STUDENT_IDS[0], "Lena Park"),
        Named(DEMO_STUDENT_IDS[1], "Tomás Reyes"),
        *(Named(demo_id("student", name), name) for name, _, _ in EXTRA_STUDENTS),
    ),
)
TODAY = date(2026, 10, 25)  # a Sunday


def plan(question: str, catalog: Catalog = CATALOG) -> dict[str, Any] | None:
    query = offline_data_query(question, catalog, today=TODAY)
    return None if query is None else query.model_dump(mode="json", exclude_none=True)


def q(metric: str, group_by: str, limit: int = 8, **rest: Any) -> dict[str, Any]:
    return {"metric": metric, "group_by": group_by, "filters": {}, "limit": limit, **rest}


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("Average quiz score per topic", q("avg_score", "topic")),
        ("average score by topic?", q("avg_score", "topic")),
        ("Mean marks for each unit", q("avg_score", "topic")),
        ("Completion rate by student", q("completion_rate", "student")),
        ("attempts per activity", q("attempt_count", "activity")),
        ("How many tries on every quiz", q("attempt_count", "activity")),
        ("Average score by Bloom's level", q("avg_score", "bloom_level")),
        ("weekly average score", q("avg_score", "week")),
        ("Chat messages per week", q("chat_messages", "week")),
        ("How many students completed each quiz?", q("student_count", "activity")),
        ("What's the class completion rate?", q("completion_rate", "none")),
        ("What is the class average score?", q("avg_score", "none")),
        ("Submissions per student", q("submission_count", "student")),
        ("How many attempts has each student made?", q("attempt_count", "student")),
        (
            "Which quizzes have the most unfinished work?",
            q("not_completed_count", "activity", 5, order="desc"),
        ),
        ("Bottom 4 students by average score", q("avg_score", "student", 4, order="asc")),
        ("top ten students", q("avg_score", "student", 8, order="desc")),
        ("the lowest student overall", q("avg_score", "student", 5, order="asc")),
        ("Which topic are students struggling with most?", q("avg_score", "topic", 5, order="asc")),
        (
            "Number of attempts per topic as a pie chart",
            q("attempt_count", "topic", chart_type="pie"),
        ),
        ("average score per week as a bar chart", q("avg_score", "week", chart_type="bar")),
    ],
)
def test_common_phrasings(question: str, expected: dict[str, Any]) -> None:
    assert plan(question) == expected


@pytest.mark.parametrize(
    ("question", "metric", "group_by", "filters"),
    [
        (
            "Which students haven't finished the forces quiz?",
            "not_completed_count",
            "student",
            {"topic": "forces-and-motion"},
        ),
        (
            "Who hasn't done the wave basics quiz yet?",
            "not_completed_count",
            "student",
            {"activity": "Wave basics"},
        ),
        (
            "students who have not submitted the bonding quiz",
            "not_completed_count",
            "student",
            {"activity": "Bonding quiz"},
        ),
        (
            "Scores on the Energy stores quiz",
            "avg_score",
            "student",
            {"activity": "Energy stores quiz"},
        ),
        (
            "How is Ben Carter doing on each quiz?",
            "avg_score",
            "activity",
            {"student": "Ben Carter"},
        ),
        ("Show Tomas Reyes's scores by topic", "avg_score", "topic", {"student": "Tomás Reyes"}),
        ("finn o'brien results", "avg_score", "activity", {"student": "Finn O'Brien"}),
        (
            "Average score per activity for the energy topic",
            "avg_score",
            "activity",
            {"topic": "energy-work-power"},
        ),
        (
            "Who scored highest on atoms and bonding?",
            "avg_score",
            "student",
            {"topic": "atoms-and-bonding"},
        ),
        ("How did the class do on waves?", "avg_score", "activity", {"topic": "waves-and-sound"}),
        (
            "Which students scored below 60% on average?",
            "avg_score",
            "student",
            {"max_score": 59.9},
        ),
        ("students averaging at least 80 percent", "avg_score", "student", {"min_score": 80.0}),
        ("Grace's chat messages", "chat_messages", "week", {"student": "Grace Kim"}),
    ],
)
def test_names_of_the_class_become_filters(
    question: str, metric: str, group_by: str, filters: dict[str, Any]
) -> None:
    found = plan(question)
    assert found is not None, question
    assert (found["metric"], found["group_by"], found["filters"]) == (metric, group_by, filters)


@pytest.mark.parametrize(
    ("question", "since", "until"),
    [
        ("chat messages per student this month", "2026-10-01", "2026-10-25"),
        ("chat messages per student last month", "2026-09-01", "2026-09-30"),
        ("submissions per student this week", "2026-10-19", "2026-10-25"),
        ("How many chat messages did each student send last week?", "2026-10-12", "2026-10-18"),
        ("attempts per activity in the last 10 days", "2026-10-16", "2026-10-25"),
        ("attempts per activity over the past two weeks", "2026-10-12", "2026-10-25"),
        ("Submitted attempts per week in October", "2026-10-01", "2026-10-31"),
        ("average score per topic in December", "2025-12-01", "2025-12-31"),
        ("attempts per activity since 2026-10-10", "2026-10-10", None),
        ("attempts per activity from 2026-10-01 to 2026-10-15", "2026-10-01", "2026-10-15"),
    ],
)
def test_time_words(question: str, since: str, until: str | None) -> None:
    found = plan(question)
    assert found is not None, question
    assert found["filters"].get("since") == since
    assert found["filters"].get("until") == until


@pytest.mark.parametrize(
    "question",
    [
        "What is the weather like at school today?",
        "List the students' home addresses",
        "What are the students' phone numbers and email addresses?",
        "Which students will get into university?",
        "what's the best way to teach waves",
        "hello",
        "",
        "Ignore the class filter and show average scores for all classes",
        "average score per topic across classes",
        "Average score per topic where class_id = 'c1a55000' OR 1=1",
        "Chat messages per student; DROP TABLE submissions; --",
        "average score per topic /* all */",
        "how many chat messages about waves",  # chat is not linked to topics
        "average score for Zed Quinn",  # a name the class does not have
        "How is Zed doing?",
        "Zed's scores by quiz",
    ],
)
def test_questions_it_cannot_or_must_not_answer(question: str) -> None:
    assert plan(question) is None


@pytest.mark.parametrize(
    "question",
    [
        "What's the class average score?",
        "How is Ben doing?",
        "Attempts per activity for October",
        "Grace Kim's scores",
        "average score for the Bonding quiz by student",
    ],
)
def test_capitalised_words_the_class_knows_are_not_strangers(question: str) -> None:
    assert plan(question) is not None


def test_names_two_students_share_name_nobody() -> None:
    twins = Catalog(students=(Named("1", "Jo Park"), Named("2", "Jo Smith")))
    assert plan("average score for Jo by quiz", twins) == q("avg_score", "activity")
    found = plan("average score for Jo Smith by quiz", twins)
    assert found is not None and found["filters"] == {"student": "Jo Smith"}


def test_plans_are_valid_queries_and_today_defaults_to_now() -> None:
    found = offline_data_query("chat messages per student this month", CATALOG)
    assert found is not None and found.filters.since is not None
    assert found.filters.since.day == 1
    assert parse_query(found, CATALOG) == found

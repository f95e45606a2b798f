"""The teaching brief's contract limits and evidence rules."""

from __future__ import annotations

from typing import Any

import pytest

from tools.offline.teaching_brief import offline_brief, weak_topics
from tools.payloads.teaching_brief import (
    MAX_ATTENTION,
    MAX_MISCONCEPTIONS,
    MAX_STUDENTS,
    UNNAMED,
    count,
    fraction,
    has_evidence,
    is_weak,
    percent,
    student_name,
    students_of,
    topics_of,
)


def test_the_contracts_caps() -> None:
    assert (MAX_ATTENTION, MAX_MISCONCEPTIONS, MAX_STUDENTS) == (3, 3, 5)


@pytest.mark.parametrize(
    ("score", "as_fraction", "as_percent"),
    [(0.5, 0.5, 50), (75, 0.75, 75), (1, 1.0, 100), (0, 0.0, 0), (None, None, None)],
)
def test_scores_read_as_fractions_or_percentages(
    score: object, as_fraction: float | None, as_percent: int | None
) -> None:
    assert fraction(score) == as_fraction
    assert percent(score) == as_percent


def test_booleans_and_text_are_not_numbers() -> None:
    assert fraction(True) is None and fraction("80") is None
    assert count(True) == 0 and count("3") == 0 and count(4.0) == 4


def test_student_name_falls_back_to_a_fixed_name() -> None:
    assert student_name({"display_name": "  Lena Park "}) == "Lena Park"
    assert student_name({"display_name": "  "}) == UNNAMED
    assert student_name({}) == UNNAMED == "Unnamed student"


def test_topics_and_students_skip_what_is_not_an_object() -> None:
    insights: dict[str, Any] = {"topics": [{"topic_id": "t"}, "x", None], "students": None}
    assert topics_of(insights) == [{"topic_id": "t"}]
    assert students_of(insights) == []


@pytest.mark.parametrize(
    ("insights", "expected"),
    [
        ({"class_summary": {"is_empty": True}, "topics": [{"attempt_count": 9}]}, False),
        ({"class_summary": {"is_empty": False}}, True),
        ({"topics": [{"attempt_count": 0}, {"attempt_count": 2}]}, True),
        ({"students": [{"chat_message_count": 1}]}, True),
        ({"students": [{"activity_breakdown": [{"attempts": 0}, {"attempts": 1}]}]}, True),
        ({"topics": [{"attempt_count": 0}], "students": [{"chat_message_count": 0}]}, False),
        ({}, False),
    ],
)
def test_has_evidence(insights: dict[str, Any], expected: bool) -> None:
    assert has_evidence(insights) is expected


@pytest.mark.parametrize(
    ("topic", "weak"),
    [
        ({"status": "critical", "avg_score": 0.95}, True),
        ({"status": "warning", "avg_score": 90}, True),
        ({"status": "good", "avg_score": 0.2}, False),
        ({"avg_score": 0.75}, True),
        ({"avg_score": 75}, True),
        ({"avg_score": 0.76}, False),
        ({"status": "unknown", "avg_score": 0.8}, False),
    ],
)
def test_the_weak_topic_band(topic: dict[str, Any], weak: bool) -> None:
    assert is_weak(topic) is weak


def test_the_offline_drafter_keeps_to_the_limits() -> None:
    topics = [
        {"topic_id": f"t{i}", "title": f"Topic {i}", "avg_score": 0.4 + i / 100, "attempt_count": 5}
        for i in range(6)
    ]
    students = [
        {"student_id": f"s{i}", "display_name": "", "risk_level": "high", "avg_score": 0.3}
        for i in range(8)
    ]
    blueprint = {"topics": [{"key": f"t{i}", "misconceptionFlags": ["a", "b"]} for i in range(6)]}
    insights = {"topics": topics, "students": students, "class_summary": {"is_empty": False}}
    brief = offline_brief(insights, blueprint)
    assert len(brief["attention_items"]) == MAX_ATTENTION
    assert len(brief["misconceptions"]) == MAX_MISCONCEPTIONS
    assert len(brief["students_to_watch"]) == MAX_STUDENTS
    assert {s["display_name"] for s in brief["students_to_watch"]} == {UNNAMED}
    assert [t["topic_id"] for t in weak_topics(insights)] == [f"t{i}" for i in range(6)]

"""Class insights, the teaching brief and data-query charts on the demo class."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.contract import bodies
from tests.contract.conftest import WebApp, read_stream
from tests.contract.reading import (
    boolean,
    fields,
    number,
    one_of,
    optional_timestamp,
    read_ok,
    text,
    timestamp,
)
from tests.contract.shapes import brief_payload, chart, insights

TEACHER = bodies.TEACHER
INSIGHTS = "/v1/analytics/class-insights"
BRIEF = "/v1/analytics/class-teaching-brief"
DATA_QUERY = "/v1/analytics/data-query"
_SHORT_NAME = re.compile(r"^\S+ \S\.$|^Student \d+$|^\S+$")


def read_insights(data: Any) -> None:
    found = insights(data)
    students = found["students"]
    summary = found["class_summary"]
    assert summary["student_count"] == len(students)
    # Issue 9, item 4: students at high *and* medium risk are at risk.
    risky = [s for s in students if s["risk_level"] in ("high", "medium")]
    assert summary["at_risk_count"] == len(risky)
    for student in students:
        assert _SHORT_NAME.match(student["display_name"]), student["display_name"]  # "First L."


def test_class_insights(webapp: WebApp) -> None:
    """Called with the service key and the teacher's `user_id`, without a user token."""
    data = read_ok(webapp.call(INSIGHTS, bodies.analytics()))
    read_insights(data)
    assert data["class_summary"]["is_empty"] is False and data["topics"]
    unattempted = [
        a for s in data["students"] for a in s["activity_breakdown"] if not a["attempts"]
    ]
    assert unattempted and all(a["score"] == 0.0 for a in unattempted)  # the demo has gaps
    assert data["class_summary"]["at_risk_count"] > sum(
        s["risk_level"] == "high" for s in data["students"]
    )


def read_brief(data: Any) -> str:
    found = fields(data, "data", ("status", "is_stale", "payload", "generated_at", "has_evidence"))
    status = one_of(
        found["status"], ("empty", "ready", "generating", "no_data", "error"), "data.status"
    )
    boolean(found["is_stale"], "data.is_stale")
    boolean(found["has_evidence"], "data.has_evidence")
    optional_timestamp(found["generated_at"], "data.generated_at")
    if found["payload"] is not None:
        brief_payload(found["payload"], "data.payload")
    if status == "error":
        text(found.get("error_message"), "data.error_message")
    return str(status)


def test_class_teaching_brief(webapp: WebApp) -> None:
    """The stored brief first (nothing built yet), then a forced refresh builds it."""
    stored = read_ok(webapp.call(BRIEF, bodies.analytics()))
    assert read_brief(stored) == "empty" and stored["payload"] is None
    built = read_ok(webapp.call(BRIEF, bodies.analytics(force_refresh=True)))
    assert read_brief(built) == "ready" and built["payload"] is not None
    timestamp(built["generated_at"], "data.generated_at")
    assert built["is_stale"] is False and built["has_evidence"] is True
    again = read_ok(webapp.call(BRIEF, bodies.analytics()))
    assert read_brief(again) == "ready" and again["payload"] == built["payload"]


def test_class_teaching_brief_streams_when_asked(webapp: WebApp) -> None:
    """A forced refresh streams the build and ends with the brief; the stored brief streams
    as `metadata` and `values` alone."""
    built, events = read_stream(webapp, BRIEF, bodies.analytics(force_refresh=True))
    assert read_brief(built) == "ready" and built["payload"] is not None
    assert any(e.event in ("updates", "custom") for e in events)
    stored, events = read_stream(webapp, BRIEF, bodies.analytics())
    assert [e.event for e in events] == ["metadata", "values"]
    assert stored == built


def test_data_query(webapp: WebApp) -> None:
    body = bodies.data_query("What is the average quiz score per week?")
    data = read_ok(webapp.call(DATA_QUERY, body, user=TEACHER))
    points = chart(fields(data, "data", ("spec",))["spec"], "data.spec", points=(2, 8))
    assert points[0]["label"] != "No data available"
    for n, point in enumerate(points):
        assert 0 <= number(point["value"], f"data.spec.data[{n}].value") <= 100  # scores in %


def test_data_query_without_an_answer(webapp: WebApp) -> None:
    body = bodies.data_query("What will the weather be like on Mars tomorrow?")
    data = read_ok(webapp.call(DATA_QUERY, body, user=TEACHER))
    points = chart(data["spec"], "data.spec", points=(1, 1))
    assert points == [{"label": "No data available", "value": 0}]


@pytest.mark.parametrize("route", ["insights", "data-query"])
def test_analytics_routes_stream_when_asked(webapp: WebApp, route: str) -> None:
    if route == "insights":
        data, _ = read_stream(webapp, INSIGHTS, bodies.analytics())
        read_insights(data)
    else:
        body = bodies.data_query("What is the average quiz score per week?")
        data, _ = read_stream(webapp, DATA_QUERY, body, user=TEACHER)
        chart(data["spec"], "values.spec", points=(2, 8))

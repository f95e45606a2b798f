"""`/v1/analytics/class-insights` on both backends (the stream over a real socket)."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest

from tests.fakes import ScriptedChatModel
from tests.server.conftest import API_KEY, Api, Serve, ok, only, user_token
from tests.server.test_app import assert_error
from tests.sse import iter_events
from tools.demo import DEMO_CLASS_ID, DEMO_STUDENT_IDS, DEMO_TEACHER_ID, demo_topic_id
from tools.store import open_store

WAVES = demo_topic_id("waves-and-sound")  # the `topics` row id insights name it by

PATH = "/v1/analytics/class-insights"


def insights(api: Api, user: str = DEMO_TEACHER_ID, **body: Any) -> httpx.Response:
    return api.post(PATH, {"class_id": DEMO_CLASS_ID, "user_id": user, **body})


def other_teacher(api: Api) -> str:
    """A teacher account with a class of their own (not the demo class)."""
    teacher = str(uuid.uuid4())

    async def create() -> None:
        store = await open_store(
            api.settings.resolved_database_url, schema=api.settings.database_schema
        )
        try:
            await store.upsert_profile(teacher, "teacher", "Otto Other")
            await store.create_class(
                class_id=str(uuid.uuid4()),
                owner_id=teacher,
                title="Other class",
                join_code=teacher[:10],
            )
        finally:
            await store.close()

    asyncio.run(create())
    return teacher


def test_a_teacher_gets_the_class_insights(api: Api) -> None:
    data = ok(insights(api))
    assert set(data) == {
        "generated_at",
        "class_summary",
        "topics",
        "bloom_breakdown",
        "students",
        "ai_narrative",
        "attempts",
    }
    assert data["attempts"] == []
    summary = data["class_summary"]
    assert summary["student_count"] == 12 and summary["is_empty"] is False
    assert 0 <= summary["avg_score"] <= 1 and 0 <= summary["completion_rate"] <= 1
    assert {t["status"] for t in data["topics"]} <= {"critical", "warning", "good"}
    assert data["ai_narrative"]["executive_summary"]
    assert all(s["ai_mini_summary"] for s in data["students"])
    # Served from the snapshot within the hour; a forced refresh computes it again.
    assert ok(insights(api)) == data
    refreshed = ok(insights(api, force_refresh=True))
    assert refreshed["class_summary"] == summary
    assert refreshed["generated_at"] >= data["generated_at"]
    # With the teacher's own token the route works too.
    assert (
        ok(
            api.post(
                PATH,
                {"class_id": DEMO_CLASS_ID, "user_id": DEMO_TEACHER_ID},
                token=user_token(DEMO_TEACHER_ID),
            )
        )["class_summary"]
        == summary
    )


def test_who_may_see_the_insights(api: Api) -> None:
    assert_error(insights(api, DEMO_STUDENT_IDS[0]), 403, "forbidden_account_type")
    assert_error(insights(api, other_teacher(api)), 403, "forbidden")
    assert_error(insights(api, str(uuid.uuid4())), 403, "profile_missing")
    assert_error(
        insights(api, class_id="c1a55000-0000-4000-8000-0000000000ff"), 404, "class_not_found"
    )
    body = {"class_id": DEMO_CLASS_ID, "user_id": DEMO_TEACHER_ID}
    student_token = user_token(DEMO_STUDENT_IDS[0])
    assert_error(api.post(PATH, body, token=student_token), 403, "user_id_mismatch")
    assert_error(api.post(PATH, {"class_id": DEMO_CLASS_ID}), 422, "validation_error")
    assert_error(api.post(PATH, body, key=None), 401, "unauthorized")


@pytest.mark.live
def test_stream_ends_with_the_json_data(api: Api) -> None:
    headers = {"x-api-key": API_KEY, "accept": "text/event-stream"}
    body = {"class_id": DEMO_CLASS_ID, "user_id": DEMO_TEACHER_ID}
    with api.client.stream("POST", api.url + PATH, json=body, headers=headers) as response:
        assert response.status_code == 200
        events = list(iter_events(response))
    assert events[0].event == "metadata" and events[-1].event == "values"
    stages = [e.data.get("stage") for e in events if e.event == "custom"]
    assert stages[:2] == ["computed", "narrate"] and stages[-1] == "done"
    assert events[-1].data == ok(insights(api))  # the JSON route now serves the snapshot


def test_a_model_narrative_reaches_the_client(serve: Serve) -> None:
    reply = (
        '{"executive_summary": "Waves need attention.", "key_findings": ["Waves are weakest."],'
        ' "interventions": [{"type": "generate_quiz", "topic_id": "' + WAVES + '",'
        ' "topic_title": "x", "reason": "Lowest score.", "suggested_action": "Practice quiz."},'
        ' {"type": "generate_quiz", "topic_id": "no-such-topic", "topic_title": "x",'
        ' "reason": "r", "suggested_action": "a"}], "student_summaries": {}}'
    )
    with serve(chat=only(ScriptedChatModel.replying(reply))) as api:
        story = ok(insights(api))["ai_narrative"]
    assert story["executive_summary"] == "Waves need attention."
    assert [i["topic_id"] for i in story["interventions"]] == [WAVES]

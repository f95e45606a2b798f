"""`/v1/analytics/class-teaching-brief` on both backends, on the demo class (concurrent and
impatient clients over a real socket)."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from types import SimpleNamespace
from typing import Any, TypeVar

import anyio
import httpx
import pytest

from graphs.teaching_brief.rules import validate_brief
from server.routes import teaching_brief
from tests.fakes import ScriptedChatModel, SlowChatModel, SlowScriptedChatModel
from tests.server.conftest import API_KEY, Api, Serve, ok, only, user_token
from tests.server.test_app import assert_error
from tests.sse import Event, iter_events
from tools.analytics.brief_store import begin_refresh, finish_refresh, read_brief
from tools.analytics.insights import compute_insights
from tools.clock import utc_now
from tools.demo import (
    DEMO_CLASS_ID,
    DEMO_STUDENT_IDS,
    DEMO_TEACHER_ID,
    demo_topic_id,
    seed_demo,
)
from tools.models.providers import ChatProvider
from tools.models.router import ModelRouter
from tools.store import open_store
from tools.store.base import Store

T = TypeVar("T")
PATH = "/v1/analytics/class-teaching-brief"
TOMAS = DEMO_STUDENT_IDS[1]
DEMO_BRIEF: dict[str, Any] = {
    "summary": "Waves and energy lag behind forces.",
    "strongest_action": "Reteach the wave equation with a worked example.",
    "attention_items": ["Waves and sound: avg 63% over 25 attempts"],
    "misconceptions": [
        {
            "topic_id": demo_topic_id("waves-and-sound"),
            "topic_title": "Waves and sound",
            "description": "Some think sound travels through a vacuum.",
        }
    ],
    "students_to_watch": [{"student_id": TOMAS, "display_name": "Tomás R.", "reason": "60%"}],
    "next_step": "Set a short quiz on waves.",
    "recommended_activity": {"type": "quiz", "reason": "Waves has the lowest average."},
    "evidence_basis": "Quiz attempts, completion and chat.",
}


def scripted(*replies: Any, slow: bool = False) -> ScriptedChatModel:
    return (SlowScriptedChatModel if slow else ScriptedChatModel).replying(*replies)


def with_store(api: Api, use: Callable[[Store], Awaitable[T]]) -> T:
    """Run `use` on a store connection of the test's own, to the server's database."""

    async def run() -> T:
        store = await open_store(
            api.settings.resolved_database_url, schema=api.settings.database_schema
        )
        try:
            return await use(store)
        finally:
            await store.close()

    return asyncio.run(run())


def brief(api: Api, user: str = DEMO_TEACHER_ID, **body: Any) -> httpx.Response:
    return api.post(PATH, {"class_id": DEMO_CLASS_ID, "user_id": user, **body})


def stream(api: Api, **body: Any) -> list[Event]:
    """The brief asked for as `text/event-stream`: every event of the stream."""
    sent = {"class_id": DEMO_CLASS_ID, "user_id": DEMO_TEACHER_ID, **body}
    headers = {"x-api-key": API_KEY, "accept": "text/event-stream"}
    with api.client.stream("POST", api.url + PATH, json=sent, headers=headers) as response:
        assert response.status_code == 200, response.read()
        assert response.headers["content-type"].startswith("text/event-stream")
        return list(iter_events(response))


def test_empty_then_refresh_then_ready_and_not_stale(api: Api) -> None:
    assert ok(brief(api)) == {
        "status": "empty",
        "is_stale": False,
        "payload": None,
        "generated_at": None,
        "has_evidence": False,
    }
    built = ok(brief(api, force_refresh=True))
    assert (built["status"], built["is_stale"], built["has_evidence"]) == ("ready", False, True)
    assert "error_message" not in built and built["generated_at"].endswith("Z")
    insights = with_store(api, lambda store: compute_insights(store, DEMO_CLASS_ID))
    assert validate_brief(built["payload"], insights) == []
    assert built["payload"]["misconceptions"] and built["payload"]["students_to_watch"]

    again = ok(brief(api, force_refresh=None))
    assert again == built
    # The next UTC day the same brief is returned as it is, marked stale.
    yesterday = utc_now() - timedelta(days=1)
    with_store(
        api,
        lambda store: finish_refresh(
            store, DEMO_CLASS_ID, built["payload"], has_evidence=True, now=yesterday
        ),
    )
    stale = ok(brief(api, force_refresh=False))
    assert (stale["status"], stale["is_stale"], stale["payload"]) == (
        "ready",
        True,
        built["payload"],
    )


@pytest.mark.live
def test_concurrent_refreshes_build_once(serve: Serve) -> None:
    model = scripted(DEMO_BRIEF, slow=True)
    with serve(chat=only(model)) as api:
        barrier = threading.Barrier(2)
        answers: list[Any] = [None, None]

        def refresh(slot: int) -> None:
            with httpx.Client(timeout=30) as client:
                barrier.wait()
                answers[slot] = client.post(
                    api.url + PATH,
                    json={
                        "class_id": DEMO_CLASS_ID,
                        "user_id": DEMO_TEACHER_ID,
                        "force_refresh": True,
                    },
                    headers={"x-api-key": API_KEY},
                )

        threads = [threading.Thread(target=refresh, args=(n,)) for n in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        statuses = sorted(ok(answer)["status"] for answer in answers)
        assert statuses in (["generating", "ready"], ["ready", "ready"])
        assert len(model.prompts) == 1, "the brief was built more than once"
        ready = [ok(a) for a in answers if ok(a)["status"] == "ready"]
        assert all(r["payload"] == DEMO_BRIEF for r in ready)
        assert len({r["generated_at"] for r in ready}) == 1
        assert ok(brief(api))["status"] == "ready"


def test_a_refresh_under_way_answers_generating_without_building(serve: Serve) -> None:
    model = scripted(DEMO_BRIEF)
    with serve(chat=only(model)) as api:
        assert with_store(api, lambda store: begin_refresh(store, DEMO_CLASS_ID)) is True
        waiting = ok(brief(api, force_refresh=True))
        assert (waiting["status"], waiting["payload"]) == ("generating", None)
        assert model.prompts == []


def unusable_offline_brief(monkeypatch: pytest.MonkeyPatch) -> None:
    """Leave the graph no fallback: the offline engine's brief breaks the rules too."""
    monkeypatch.setattr("graphs.teaching_brief.nodes.offline_brief", lambda *a: {"summary": ""})


def test_a_refresh_whose_model_stays_invalid_is_the_offline_brief_with_attempts(
    serve: Serve,
) -> None:
    model = scripted("not json", '{"summary": "half"}', "still not")
    with serve(chat=only(model)) as api:
        built = ok(brief(api, force_refresh=True))
        assert built["status"] == "ready" and len(model.prompts) == 3
        insights = with_store(api, lambda store: compute_insights(store, DEMO_CLASS_ID))
        assert validate_brief(built["payload"], insights) == []
        assert [(a["provider"], a["error"]) for a in built["attempts"]] == [
            ("openai", "invalid_output")
        ]
        # The stored brief is the same one, without the refresh's attempts.
        assert ok(brief(api)) == {k: v for k, v in built.items() if k != "attempts"}


def test_a_failed_refresh_keeps_the_previous_payload(
    serve: Serve, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = scripted(DEMO_BRIEF, "not json", '{"summary": "half"}', "still not")
    with serve(chat=only(model)) as api:
        first = ok(brief(api, force_refresh=True))
        assert first["payload"] == DEMO_BRIEF
        with monkeypatch.context() as patch:
            unusable_offline_brief(patch)
            failed = ok(brief(api, force_refresh=True))
        assert failed["status"] == "error" and "teaching brief" in failed["error_message"]
        assert (failed["payload"], failed["generated_at"]) == (DEMO_BRIEF, first["generated_at"])
        assert len(model.prompts) == 4
        assert ok(brief(api)) == failed
        row = with_store(api, lambda store: read_brief(store, DEMO_CLASS_ID))
        assert row is not None and row["refresh_started_at"] is None
        # The scripted model has nothing left to say: the router falls back to offline.
        recovered = ok(brief(api, force_refresh=True))
        assert recovered["status"] == "ready" and "error_message" not in recovered
        assert recovered["payload"] != DEMO_BRIEF


def test_a_class_without_evidence_is_no_data(api: Api) -> None:
    class_id = str(uuid.uuid4())

    async def new_class(store: Store) -> None:
        await store.create_class(
            class_id=class_id, owner_id=DEMO_TEACHER_ID, title="New", join_code="NEW12345"
        )

    with_store(api, new_class)
    body = {"class_id": class_id, "user_id": DEMO_TEACHER_ID}
    assert ok(api.post(PATH, body))["status"] == "empty"
    data = ok(api.post(PATH, {**body, "force_refresh": True}))
    assert (data["status"], data["payload"], data["has_evidence"]) == ("no_data", None, False)
    assert data["generated_at"] is not None and data["is_stale"] is False


def test_only_the_class_teachers_may_ask(api: Api) -> None:
    assert_error(brief(api, DEMO_STUDENT_IDS[0]), 403, "forbidden_account_type")
    assert_error(brief(api, DEMO_STUDENT_IDS[0], force_refresh=True), 403, "forbidden_account_type")
    other = str(uuid.uuid4())
    with_store(api, lambda store: store.upsert_profile(other, "teacher", "Other"))
    assert_error(brief(api, other, force_refresh=True), 403, "forbidden")
    missing = api.post(PATH, {"class_id": str(uuid.uuid4()), "user_id": DEMO_TEACHER_ID})
    assert_error(missing, 404, "class_not_found")
    assert_error(api.post(PATH, {"class_id": DEMO_CLASS_ID}), 422, "validation_error")
    unsigned = api.post(PATH, {"class_id": DEMO_CLASS_ID, "user_id": DEMO_TEACHER_ID}, key=None)
    assert unsigned.status_code == 401
    # A user token, when sent, must name the body's user.
    mismatch = api.post(
        PATH,
        {"class_id": DEMO_CLASS_ID, "user_id": DEMO_TEACHER_ID},
        token=user_token(DEMO_STUDENT_IDS[0]),
    )
    assert_error(mismatch, 403, "user_id_mismatch")
    assert with_store(api, lambda store: read_brief(store, DEMO_CLASS_ID)) is None


@pytest.mark.live
def test_a_client_that_gives_up_does_not_leave_the_refresh_running(serve: Serve) -> None:
    model = scripted(DEMO_BRIEF, slow=True)
    with serve(chat=only(model)) as api:
        with pytest.raises(httpx.ReadTimeout), httpx.Client(timeout=0.3) as impatient:
            impatient.post(
                api.url + PATH,
                json={"class_id": DEMO_CLASS_ID, "user_id": DEMO_TEACHER_ID, "force_refresh": 1},
                headers={"x-api-key": API_KEY},
            )
        deadline = time.monotonic() + 10
        while ok(brief(api))["status"] == "generating" and time.monotonic() < deadline:
            time.sleep(0.1)
        assert ok(brief(api))["status"] in ("ready", "error")


@pytest.mark.live
def test_a_streamed_refresh_ends_with_the_brief_and_a_failed_one_with_the_error_state(
    serve: Serve, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = scripted(DEMO_BRIEF, "not json", '{"summary": "half"}', "still not")
    with serve(chat=only(model)) as api:
        stored = stream(api)
        assert [e.event for e in stored] == ["metadata", "values"]
        assert stored[-1].data["status"] == "empty"
        built = stream(api, force_refresh=True)
        assert built[-1].event == "values" and built[-1].data["payload"] == DEMO_BRIEF
        stages = [e.data["stage"] for e in built if e.event == "custom"]
        assert stages[0] == "insights" and "validate" in stages
        assert built[-1].data == ok(brief(api))
        # A build the graph reports as failed is an ordinary outcome: a `values` event with the
        # `error` state and the previous brief, never an `error` event.
        unusable_offline_brief(monkeypatch)
        failed = stream(api, force_refresh=True)
        assert [e.event for e in failed].count("error") == 0
        assert failed[-1].event == "values"
        assert (failed[-1].data["status"], failed[-1].data["payload"]) == ("error", DEMO_BRIEF)
        assert "teaching brief" in failed[-1].data["error_message"]
        assert ok(brief(api)) == failed[-1].data


@pytest.mark.live
def test_a_client_that_leaves_a_streamed_build_leaves_the_row_in_error(serve: Serve) -> None:
    model = scripted(DEMO_BRIEF, slow=True)
    with serve(chat=only(model)) as api:
        body = {"class_id": DEMO_CLASS_ID, "user_id": DEMO_TEACHER_ID, "force_refresh": True}
        headers = {"x-api-key": API_KEY, "accept": "text/event-stream"}
        with (
            httpx.Client(timeout=10) as client,
            client.stream("POST", api.url + PATH, json=body, headers=headers) as response,
        ):
            for event in iter_events(response):
                if event.event == "custom" and event.data["stage"] == "draft":
                    break  # the model is answering: leave now
        deadline = time.monotonic() + 5
        while ok(brief(api))["status"] == "generating" and time.monotonic() < deadline:
            time.sleep(0.05)
        left = ok(brief(api))
        assert (left["status"], left["error_message"]) == ("error", teaching_brief.INTERRUPTED)
        row = with_store(api, lambda store: read_brief(store, DEMO_CLASS_ID))
        assert row is not None and row["refresh_started_at"] is None


async def test_a_cancelled_build_moves_the_row_to_error(store: Any) -> None:
    await seed_demo(store)
    slow = SlowChatModel(delay_s=5)
    state = SimpleNamespace(
        settings=SimpleNamespace(ai_request_timeout_ms=10_000),
        router=lambda: ModelRouter([ChatProvider("openai", "slow", slow)]),
        store=store,
    )
    assert await begin_refresh(store, DEMO_CLASS_ID)
    # Level-triggered (anyio) cancellation, as Starlette applies it: the cleanup is shielded.
    with anyio.move_on_after(0.3) as scope:
        await teaching_brief._refresh(state, store, DEMO_CLASS_ID)  # type: ignore[arg-type]
    assert scope.cancelled_caught
    row = await read_brief(store, DEMO_CLASS_ID)
    assert row is not None and row["status"] == "error"
    assert row["error_message"] == teaching_brief.INTERRUPTED and row["refresh_started_at"] is None

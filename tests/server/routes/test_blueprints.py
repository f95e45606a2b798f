"""`/v1/blueprints/generate` and the approval flow on both backends (streams over a socket)."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest

from tests.server.conftest import API_KEY, Api, Serve, user_token
from tests.server.test_app import assert_error
from tests.sse import iter_events
from tools.demo import (
    DEMO_CLASS_ID,
    DEMO_GUEST_ID,
    DEMO_SANDBOX_ID,
    DEMO_STUDENT_IDS,
    DEMO_TEACHER_ID,
)
from tools.payloads.blueprint import validate_blueprint
from tools.store import open_store

MATERIAL = (
    "Source 1 | Forces | markdown 1\n# Forces\nA force is a push or a pull measured in newtons. "
    "Friction is a force that opposes motion between surfaces in contact.\n\n"
    "Source 2 | Energy | markdown 1\n# Energy\nEnergy is measured in joules. Kinetic energy "
    "depends on mass and speed. Power is the rate of doing work and is measured in watts."
)
BODY: dict[str, Any] = {
    "class_title": "Physics",
    "subject": None,
    "level": None,
    "material_count": 2,
    "material_text": MATERIAL,
}


def teacher() -> str:
    return user_token(DEMO_TEACHER_ID)


def ok(response: Any) -> Any:
    assert response.status_code == 200, response.text
    return response.json()["data"]


def published(api: Api, class_id: str) -> dict[str, Any] | None:
    async def read() -> dict[str, Any] | None:
        store = await open_store(
            api.settings.resolved_database_url, schema=api.settings.database_schema
        )
        try:
            return await store.get_published_blueprint(class_id)
        finally:
            await store.close()

    return asyncio.run(read())


@pytest.mark.live
def test_generate_returns_a_valid_blueprint(api: Api) -> None:
    data = ok(api.post("/v1/blueprints/generate", BODY))
    assert set(data) == {"payload", "provider", "model", "usage", "latency_ms", "attempts"}
    assert validate_blueprint(data["payload"], source_labels={"Source 1", "Source 2"}) == []
    assert_error(
        api.post("/v1/blueprints/generate", {**BODY, "material_count": 0}), 422, "validation_error"
    )
    headers = {"x-api-key": API_KEY, "accept": "text/event-stream"}
    with api.client.stream(
        "POST", api.url + "/v1/blueprints/generate", json=BODY, headers=headers
    ) as response:
        events = list(iter_events(response))
    assert events[-1].event == "values"
    assert events[-1].data["payload"] == data["payload"]


def test_a_draft_waits_for_the_teacher_and_publishes_atomically(api: Api) -> None:
    body = {**BODY, "class_id": DEMO_CLASS_ID, "require_approval": True}
    assert_error(api.post("/v1/blueprints/generate", body), 401, "user_token_required")
    assert_error(
        api.post("/v1/blueprints/generate", body, token=user_token(DEMO_STUDENT_IDS[0])),
        403,
        "forbidden",
    )
    before = published(api, DEMO_CLASS_ID)
    draft = ok(api.post("/v1/blueprints/generate", body, token=teacher()))
    assert draft["status"] == "awaiting_approval" and uuid.UUID(draft["draft_id"])
    # Nothing is published while the draft waits.
    assert published(api, DEMO_CLASS_ID) == before
    decision = {
        "class_id": DEMO_CLASS_ID,
        "user_id": DEMO_TEACHER_ID,
        "draft_id": draft["draft_id"],
        "approved": True,
    }
    assert_error(
        api.post(
            "/v1/blueprints/approve",
            {**decision, "user_id": DEMO_STUDENT_IDS[0]},
            token=user_token(DEMO_STUDENT_IDS[0]),
        ),
        403,
        "forbidden",
    )
    result = ok(api.post("/v1/blueprints/approve", decision, token=teacher()))
    assert result["published"] is True and uuid.UUID(result["blueprint_id"])
    assert published(api, DEMO_CLASS_ID) == draft["payload"]
    # The draft is spent.
    assert_error(
        api.post("/v1/blueprints/approve", decision, token=teacher()), 404, "draft_not_found"
    )


def test_rejections_and_bad_edits_publish_nothing(api: Api) -> None:
    body = {**BODY, "class_id": DEMO_CLASS_ID, "require_approval": True}
    before = published(api, DEMO_CLASS_ID)
    draft = ok(api.post("/v1/blueprints/generate", body, token=teacher()))
    decision = {
        "class_id": DEMO_CLASS_ID,
        "user_id": DEMO_TEACHER_ID,
        "draft_id": draft["draft_id"],
    }
    broken = {**draft["payload"], "topics": []}
    assert_error(
        api.post(
            "/v1/blueprints/approve",
            {**decision, "approved": True, "payload": broken},
            token=teacher(),
        ),
        422,
        "invalid_blueprint_review",
    )
    assert published(api, DEMO_CLASS_ID) == before
    unknown = {**decision, "draft_id": str(uuid.uuid4()), "approved": True}
    assert_error(
        api.post("/v1/blueprints/approve", unknown, token=teacher()), 404, "draft_not_found"
    )


def test_guest_blueprint_limit(serve: Serve) -> None:
    with serve(guest_blueprint_limit=1) as api:
        guest = user_token(DEMO_GUEST_ID, anonymous=True)
        body = {**BODY, "sandbox_id": DEMO_SANDBOX_ID}
        assert api.post("/v1/blueprints/generate", body, token=guest).status_code == 200
        assert_error(
            api.post("/v1/blueprints/generate", body, token=guest), 429, "guest_rate_limit"
        )


def test_an_invalid_edit_leaves_the_draft_waiting(api: Api) -> None:
    """A rejected edit is a 422 that changes nothing: the same draft can then be edited again,
    approved or rejected (each draft here gets one of those after its bad edit)."""
    body = {**BODY, "class_id": DEMO_CLASS_ID, "require_approval": True}

    def draft_with_a_bad_edit() -> tuple[dict[str, Any], dict[str, Any]]:
        before = published(api, DEMO_CLASS_ID)
        draft = ok(api.post("/v1/blueprints/generate", body, token=teacher()))
        decision = {
            "class_id": DEMO_CLASS_ID,
            "user_id": DEMO_TEACHER_ID,
            "draft_id": draft["draft_id"],
            "approved": True,
        }
        broken = {**draft["payload"], "topics": []}
        refused = api.post(
            "/v1/blueprints/approve", {**decision, "payload": broken}, token=teacher()
        )
        assert_error(refused, 422, "invalid_blueprint_review")
        # Twice, so a stored failure would show.
        refused = api.post(
            "/v1/blueprints/approve", {**decision, "payload": broken}, token=teacher()
        )
        assert_error(refused, 422, "invalid_blueprint_review")
        assert published(api, DEMO_CLASS_ID) == before
        return draft, decision

    # A corrected edit is published.
    draft, decision = draft_with_a_bad_edit()
    corrected = {**draft["payload"], "summary": "A corrected summary written by the teacher."}
    result = ok(
        api.post("/v1/blueprints/approve", {**decision, "payload": corrected}, token=teacher())
    )
    assert result["published"] is True and result["payload"] == corrected
    assert published(api, DEMO_CLASS_ID) == corrected

    # A rejection publishes nothing and spends the draft.
    _, decision = draft_with_a_bad_edit()
    rejected = ok(
        api.post("/v1/blueprints/approve", {**decision, "approved": False}, token=teacher())
    )
    assert rejected["published"] is False and rejected["blueprint_id"] is None
    assert published(api, DEMO_CLASS_ID) == corrected
    assert_error(
        api.post("/v1/blueprints/approve", decision, token=teacher()), 404, "draft_not_found"
    )

    # A plain approval publishes the draft as generated.
    draft, decision = draft_with_a_bad_edit()
    approved = ok(api.post("/v1/blueprints/approve", decision, token=teacher()))
    assert approved["published"] is True
    assert published(api, DEMO_CLASS_ID) == draft["payload"]

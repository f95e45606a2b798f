"""`/v1/chat/generate` failures and `/v1/chat/canvas`, in-process on both backends."""

from __future__ import annotations

import json
import uuid
from typing import Any

from graphs.chat.nodes import APOLOGY
from server.routes.chat import orchestration
from tests.fakes import ScriptedChatModel
from tests.server.conftest import Api, Serve, only, user_token
from tests.server.routes.test_access_rules import with_store
from tests.server.routes.test_workspace import call, new_session, ok
from tests.server.test_app import assert_error
from tools.demo import DEMO_CLASS_ID, DEMO_STUDENT_IDS, DEMO_TEACHER_ID
from tools.payloads.canvas import validate_canvas_spec
from tools.store import Store

LENA = DEMO_STUDENT_IDS[0]
GENERATE: dict[str, Any] = {
    "class_id": DEMO_CLASS_ID,
    "user_id": LENA,
    "class_title": "Physics",
    "user_message": "What is power measured in?",
    "transcript": [],
    "blueprint_context": "",
    "material_context": "Source 1 | Energy | markdown 1\nPower is measured in watts.",
    "tool_mode": "off",
}


def test_chat_needs_a_published_blueprint(api: Api) -> None:
    # The demo class has one; a class without one cannot chat.
    assert ok(api.post("/v1/chat/generate", GENERATE))["payload"]["safety"] == "ok"
    other_class = {**GENERATE, "class_id": class_without_a_blueprint(api)}
    assert_error(api.post("/v1/chat/generate", other_class), 409, "blueprint_not_published")
    given = {**other_class, "blueprint_context": "Blueprint Context\n1. Energy"}
    assert ok(api.post("/v1/chat/generate", given))["payload"]["answer"]
    # A class that does not exist is not found, even for the trusted service key.
    unknown = {**given, "class_id": str(uuid.uuid4())}
    assert_error(api.post("/v1/chat/generate", unknown), 404, "class_not_found")


def class_without_a_blueprint(api: Api) -> str:
    class_id = str(uuid.uuid4())

    async def create(store: Store) -> None:
        await store.create_class(
            class_id=class_id, owner_id=DEMO_TEACHER_ID, title="New", join_code=class_id[:8]
        )

    with_store(api, create)
    return class_id


def test_model_citations_of_unknown_sources_are_dropped(serve: Serve) -> None:
    reply = {
        "safety": "ok",
        "answer": "Watts [Source 1].",
        "citations": [
            {"source_label": "Source 1", "snippet": "watts"},
            {"sourceLabel": "Source 9", "rationale": "made up"},
        ],
    }
    with serve(chat=only(ScriptedChatModel.replying(json.dumps(reply)))) as api:
        data = ok(api.post("/v1/chat/generate", GENERATE))
    assert data["payload"]["citations"] == [{"sourceLabel": "Source 1", "rationale": "watts"}]
    # One string, the notes joined with "; " (the web app's type).
    assert "dropped a citation of an unknown source" in data["orchestration"]["notes"]
    assert data["provider"] == "openai"


def test_orchestration_notes_are_one_string_joined_with_semicolons() -> None:
    values = {"notes": ["dropped a citation of an unknown source", "", "the reply had no answer"]}
    found = orchestration(values, "plan", ["canvas"])
    assert found == {
        "engine": "langgraph",
        "tool_mode": "plan",
        "tool_calls": [],
        "tool_catalog": ["canvas"],
        "notes": "dropped a citation of an unknown source; the reply had no answer; "
        "tool_mode=plan: no tools are run yet",
    }
    assert orchestration({}, "off", None)["notes"] == ""


def test_an_empty_answer_twice_is_an_apology_with_attempts(serve: Serve) -> None:
    empty = json.dumps({"safety": "ok", "answer": "", "citations": []})
    model = ScriptedChatModel.replying(empty, empty, empty, empty)
    apology = {"safety": "ok", "answer": APOLOGY, "citations": []}
    with serve(chat=only(model)) as api:
        data = ok(api.post("/v1/chat/generate", GENERATE))
        assert (data["payload"], data["provider"]) == (apology, "offline")
        assert [(a["model"], a["error"]) for a in data["attempts"]] == [
            ("fake-model", "invalid_output")
        ]
        session = new_session(api)
        sent = ok(
            call(
                api,
                "messages/send",
                LENA,
                session_id=session["id"],
                message="Power?",
                tool_mode="off",
            )
        )
        assert sent["response"] == apology
        assert [a["error"] for a in sent["attempts"]] == ["invalid_output"]
        # What was saved is what the student was told.
        listed = ok(call(api, "messages/list", LENA, session_id=session["id"]))["messages"]
        assert [m["content"] for m in listed] == ["Power?", APOLOGY]
        assert listed[-1] == sent["assistant_message"]
    assert len(model.prompts) == 4  # one repair per turn


def test_canvas_returns_a_valid_spec_of_the_hinted_type(api: Api) -> None:
    for kind in ("chart", "diagram", "wave", "vector"):
        body = {
            "class_id": DEMO_CLASS_ID,
            "canvas_hint": {"type": kind, "concept": "forces on a block", "title": "Forces"},
            "student_question": "What forces act on the block?",
            "ai_answer": "A 5 N force at 30° and a 3 N force at 120° act on the block.",
        }
        spec = ok(api.post("/v1/chat/canvas", body, token=user_token(LENA)))["spec"]
        assert spec["type"] == kind
        assert validate_canvas_spec(spec, expected_type=kind) == []
        assert None not in spec.values()


def test_canvas_validates_its_hint(api: Api) -> None:
    base = {"class_id": DEMO_CLASS_ID, "student_question": "q", "ai_answer": "a"}
    bad_type = {**base, "canvas_hint": {"type": "map", "concept": "x", "title": "y"}}
    assert_error(api.post("/v1/chat/canvas", bad_type), 422, "validation_error")
    long_concept = {**base, "canvas_hint": {"type": "chart", "concept": "x" * 201, "title": "y"}}
    assert_error(api.post("/v1/chat/canvas", long_concept), 422, "validation_error")
    long_answer = {
        **base,
        "ai_answer": "a" * 2001,
        "canvas_hint": {"type": "chart", "concept": "x", "title": "y"},
    }
    assert_error(api.post("/v1/chat/canvas", long_answer), 422, "validation_error")
    outsider = api.post(
        "/v1/chat/canvas",
        {**base, "canvas_hint": {"type": "chart", "concept": "x", "title": "y"}},
        token=user_token(str(uuid.uuid4())),
    )
    assert_error(outsider, 403, "forbidden")

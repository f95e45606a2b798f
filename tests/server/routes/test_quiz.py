"""`POST /v1/quiz/generate`: JSON in-process; SSE, pings and disconnects over a real socket."""

from __future__ import annotations

import json

import pytest

from server.schemas import MAX_TIMEOUT_MS
from tests.fakes import ScriptedChatModel, TrickleChatModel
from tests.server.conftest import API_KEY, Api, Serve, only, user_token
from tests.server.test_app import assert_error
from tests.sse import iter_events, leave_at_first_token
from tools.demo import DEMO_CLASS_ID, DEMO_STUDENT_IDS
from tools.payloads.quiz import validate_quiz

MATERIAL = (
    "A force is a push or a pull. The SI unit of force is the newton. "
    "Weight is the force of gravity acting on a mass. Friction opposes motion between surfaces. "
    "The SI unit of energy is the joule. Power is measured in watts."
)
BODY = {
    "class_title": "Physics",
    "question_count": 3,
    "instructions": "",
    "blueprint_context": "",
    "material_context": MATERIAL,
}
GOOD = {
    "questions": [
        {
            "question": "What is the SI unit of force?",
            "choices": ["joule", "newton", "watt", "pascal"],
            "answer": "newton",
            "explanation": "The material says the SI unit of force is the newton.",
        }
    ]
}
LENA = DEMO_STUDENT_IDS[0]
BAD = {
    "questions": [
        {"question": "Q?", "choices": ["a", "a", "b", "c"], "answer": "z", "explanation": "x"}
    ]
}


def stream(api: Api, body: dict[str, object], **kwargs: object) -> tuple[list, list[str]]:
    pings: list[str] = []
    headers = {"x-api-key": API_KEY, "accept": "text/event-stream"}
    with api.client.stream(
        "POST", api.url + "/v1/quiz/generate", json=body, headers=headers
    ) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        events = list(iter_events(response, pings=pings))
    return events, pings


def test_json_quiz_from_material_is_valid_and_grounded(api: Api) -> None:
    response = api.post("/v1/quiz/generate", BODY)
    assert response.status_code == 200, response.text
    envelope = response.json()
    assert envelope["ok"] is True and envelope["error"] is None
    data = envelope["data"]
    assert set(data) == {"payload", "provider", "model", "usage", "latency_ms", "attempts"}
    assert data["provider"] == "offline" and data["attempts"] == []
    assert validate_quiz(data["payload"], question_count=3) == []
    for question in data["payload"]["questions"]:
        assert question["answer"].casefold() in MATERIAL.casefold()


def test_quiz_from_the_class_materials_by_class_id(api: Api) -> None:
    body = {
        **BODY,
        "material_context": None,
        "class_id": DEMO_CLASS_ID,
        "instructions": "sound waves and frequency",
    }
    response = api.post("/v1/quiz/generate", body)
    assert response.status_code == 200, response.text
    payload = response.json()["data"]["payload"]
    assert validate_quiz(payload, question_count=3) == []
    assert any("Source" not in q["question"] for q in payload["questions"])


def test_needs_material_or_a_class(api: Api) -> None:
    body = {**BODY, "material_context": "   "}
    assert_error(api.post("/v1/quiz/generate", body), 422, "validation_error")


def test_invalid_model_output_is_repaired_with_the_errors(serve: Serve) -> None:
    model = ScriptedChatModel.replying(json.dumps(BAD), "not json at all", json.dumps(GOOD))
    with serve(chat=only(model)) as api:
        response = api.post("/v1/quiz/generate", BODY)
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert data["payload"] == GOOD
    assert data["provider"] == "openai" and data["model"] == "fake-model"
    assert len(model.prompts) == 3
    repair_prompt = model.prompts[1][-1].text
    assert "choices must be distinct" in repair_prompt


def test_unrepairable_output_falls_back_to_the_offline_quiz_and_says_so(serve: Serve) -> None:
    model = ScriptedChatModel.replying(*[json.dumps(BAD)] * 3)
    with serve(chat=only(model)) as api:
        response = api.post("/v1/quiz/generate", BODY)
        offline = api.post("/v1/quiz/generate", BODY).json()["data"]  # the model is spent
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert len(model.prompts) == 4  # three for the first request, one for the second
    assert (data["provider"], data["model"]) == ("offline", "stemgraph-offline-1")
    assert validate_quiz(data["payload"], question_count=3) == []
    assert data["payload"] == offline["payload"]
    assert data["attempts"] == [
        {
            "provider": "openai",
            "model": "fake-model",
            "error": "invalid_output",
            "message": "The reply broke the rules after 2 repairs: Question 1: the choices "
            "must be distinct.",
        }
    ]


@pytest.mark.live
def test_sse_follows_the_langgraph_framing(serve: Serve) -> None:
    with serve() as api:
        json_data = api.post("/v1/quiz/generate", BODY).json()["data"]
        events, _ = stream(api, BODY)
    names = [event.event for event in events]
    assert names[0] == "metadata" and names[-1] == "values"
    run_id = events[0].data["run_id"]
    assert all(event.id == f"{run_id}:{n}" for n, event in enumerate(events, start=1))
    assert "updates" in names and "custom" in names and "messages" in names
    stages = [e.data["stage"] for e in events if e.event == "custom"]
    assert stages[0] == "context" and stages[-1] == "done"
    chunk, metadata = next(e.data for e in events if e.event == "messages")
    assert chunk["type"] == "AIMessageChunk" and metadata["langgraph_node"] == "generate"
    streamed = "".join(e.data[0]["content"] for e in events if e.event == "messages")
    final = events[-1].data
    assert json.loads(streamed) == final["payload"]
    # The offline engine is deterministic: the stream's final data equals the JSON route's.
    assert final["payload"] == json_data["payload"]
    assert set(final) == set(json_data)


@pytest.mark.live
def test_sse_reports_failures_as_error_events(serve: Serve) -> None:
    # Neither the model nor the offline engine can make a quiz of three words.
    model = ScriptedChatModel.replying(*[json.dumps(BAD)] * 3)
    with serve(chat=only(model)) as api:
        events, _ = stream(api, {**BODY, "material_context": "Yes. No. Maybe."})
    assert events[0].event == "metadata"
    assert events[-1].event == "error"
    assert events[-1].data["code"] == "quiz_error"
    assert events[-1].data["message"]
    assert "values" not in [e.event for e in events]


@pytest.mark.live
def test_sse_pings_keep_a_slow_stream_alive(serve: Serve) -> None:
    model = TrickleChatModel(reply=json.dumps(GOOD), token_delay_s=0.12)
    with serve(chat=only(model), sse_ping_seconds=0.2) as api:
        events, pings = stream(api, BODY)
    assert events[-1].event == "values"
    assert pings, "no ping comment arrived during a multi-second stream"


@pytest.mark.live
def test_client_disconnect_cancels_the_run(serve: Serve) -> None:
    model = TrickleChatModel(reply=json.dumps(GOOD) + " " + "pad " * 200, token_delay_s=0.05)
    with serve(chat=only(model)) as api:
        headers = {"x-api-key": API_KEY, "accept": "text/event-stream"}
        leave_at_first_token(api.url + "/v1/quiz/generate", BODY, headers)
        assert model.wait_cancelled(), "the model kept generating after the client left"
        assert not model.finished
        assert model.tokens_sent < 100


@pytest.mark.live
def test_the_langgraph_sdk_decoder_reads_the_stream(api: Api) -> None:
    from langgraph_sdk.sse import SSEDecoder, iter_lines_raw

    decoder = SSEDecoder()
    parts = []
    headers = {"x-api-key": API_KEY, "accept": "text/event-stream"}
    with api.client.stream(
        "POST", api.url + "/v1/quiz/generate", json=BODY, headers=headers
    ) as response:
        for line in iter_lines_raw(response):
            part = decoder.decode(bytes(line).rstrip(b"\n"))
            if part is not None:
                parts.append(part)
    assert parts[0].event == "metadata" and "run_id" in parts[0].data
    assert parts[-1].event == "values"
    assert validate_quiz(parts[-1].data["payload"], question_count=3) == []
    assert decoder.last_event_id == parts[-1].id


def test_timeout_ms_is_capped_at_two_minutes(api: Api) -> None:
    accepted = api.post("/v1/quiz/generate", {**BODY, "timeout_ms": MAX_TIMEOUT_MS})
    assert accepted.status_code == 200, accepted.text
    for too_long in (MAX_TIMEOUT_MS + 1, 600_000):
        refused = assert_error(
            api.post("/v1/quiz/generate", {**BODY, "timeout_ms": too_long}), 422, "validation_error"
        )
        assert "timeout_ms" in refused["error"]["message"]  # type: ignore[index]
        assert "120000" in refused["error"]["message"]  # type: ignore[index]
    # The chat send holds its session lease for the deadline: the same cap applies.
    session = api.post(
        "/v1/chat/workspace/sessions/create",
        {"class_id": DEMO_CLASS_ID, "user_id": LENA},
        token=user_token(LENA),
    ).json()["data"]["session"]
    send = {
        "class_id": DEMO_CLASS_ID,
        "user_id": LENA,
        "session_id": session["id"],
        "message": "What is power?",
        "tool_mode": "off",
        "timeout_ms": 600_000,
    }
    assert_error(
        api.post("/v1/chat/workspace/messages/send", send, token=user_token(LENA)),
        422,
        "validation_error",
    )

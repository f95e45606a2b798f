"""End to end through a real OpenAI-compatible server on loopback, configured as OpenRouter:
every structured call asks for JSON with its temperature and token cap, prose is repaired then
replaced by the offline engine (and reported), and chat never shows or saves raw JSON."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from graphs.chat.nodes import APOLOGY
from tests.openai_server import OpenAIServer, finish_length, reply
from tests.server.conftest import Api, Serve
from tests.server.routes.test_workspace import LENA, call, new_session, ok
from tools.payloads.quiz import validate_quiz

MATERIAL = (
    "The SI unit of force is the newton. Weight is the force of gravity acting on a mass. "
    "The SI unit of energy is the joule. Power is measured in watts."
)
QUIZ = {
    "class_title": "Physics",
    "question_count": 3,
    "instructions": "",
    "blueprint_context": "",
    "material_context": MATERIAL,
}
GOOD_QUIZ = {
    "questions": [
        {
            "question": "What is the SI unit of force?",
            "choices": ["joule", "newton", "watt", "pascal"],
            "answer": "newton",
            "explanation": "The material says the SI unit of force is the newton.",
        }
    ]
}
TRUNCATED = '{"safety": "ok", "answer": "Here is what the notes say about power. Would y'


@contextmanager
def provider(serve: Serve, server: OpenAIServer) -> Iterator[Api]:
    """The app with OpenRouter configured to point at the loopback server."""
    with serve(
        openrouter_api_key="sk-test",
        openrouter_base_url=server.base_url,
        openrouter_model="fake-model",
    ) as api:
        yield api


def assert_json_calls(server: OpenAIServer, temperature: float, max_tokens: int) -> None:
    """Every chat request asked for a JSON object, at the graph's temperature, capped."""
    assert server.chat_requests
    for request in server.chat_requests:
        body = request.json
        assert body["response_format"] == {"type": "json_object"}
        assert body["temperature"] == temperature
        # Sent as `max_tokens`, the name OpenRouter and llama.cpp honour.
        assert body["max_tokens"] == max_tokens


def test_prose_is_repaired_then_the_offline_quiz_answers_and_says_so(serve: Serve) -> None:
    with OpenAIServer(model="fake-model") as server:
        server.chat(*(reply(f"Here are some questions ({n}).") for n in range(3)))
        with provider(serve, server) as api:
            response = api.post("/v1/quiz/generate", QUIZ)
        assert_json_calls(server, 0.3, 300 + 250 * 3)
        # The repairs went out with the broken reply and the errors.
        assert (
            server.chat_requests[1]
            .json["messages"][-1]["content"]
            .startswith("Your previous quiz broke these rules")
        )
    data = ok(response)
    assert (data["provider"], data["model"]) == ("offline", "stemgraph-offline-1")
    assert validate_quiz(data["payload"], question_count=3) == []
    assert data["attempts"] == [
        {
            "provider": "openrouter",
            "model": "fake-model",
            "error": "invalid_output",
            "message": "The reply broke the rules after 2 repairs: The reply was not a JSON "
            'object of the form {"questions": [...]}.',
        }
    ]


def test_fenced_json_is_accepted_as_the_models_quiz(serve: Serve) -> None:
    with OpenAIServer(model="fake-model") as server:
        server.chat(reply("Sure!\n```json\n" + json.dumps(GOOD_QUIZ) + "\n```"))
        with provider(serve, server) as api:
            data = ok(api.post("/v1/quiz/generate", QUIZ))
        assert_json_calls(server, 0.3, 1_050)
    assert (data["provider"], data["model"], data["attempts"]) == ("openrouter", "fake-model", [])
    assert data["payload"] == GOOD_QUIZ


def _send(api: Api, session_id: str, **extra: Any) -> Any:
    return ok(
        call(
            api,
            "messages/send",
            LENA,
            session_id=session_id,
            message="What is power measured in?",
            tool_mode="off",
            **extra,
        )
    )


def test_a_truncated_chat_reply_is_repaired_and_only_the_answer_is_saved(serve: Serve) -> None:
    answer = {"safety": "ok", "answer": "Power is measured in watts.", "citations": []}
    with OpenAIServer(model="fake-model") as server:
        server.chat(finish_length(TRUNCATED), reply(json.dumps(answer)))
        with provider(serve, server) as api:
            session = new_session(api)
            sent = _send(api, session["id"], max_tokens=200)
            listed = ok(call(api, "messages/list", LENA, session_id=session["id"]))["messages"]
        assert_json_calls(server, 0.4, 200)
        assert (
            "cut off at the output token limit"
            in (server.chat_requests[1].json["messages"][-1]["content"])
        )
    assert sent["response"]["answer"] == "Power is measured in watts."
    assert sent["attempts"] == []
    assert [m["content"] for m in listed] == [
        "What is power measured in?",
        sent["response"]["answer"],
    ]
    assert sent["assistant_message"]["provider"] == "openrouter"


def test_a_chat_reply_truncated_twice_saves_the_apology_not_raw_json(serve: Serve) -> None:
    with OpenAIServer(model="fake-model") as server:
        server.chat(finish_length(TRUNCATED), finish_length(TRUNCATED))
        with provider(serve, server) as api:
            session = new_session(api)
            sent = _send(api, session["id"])
            listed = ok(call(api, "messages/list", LENA, session_id=session["id"]))["messages"]
        assert_json_calls(server, 0.4, 900)
    assert sent["response"] == {"safety": "ok", "answer": APOLOGY, "citations": []}
    assert [(a["provider"], a["error"]) for a in sent["attempts"]] == [
        ("openrouter", "invalid_output")
    ]
    saved = listed[-1]
    assert saved["content"] == APOLOGY and "{" not in saved["content"]
    assert saved == sent["assistant_message"]

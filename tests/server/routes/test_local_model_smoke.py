"""The real provider path against a real local model (llama.cpp serving SmolLM2-135M).

A 135M model's answers are not the point: the point is that a configured provider is called
through the real HTTP client, its tokens stream to the client, JSON mode and caps go out, and a
reply that breaks the rules is repaired and then replaced by the offline engine, which says so.
"""

from __future__ import annotations

from contextlib import AbstractContextManager

import pytest

from tests.local_model import LocalModel
from tests.server.conftest import API_KEY, Api, Serve
from tests.sse import iter_events
from tools.demo import DEMO_CLASS_ID, DEMO_STUDENT_IDS
from tools.payloads.quiz import validate_quiz

MATERIAL = (
    "A force is a push or a pull. The SI unit of force is the newton. "
    "Momentum is mass times velocity."
)


def _local(serve: Serve, model: LocalModel) -> AbstractContextManager[Api]:
    return serve(
        openrouter_api_key="local",
        openrouter_base_url=model.base_url,
        openrouter_model=model.name,
        ai_request_timeout_ms=90_000,
    )


# The store plays no part here: one backend is enough.
ONE_BACKEND = pytest.mark.parametrize("backend", ["sqlite"])


@ONE_BACKEND
@pytest.mark.live
def test_a_streamed_chat_turn_comes_from_the_local_model(
    serve: Serve, local_model: LocalModel
) -> None:
    with _local(serve, local_model) as api:
        body: dict[str, object] = {
            "class_id": DEMO_CLASS_ID,
            "user_id": DEMO_STUDENT_IDS[0],
            "class_title": "Physics",
            "user_message": "What is the SI unit of force?",
            "transcript": [],
            "blueprint_context": "Blueprint Context\n1. Forces",
            "material_context": f"Source 1 | Forces | notes 1\n{MATERIAL}",
            "tool_mode": "off",
            "max_tokens": 120,
        }
        headers = {"x-api-key": API_KEY, "accept": "text/event-stream"}
        with api.client.stream(
            "POST", api.url + "/v1/chat/generate", json=body, headers=headers
        ) as response:
            assert response.status_code == 200
            events = list(iter_events(response))
    tokens = [e for e in events if e.event == "messages"]
    assert tokens, "no model token reached the client"
    final = events[-1]
    assert final.event == "values", events[-3:]
    data = final.data
    # Either the local model answered, or it broke the reply rules and the apology says so.
    assert data["provider"] in {"openrouter", "offline"}
    assert data["payload"]["safety"] in {"ok", "refusal"}
    assert data["payload"]["answer"].strip()
    if data["provider"] == "offline":
        assert data["attempts"], "a fallback must say why"
        assert {a["provider"] for a in data["attempts"]} == {"openrouter"}
    assert "{" not in data["payload"]["answer"][:1]


@ONE_BACKEND
def test_a_quiz_goes_through_json_mode_and_any_fallback_is_reported(
    serve: Serve, local_model: LocalModel
) -> None:
    with _local(serve, local_model) as api:
        response = api.post(
            "/v1/quiz/generate",
            {
                "class_title": "Physics",
                "question_count": 2,
                "instructions": "",
                "blueprint_context": "",
                "material_context": MATERIAL,
            },
        )
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert validate_quiz(data["payload"], question_count=2) == []
    if data["provider"] == "openrouter":
        assert data["model"] == local_model.name
    else:
        # The model's replies broke the quiz rules through every repair: the offline engine's
        # quiz is served, and the failure is reported, never silent.
        assert data["provider"] == "offline"
        # (On a slow machine the cap may not be reached before a deadline: that is reported too.)
        assert data["attempts"], "a fallback must say why"
        assert {a["provider"] for a in data["attempts"]} == {"openrouter"}
        assert {a["error"] for a in data["attempts"]} <= {"invalid_output", "timeout"}
        assert all(a["message"] for a in data["attempts"])

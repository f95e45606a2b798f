"""The envelope and error rules the web app's fetch wrapper relies on.

It shows `error.message` to the user as it is, so every failure must be the envelope with a
readable sentence, and a validation failure must name the field that is wrong.
"""

from __future__ import annotations

import httpx
import pytest

from tests.contract import bodies
from tests.contract.conftest import SERVICE_KEY, WebApp, user_token
from tests.contract.reading import read_error, read_ok

LENA = bodies.LENA


@pytest.mark.parametrize(
    ("path", "body", "user", "field"),
    [
        ("/v1/quiz/generate", {**bodies.quiz(), "question_count": 0}, None, "question_count"),
        ("/v1/flashcards/generate", {**bodies.flashcards(), "card_count": 31}, None, "card_count"),
        ("/v1/llm/generate", {**bodies.llm_generate("x"), "user": ""}, None, "user"),
        ("/v1/llm/embeddings", bodies.embeddings([]), None, "inputs"),
        (
            "/v1/blueprints/generate",
            {**bodies.blueprint(), "material_count": 0},
            None,
            "material_count",
        ),
        (
            "/v1/chat/workspace/messages/send",
            bodies.messages_send(LENA, "00000000-0000-4000-8000-000000000000", "x" * 1201),
            LENA,
            "message",
        ),
        (
            "/v1/chat/workspace/sessions/create",
            bodies.sessions_create(LENA, title="t" * 121),
            LENA,
            "title",
        ),
        (
            "/v1/chat/canvas",
            bodies.canvas("chart", "c" * 201, "How fast is sound?", "Fast."),
            None,
            "concept",
        ),
        ("/v1/analytics/data-query", bodies.data_query("q" * 501), bodies.TEACHER, "query"),
        (
            "/v1/chat/generate",
            {**bodies.chat_generate("Hi"), "tool_mode": "always"},
            LENA,
            "tool_mode",
        ),
    ],
)
def test_a_validation_failure_names_the_field(
    webapp: WebApp, path: str, body: dict[str, object], user: str | None, field: str
) -> None:
    message = read_error(webapp.call(path, body, user=user), 422, "validation_error")
    assert field in message, message


def test_malformed_json_is_a_readable_400(webapp: WebApp) -> None:
    read_error(webapp.raw("/v1/quiz/generate", b'{"class_title": '), 400, "invalid_json")


def test_auth_failures_are_readable(webapp: WebApp) -> None:
    url = webapp.base_url + "/v1/quiz/generate"
    wrong = webapp.client.post(url, json=bodies.quiz(), headers={"x-api-key": SERVICE_KEY + "x"})
    read_error(wrong, 401, "unauthorized")
    missing = webapp.call("/v1/chat/workspace/sessions/list", bodies.sessions_list(LENA))
    read_error(missing, 401, "user_token_required")
    other = webapp.call(
        "/v1/chat/workspace/sessions/list", bodies.sessions_list(LENA), user=bodies.TOMAS
    )
    read_error(other, 403, "user_id_mismatch")
    expired = webapp.client.post(
        webapp.base_url + "/v1/chat/workspace/sessions/list",
        json=bodies.sessions_list(LENA),
        headers={"x-api-key": SERVICE_KEY, "authorization": f"Bearer {user_token(LENA)}x"},
    )
    read_error(expired, 401, "invalid_user_token")


def test_unknown_routes_and_methods_answer_in_the_envelope(webapp: WebApp) -> None:
    read_error(webapp.call("/v1/no-such-route", {}), 404, "not_found")
    get = webapp.client.get(
        webapp.base_url + "/v1/quiz/generate", headers={"x-api-key": SERVICE_KEY}
    )
    read_error(get, 405, "method_not_allowed")


def test_the_callers_request_id_is_echoed(webapp: WebApp) -> None:
    response = webapp.client.post(
        webapp.base_url + "/v1/llm/generate",
        json=bodies.llm_generate("What is a newton?"),
        headers={"x-api-key": SERVICE_KEY, "x-request-id": "web-1234"},
    )
    read_ok(response)
    assert response.headers["x-request-id"] == "web-1234"
    assert response.json()["meta"]["request_id"] == "web-1234"


def test_no_accept_header_means_json(webapp: WebApp) -> None:
    """The web app sends no Accept header of its own: httpx, like fetch, sends `*/*`."""
    request = webapp.client.build_request(
        "POST",
        webapp.base_url + "/v1/quiz/generate",
        json=bodies.quiz(question_count=2),
        headers={"x-api-key": SERVICE_KEY},
    )
    assert request.headers["accept"] == "*/*"
    response = webapp.client.send(request)
    assert isinstance(response, httpx.Response)
    assert response.headers["content-type"].startswith("application/json")
    read_ok(response)

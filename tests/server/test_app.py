"""The envelope, request ids, service-key auth, CORS, body limits and health (chunked bodies
and malformed HTTP over a real socket)."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Sequence

import pytest

from server.settings import ProviderName
from tests.server.conftest import API_KEY, Api, Serve, user_token
from tools.demo import DEMO_CLASS_ID, DEMO_GUEST_ID, DEMO_SANDBOX_ID, DEMO_STUDENT_IDS
from tools.models.providers import EmbeddingProvider

MATERIAL = "The SI unit of force is the newton. Energy is measured in joules."
QUIZ = {
    "class_title": "Physics",
    "question_count": 1,
    "instructions": "",
    "blueprint_context": "",
    "material_context": MATERIAL,
}


def assert_error(response: object, status: int, code: str) -> dict[str, object]:
    import httpx

    assert isinstance(response, httpx.Response)
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["ok"] is False and body["data"] is None
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"].endswith(".")
    assert body["meta"]["request_id"] == response.headers["x-request-id"]
    return dict(body)


def test_healthz_needs_no_key_and_reports_the_store(api: Api) -> None:
    response = api.get("/healthz")
    assert response.status_code == 200
    data = response.json()["data"]
    postgres = api.settings.uses_postgres
    assert data["store"] == {
        "backend": postgres and "postgres" or "sqlite",
        "ok": True,
        # The test Postgres has no pgvector: retrieval by full text alone there.
        "pgvector": False if postgres else None,
    }
    assert data["providers"] == {"configured": [], "offline_fallback": True}


def test_unknown_route_and_wrong_method_are_enveloped(api: Api) -> None:
    assert_error(api.post("/v1/nope", {}), 404, "not_found")
    assert_error(api.get("/v1/quiz/generate"), 405, "method_not_allowed")


def test_request_id_is_echoed_or_created(api: Api) -> None:
    given = api.post("/v1/quiz/generate", QUIZ, headers={"x-request-id": "web-123"})
    assert given.headers["x-request-id"] == "web-123"
    assert given.json()["meta"]["request_id"] == "web-123"
    fresh = api.post("/v1/quiz/generate", QUIZ, headers={"x-request-id": "bad id\twith spaces"})
    assert uuid.UUID(fresh.headers["x-request-id"])
    assert fresh.json()["meta"]["request_id"] == fresh.headers["x-request-id"]


def test_malformed_and_invalid_bodies(api: Api) -> None:
    bad_json = api.client.post(
        api.url + "/v1/quiz/generate", content=b"{not json", headers={"x-api-key": API_KEY}
    )
    assert_error(bad_json, 400, "invalid_json")
    assert_error(api.post("/v1/quiz/generate", [1, 2]), 422, "validation_error")
    body = assert_error(
        api.post("/v1/quiz/generate", {**QUIZ, "question_count": 21}), 422, "validation_error"
    )
    assert "question_count" in str(body["error"])
    missing = assert_error(
        api.post("/v1/quiz/generate", {"question_count": 2}), 422, "validation_error"
    )
    assert "class_title" in str(missing["error"])


def test_optional_fields_accept_null(api: Api) -> None:
    response = api.post(
        "/v1/quiz/generate",
        {**QUIZ, "sandbox_id": None, "timeout_ms": None, "class_id": None, "instructions": None},
    )
    assert response.status_code == 200, response.text
    assert response.json()["ok"] is True


@pytest.mark.live
def test_body_over_the_limit_is_413(serve: Serve) -> None:
    with serve(max_body_bytes=4096) as api:
        big = {**QUIZ, "material_context": "x" * 10_000}
        assert_error(api.post("/v1/quiz/generate", big), 413, "payload_too_large")

        # A chunked body declares no length; it is counted as it arrives.
        def chunks() -> object:
            yield b'{"material_context": "'
            for _ in range(10):
                yield b"y" * 1000
            yield b'"}'

        chunked = api.client.post(
            api.url + "/v1/quiz/generate", content=chunks(), headers={"x-api-key": API_KEY}
        )
        assert_error(chunked, 413, "payload_too_large")


def test_unexpected_errors_are_500_in_the_envelope(serve: Serve) -> None:
    def broken(order: Sequence[ProviderName]) -> list[EmbeddingProvider]:
        raise RuntimeError("secret internals")

    with serve(embeddings=broken) as api:
        response = api.post("/v1/llm/embeddings", {"inputs": ["hello"]})
        body = assert_error(response, 500, "internal_error")
        assert "secret internals" not in response.text
        assert body["error"] == {
            "message": "Something went wrong on our side.",
            "code": "internal_error",
        }


def test_service_key_is_fail_closed(serve: Serve) -> None:
    with serve(python_backend_api_key=None) as api:
        assert_error(api.post("/v1/quiz/generate", QUIZ), 503, "backend_auth_misconfigured")
        assert api.get("/healthz").status_code == 200
    with serve(python_backend_api_key=None, allow_unauthenticated=True) as api:
        assert api.post("/v1/quiz/generate", QUIZ, key=None).status_code == 200


def test_service_key_header_or_bearer(api: Api) -> None:
    assert_error(api.post("/v1/quiz/generate", QUIZ, key=None), 401, "unauthorized")
    assert_error(api.post("/v1/quiz/generate", QUIZ, key="wrong"), 401, "unauthorized")
    assert api.post("/v1/quiz/generate", QUIZ).status_code == 200
    bearer = api.post(
        "/v1/quiz/generate", QUIZ, key=None, headers={"authorization": f"Bearer {API_KEY}"}
    )
    assert bearer.status_code == 200, bearer.text
    wrong_bearer = api.post(
        "/v1/quiz/generate", QUIZ, key=None, headers={"authorization": "Bearer nope"}
    )
    assert_error(wrong_bearer, 401, "unauthorized")


def test_user_tokens_are_verified(api: Api) -> None:
    student = DEMO_STUDENT_IDS[0]
    assert api.post("/v1/quiz/generate", QUIZ, token=user_token(student)).status_code == 200
    assert_error(api.post("/v1/quiz/generate", QUIZ, token="a.b.c"), 401, "invalid_user_token")
    expired = user_token(student, exp=1_000_000)
    assert_error(api.post("/v1/quiz/generate", QUIZ, token=expired), 401, "invalid_user_token")
    wrong_audience = user_token(student, aud="someone-else")
    assert_error(
        api.post("/v1/quiz/generate", QUIZ, token=wrong_audience), 401, "invalid_user_token"
    )


def test_guests_need_their_own_active_sandbox(api: Api) -> None:
    guest = user_token(DEMO_GUEST_ID, anonymous=True)
    assert_error(api.post("/v1/quiz/generate", QUIZ, token=guest), 400, "guest_sandbox_required")
    other = user_token(str(uuid.uuid4()), anonymous=True)
    assert_error(
        api.post("/v1/quiz/generate", {**QUIZ, "sandbox_id": DEMO_SANDBOX_ID}, token=other),
        403,
        "guest_sandbox_forbidden",
    )
    unknown = {**QUIZ, "sandbox_id": str(uuid.uuid4())}
    assert_error(
        api.post("/v1/quiz/generate", unknown, token=guest), 403, "guest_sandbox_forbidden"
    )
    own = api.post("/v1/quiz/generate", {**QUIZ, "sandbox_id": DEMO_SANDBOX_ID}, token=guest)
    assert own.status_code == 200, own.text


def test_class_membership_is_checked_for_signed_in_users(api: Api) -> None:
    by_class = {**QUIZ, "material_context": "", "class_id": DEMO_CLASS_ID}
    outsider = user_token(str(uuid.uuid4()))
    assert_error(api.post("/v1/quiz/generate", by_class, token=outsider), 403, "forbidden")
    member = api.post("/v1/quiz/generate", by_class, token=user_token(DEMO_STUDENT_IDS[1]))
    assert member.status_code == 200, member.text
    unknown = {**by_class, "class_id": str(uuid.uuid4())}
    assert_error(api.post("/v1/quiz/generate", unknown), 404, "class_not_found")


def test_cors_allows_only_listed_origins(serve: Serve) -> None:
    with serve(cors_origins=["http://app.local"]) as api:
        preflight = {
            "origin": "http://app.local",
            "access-control-request-method": "POST",
            "access-control-request-headers": "x-api-key,content-type",
        }
        allowed = api.client.options(api.url + "/v1/quiz/generate", headers=preflight)
        assert allowed.status_code == 200
        assert allowed.headers["access-control-allow-origin"] == "http://app.local"
        denied = api.client.options(
            api.url + "/v1/quiz/generate", headers={**preflight, "origin": "http://evil.local"}
        )
        assert "access-control-allow-origin" not in denied.headers
        simple = api.post("/v1/quiz/generate", QUIZ, headers={"origin": "http://app.local"})
        assert simple.headers["access-control-allow-origin"] == "http://app.local"
        assert "x-request-id" in simple.headers["access-control-expose-headers"]


@pytest.mark.live
def test_server_errors_never_leak_html(api: Api) -> None:
    host, port = api.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as raw:
        raw.sendall(
            b"POST /v1/quiz/generate HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n"
            b"x-api-key: " + API_KEY.encode() + b"\r\n\r\n{{{"
        )
        reply = raw.recv(65536).decode()
    assert reply.startswith("HTTP/1.1 400")
    assert "application/json" in reply and "<html" not in reply.lower()


async def test_provider_clients_are_built_once_per_combination(tmp_path: object) -> None:
    from pathlib import Path

    from server.app import create_app
    from server.settings import Settings

    settings = Settings(data_dir=Path(str(tmp_path)), openai_api_key="sk-test", seed_demo=False)
    app = create_app(settings)
    async with app.router.lifespan_context(app) as state:
        factory = state["app"].chat_providers
        first = factory(["openai"], 0.2, 100)
        assert [p.name for p in first] == ["openai"]
        assert factory(["openai"], 0.2, 100)[0].client is first[0].client
        assert factory(["openai"], 0.7, 100)[0].client is not first[0].client
        embeddings = state["app"].embedding_providers
        assert embeddings(["openai"])[0].client is embeddings(["openai"])[0].client

"""`/openapi.json` describes every route, and schemathesis fuzzes the live API from it on both
backends: whatever it sends, no answer is a 5xx and every answer is the envelope."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from starlette.routing import Route

from server.app import create_app
from server.openapi import OPERATIONS, build_document
from server.protocol.openapi import PROTOCOL_OPERATIONS
from server.settings import Settings
from tests.server.conftest import API_KEY, Api, user_token
from tools.demo import DEMO_CLASS_ID, DEMO_STUDENT_IDS, DEMO_TEACHER_ID

LENA = DEMO_STUDENT_IDS[0]
# The contract's upstream model failures: 502 with the route's code (a model, or the offline
# engine standing in for one, could not produce a valid answer from what was sent). Any other
# status of 500 or more is a server error.
MODEL_FAILURES = {
    "/v1/llm/generate": "provider_error",
    "/v1/llm/embeddings": "provider_error",
    "/v1/quiz/generate": "quiz_error",
    "/v1/flashcards/generate": "flashcards_error",
    "/v1/blueprints/generate": "blueprint_error",
    "/v1/chat/generate": "chat_error",
    "/v1/chat/canvas": "canvas_error",
}
# Examples per operation and generation mode (~20 per operation): ~35 s per backend.
EXAMPLES = {GenerationMode.POSITIVE: 15, GenerationMode.NEGATIVE: 6}
# The protocol's operations mostly name ids that do not exist: fewer examples each.
PROTOCOL_EXAMPLES = {GenerationMode.POSITIVE: 5, GenerationMode.NEGATIVE: 3}


def test_every_route_of_the_app_is_described() -> None:
    app = create_app(Settings())
    served = {
        (route.path, method.lower())
        for route in app.routes
        if isinstance(route, Route) and route.methods
        for method in route.methods - {"HEAD"}
    }
    document = build_document()
    described = {(path, method) for path, item in document["paths"].items() for method in item}
    assert served - {("/openapi.json", "get")} == described
    assert len({operation.path for operation in OPERATIONS}) == len(OPERATIONS)


def test_each_body_schema_is_its_route_s_model() -> None:
    schemas = build_document()["components"]["schemas"]
    for operation in OPERATIONS:
        body = build_document()["paths"][operation.path]["post"]["requestBody"]
        ref = body["content"]["application/json"]["schema"]["$ref"]
        assert ref == f"#/components/schemas/{operation.body.__name__}"
        assert set(schemas[operation.body.__name__]["properties"]) == set(
            operation.body.model_fields
        )


def test_each_protocol_body_schema_is_the_model_that_validates_it() -> None:
    document = build_document()
    schemas = document["components"]["schemas"]
    with_bodies = [op for op in PROTOCOL_OPERATIONS if op.body is not None]
    assert {op.body.__name__ for op in with_bodies if op.body} >= {"RunCreate", "ThreadCreate"}
    for operation in with_bodies:
        assert operation.body is not None
        spec = document["paths"][operation.path][operation.method]
        ref = spec["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        assert ref == f"#/components/schemas/{operation.body.__name__}"
        assert set(schemas[operation.body.__name__]["properties"]) == set(
            operation.body.model_fields
        )


def test_the_document_is_served_without_a_key(api: Api) -> None:
    response = api.get("/openapi.json")
    assert response.status_code == 200
    assert response.json() == build_document()
    loaded = schemathesis.openapi.from_dict(response.json())
    operations = len(OPERATIONS) + 1 + len(PROTOCOL_OPERATIONS)
    assert len([result.ok() for result in loaded.get_all_operations()]) == operations


def _check_envelope(path: str, status: int, headers: dict[str, str], text: str) -> None:
    if not path.startswith("/v1/") and status < 400:
        # The LangGraph protocol answers successes with LangGraph Server's objects (or a
        # stream, or nothing); its errors are envelopes like every route's.
        assert status in (200, 204), (path, status, text[:300])
        if status == 200:
            kind = headers["content-type"]
            assert kind.startswith(("application/json", "text/event-stream")), (path, kind)
        return
    assert headers["content-type"].startswith("application/json"), (status, headers, text[:300])
    envelope = json.loads(text)
    if status >= 500:
        code = (envelope.get("error") or {}).get("code")
        assert (status, code) == (502, MODEL_FAILURES.get(path)), (path, status, text[:500])
    assert set(envelope) == {"ok", "data", "error", "meta"}, envelope
    assert envelope["meta"]["request_id"] == headers["x-request-id"]
    if status >= 400:
        assert envelope["ok"] is False and envelope["data"] is None
        error = envelope["error"]
        assert isinstance(error["code"], str) and error["code"]
        assert isinstance(error["message"], str) and error["message"]
    else:
        assert envelope["ok"] is True and envelope["error"] is None


def _as_caller(body: Any, caller: str | None) -> dict[str, str]:
    """Headers for one case. With a demo caller, the body's ids become theirs, so cases reach
    past the access checks into the routes themselves."""
    user = caller or LENA
    if caller is not None and isinstance(body, dict):
        for field in ("user_id", "owner_user_id"):
            if field in body:
                body[field] = caller
        if "class_id" in body:
            body["class_id"] = DEMO_CLASS_ID
    return {"x-api-key": API_KEY, "authorization": f"Bearer {user_token(user)}"}


def _fuzz(
    client: httpx.Client, url: str, operation: Any, mode: GenerationMode, examples: int
) -> int:
    """Send `examples` generated cases of `operation` and check each answer; the call count."""
    calls = 0

    @given(
        case=operation.as_strategy(generation_mode=mode),
        caller=st.sampled_from([None, LENA, DEMO_TEACHER_ID]),
    )
    @settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    def fuzz(case: Any, caller: str | None) -> None:
        nonlocal calls
        sent = case.as_transport_kwargs(base_url=url, headers=_as_caller(case.body, caller))
        response = client.request(
            sent["method"],
            sent["url"],
            headers=sent.get("headers"),
            params=sent.get("params"),
            json=sent.get("json"),
            content=sent.get("data"),
        )
        calls += 1
        _check_envelope(operation.path, response.status_code, dict(response.headers), response.text)

    fuzz()
    return calls


@pytest.mark.live
def test_schemathesis_finds_no_server_error_and_only_envelopes(api: Api) -> None:
    schema = schemathesis.openapi.from_url(api.url + "/openapi.json")
    started = time.monotonic()
    calls = 0
    with httpx.Client(timeout=60) as client:
        for result in schema.get_all_operations():
            operation = result.ok()
            protocol = not operation.path.startswith(("/v1/", "/healthz"))
            for mode, examples in (PROTOCOL_EXAMPLES if protocol else EXAMPLES).items():
                if mode is GenerationMode.NEGATIVE and operation.method.upper() == "GET":
                    continue  # nothing to break in a request without parameters or body
                calls += _fuzz(client, api.url, operation, mode, examples)
    # Bounded and fast; enough calls that every operation was exercised in both modes.
    assert calls >= len(OPERATIONS) * (EXAMPLES[GenerationMode.NEGATIVE] + 10)
    assert time.monotonic() - started < 120

"""The one edge middleware layer (`server/middleware/edge.py`) and the SSE framing it carries:
what five layers did, in one."""

from __future__ import annotations

import logging
import math
from typing import Any

import pytest
from langchain_core.messages import AIMessageChunk
from sse_starlette import ServerSentEvent

from server.app import create_app
from server.envelope import UnencodableOutput, encode_json_bytes
from server.middleware.edge import EdgeMiddleware
from server.settings import Settings
from server.streaming import _Frames
from tests.server.conftest import API_KEY, Api, Serve
from tests.server.test_app import QUIZ, assert_error


def test_the_app_has_one_middleware_layer_and_cors_only_when_configured(tmp_path: Any) -> None:
    plain = create_app(Settings(data_dir=tmp_path, seed_demo=False))
    assert [m.cls for m in plain.user_middleware] == [EdgeMiddleware]
    browsers = create_app(
        Settings(data_dir=tmp_path, seed_demo=False, cors_origins=["http://app.local"])
    )
    assert [m.cls.__name__ for m in browsers.user_middleware] == [
        "EdgeMiddleware",
        "CORSMiddleware",
    ]


def test_the_edge_s_own_errors_carry_the_request_id_and_cors_headers(serve: Serve) -> None:
    with serve(cors_origins=["http://app.local"], max_body_bytes=4096) as api:
        big = {**QUIZ, "material_context": "x" * 10_000}
        headers = {"origin": "http://app.local", "x-request-id": "edge-413"}
        response = api.post("/v1/quiz/generate", big, headers=headers)
        body = assert_error(response, 413, "payload_too_large")
        assert response.headers["x-request-id"] == "edge-413" == body["meta"]["request_id"]
        assert response.headers["access-control-allow-origin"] == "http://app.local"
        foreign = api.post("/v1/quiz/generate", big, headers={"origin": "http://evil.local"})
        assert_error(foreign, 413, "payload_too_large")
        assert "access-control-allow-origin" not in foreign.headers


def test_one_access_log_line_per_request_without_query_or_credentials(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="stemgraph.access"):
        response = api.client.get(
            api.url + "/healthz?secret=hunter2", headers={"x-request-id": "log-1"}
        )
        missing = api.post("/v1/nowhere", {}, headers={"x-request-id": "log-2"})
    assert response.status_code == 200 and missing.status_code == 404
    lines = [r.__dict__ for r in caplog.records if r.name == "stemgraph.access"]
    assert [(r["request_id"], r["path"], r["status"]) for r in lines] == [
        ("log-1", "/healthz", 200),
        ("log-2", "/v1/nowhere", 404),
    ]
    assert lines[0]["method"] == "GET" and lines[0]["response_bytes"] == len(response.content)
    assert lines[0]["duration_ms"] >= 0
    assert "hunter2" not in caplog.text and API_KEY not in caplog.text


def test_frames_are_byte_for_byte_sse_starlette_s_layout() -> None:
    frames = _Frames("run-1")
    ours = frames.encoded("messages", b'{"a":"line\\nbreak"}')
    theirs = ServerSentEvent(data='{"a":"line\\nbreak"}', event="messages", id="run-1:1").encode()
    assert ours == theirs
    assert frames("values", {"n": 2}) == b'id: run-1:2\r\nevent: values\r\ndata: {"n":2}\r\n\r\n'


def test_a_message_chunk_encodes_as_its_model_dump() -> None:
    import json

    chunk = AIMessageChunk(content='Say "hi"\n', id="m1", response_metadata={"p": 0.5})
    assert json.loads(encode_json_bytes(chunk)) == chunk.model_dump()
    metadata = {"langgraph_node": "generate", "langgraph_triggers": ("branch:to:generate",)}
    frame = _Frames("r").message(chunk, metadata)
    data = json.loads(frame.split(b"data: ", 1)[1])
    assert data == [chunk.model_dump(), {**metadata, "langgraph_triggers": ["branch:to:generate"]}]


@pytest.mark.parametrize(
    "value",
    ["NaN", "Infinity", {"text": "-Infinity and NaN are words here"}, [1.5, "NaN"]],
)
def test_the_words_nan_and_infinity_inside_strings_are_fine(value: Any) -> None:
    import json

    assert json.loads(encode_json_bytes(value)) == value


@pytest.mark.parametrize(
    "value",
    [
        math.nan,
        [1.0, -math.inf],
        {"chunk": AIMessageChunk(content="x", response_metadata={"t": math.nan})},
    ],
)
def test_non_finite_numbers_are_refused_even_inside_a_model(value: Any) -> None:
    with pytest.raises(UnencodableOutput):
        encode_json_bytes(value)

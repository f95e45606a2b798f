"""The `serve` fixture's two modes: in-process by default, uvicorn on loopback when `live`."""

from __future__ import annotations

import socket

import pytest

from tests.server.conftest import IN_PROCESS_URL, Api
from tests.server.test_app import QUIZ


def test_the_default_runs_in_process(api: Api) -> None:
    assert (api.live, api.url) == (False, IN_PROCESS_URL)
    response = api.get("/healthz")
    assert response.status_code == 200 and response.json()["ok"] is True
    assert response.headers["x-request-id"]


def test_in_process_refuses_event_streams(api: Api) -> None:
    with pytest.raises(AssertionError, match="mark the test `live`"):
        api.post("/v1/quiz/generate", QUIZ, headers={"accept": "text/event-stream"})


@pytest.mark.live
def test_live_serves_on_a_loopback_socket(api: Api) -> None:
    assert api.live and api.url.startswith("http://127.0.0.1:")
    host, port = api.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5):
        pass
    assert api.get("/healthz").status_code == 200

"""A live stemgraph per module and storage backend, called the way the web app's adapters call it.

The web app's adapters send JSON bodies with `null` for every optional field they have no value
for, no `Accept` header of their own (httpx, like the browser's fetch, sends `*/*`), the service
key in `x-api-key`, and a user's Supabase token as `Authorization: Bearer` only on the calls that
carry one. `WebApp.call` does exactly that; nothing else in these tests talks to the server.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from server.app import create_app
from server.auth.tokens import sign_dev_token
from server.settings import Settings
from tests.conftest import drop_schema, fresh_schema_name, postgres_url_or_skip
from tests.liveserver import LiveServer
from tests.sse import Event, iter_events

SERVICE_KEY = "contract-service-key"
JWT_SECRET = "contract-tests-hs256-secret-of-at-least-32-bytes"
ISSUER = "http://127.0.0.1:9/auth/v1"


def user_token(user_id: str) -> str:
    """A Supabase-shaped access token for `user_id` (HS256, the project's legacy secret)."""
    return sign_dev_token(JWT_SECRET, user_id=user_id, issuer=ISSUER)


@dataclass
class WebApp:
    """The web app's view of one running stemgraph."""

    base_url: str
    client: httpx.Client
    backend: str

    def _headers(self, user: str | None, accept: str | None) -> dict[str, str]:
        headers = {"content-type": "application/json", "x-api-key": SERVICE_KEY}
        if user is not None:
            headers["authorization"] = f"Bearer {user_token(user)}"
        if accept is not None:
            headers["accept"] = accept
        return headers

    def call(self, path: str, body: Any, *, user: str | None = None) -> httpx.Response:
        """POST `body` as the web app does; `user` adds that user's token."""
        return self.client.post(
            self.base_url + path, content=json.dumps(body), headers=self._headers(user, None)
        )

    def raw(self, path: str, content: bytes, *, user: str | None = None) -> httpx.Response:
        """POST bytes that are not necessarily JSON (for the error rules)."""
        return self.client.post(
            self.base_url + path, content=content, headers=self._headers(user, None)
        )

    def stream(
        self, path: str, body: Any, *, user: str | None = None
    ) -> tuple[httpx.Response, list[Event]]:
        """POST asking for `text/event-stream`; the response (closed) and every event read."""
        headers = self._headers(user, "text/event-stream")
        with self.client.stream(
            "POST", self.base_url + path, content=json.dumps(body), headers=headers
        ) as response:
            streamed = response.headers.get("content-type", "").startswith("text/event-stream")
            if response.status_code == 200 and streamed:
                events = list(iter_events(response))
            else:
                events = []
                response.read()  # a JSON answer, kept for the failure message
        return response, events


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def webapp(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[WebApp]:
    """One server with the demo class seeded, shared by a module's tests on one backend."""
    backend = str(request.param)
    options: dict[str, Any] = {
        "data_dir": tmp_path_factory.mktemp(f"contract-{backend}"),
        "python_backend_api_key": SERVICE_KEY,
        "supabase_jwt_secret": JWT_SECRET,
        "supabase_jwt_issuer": ISSUER,
        "seed_demo": True,
    }
    schema = None
    if backend == "postgres":
        schema = fresh_schema_name()
        options.update(database_url=postgres_url_or_skip(), database_schema=schema)
    app = create_app(Settings(**options))
    try:
        with LiveServer(app) as url, httpx.Client(timeout=60) as client:
            yield WebApp(url, client, backend)
    finally:
        if schema is not None:
            asyncio.run(drop_schema(postgres_url_or_skip(), schema))


def read_stream(
    webapp: WebApp, path: str, body: Any, *, user: str | None = None
) -> tuple[Any, list[Event]]:
    """A route asked for `text/event-stream`, read as the web app's stream reader does: the
    `metadata` event first, every event numbered `<run_id>:<n>`, and a final `values` event
    carrying what the JSON route puts in `data`. Returns that data and the events."""
    response, events = webapp.stream(path, body, user=user)
    assert response.status_code == 200, response.text[:500]
    content_type = response.headers.get("content-type", "")
    assert content_type.startswith("text/event-stream"), f"answered {content_type!r}, not SSE"
    assert events, "the stream carried no events"
    assert events[0].event == "metadata", events[0]
    run_id = events[0].data["run_id"]
    assert [e.id for e in events] == [f"{run_id}:{n}" for n in range(1, len(events) + 1)]
    assert events[-1].event == "values", events[-1]
    assert all(e.event != "error" for e in events), [e for e in events if e.event == "error"]
    return events[-1].data, events

"""The app per test, on each storage backend, with real tokens: in-process by default, or
served by uvicorn on a loopback socket for tests marked `live`.

In-process requests go through Starlette's `TestClient` (the lifespan runs; the app runs in the
client's own event-loop thread). Streams, client disconnects, pings, concurrent clients of their
own and raw sockets need a real server: mark those tests `@pytest.mark.live`.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from langchain_core.language_models import BaseChatModel
from starlette.testclient import TestClient
from starlette.types import ASGIApp

from server.app import create_app
from server.auth.tokens import sign_dev_token
from server.settings import ProviderName, Settings
from server.state import ChatProviderFactory, EmbeddingProviderFactory
from tests.conftest import drop_schema, fresh_schema_name, postgres_url_or_skip
from tests.liveserver import LiveServer
from tools.models.providers import ChatProvider
from tools.store import Store, open_store

API_KEY = "test-service-key"
JWT_SECRET = "server-tests-hs256-secret-of-at-least-32-bytes"
ISSUER = "http://127.0.0.1:9/auth/v1"
IN_PROCESS_URL = "http://testserver"
T = TypeVar("T")


@dataclass
class Api:
    """A client for one running app, sending the service key unless told otherwise.

    `url` is the base for `client` requests: a loopback address when `live`, otherwise the
    in-process client's own base, which reaches no socket.
    """

    url: str
    client: httpx.Client
    settings: Settings
    live: bool

    def post(
        self,
        path: str,
        body: Any = None,
        *,
        token: str | None = None,
        key: str | None = API_KEY,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        sent = dict(headers or {})
        if key is not None:
            sent["x-api-key"] = key
        if token is not None:
            sent["authorization"] = f"Bearer {token}"
        return self.client.post(self.url + path, json=body, headers=sent)

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.client.get(self.url + path, **kwargs)


def user_token(user_id: str, *, anonymous: bool = False, **extra: Any) -> str:
    return sign_dev_token(
        JWT_SECRET, user_id=user_id, issuer=ISSUER, is_anonymous=anonymous, extra=extra or None
    )


Serve = Callable[..., AbstractContextManager[Api]]


def only(model: BaseChatModel, *, name: str = "openai", model_name: str = "fake-model") -> Any:
    """A provider factory that always answers with `model` (in place of every real provider)."""

    def providers(
        order: Sequence[ProviderName], temperature: float | None, max_tokens: int | None
    ) -> list[ChatProvider]:
        return [ChatProvider(name, model_name, model)]  # type: ignore[arg-type]

    return providers


def with_store(api: Api, use: Callable[[Store], Awaitable[T]]) -> T:
    """Run `use` on a store connection of the test's own, to the server's database."""

    async def run() -> T:
        store = await open_store(
            api.settings.resolved_database_url, schema=api.settings.database_schema
        )
        try:
            return await use(store)
        finally:
            await store.close()

    return asyncio.run(run())


def ok(response: httpx.Response) -> Any:
    """The `data` of a successful envelope (HTTP 200, `ok` true, no `error`)."""
    assert response.status_code == 200, response.text
    envelope = response.json()
    assert envelope["ok"] is True and envelope["error"] is None
    return envelope["data"]


def _refuse_streams(request: httpx.Request) -> None:
    # In-process replies are handed over whole, so pings, arrival order and disconnects could
    # not be observed: a test of a stream must run live.
    if "text/event-stream" in request.headers.get("accept", ""):
        raise AssertionError("an event stream needs a real server: mark the test `live`")


class InProcessTransport(httpx.BaseTransport):
    """Sends each request to the app through Starlette's `TestClient`.

    The `TestClient` speaks `httpx2`; this transport keeps the tests on `httpx` (the same
    `Response` type, and the network guard in `tests/conftest.py`) whichever way the app runs.
    """

    def __init__(self, client: TestClient) -> None:
        self._client = client

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        reply = self._client.request(
            request.method,
            str(request.url),
            headers=request.headers.multi_items(),
            content=request.read(),
        )
        return httpx.Response(
            reply.status_code,
            headers=reply.headers.multi_items(),
            content=reply.content,
            request=request,
        )


@contextmanager
def _in_process(app: ASGIApp) -> Iterator[httpx.Client]:
    # Entering the TestClient runs the lifespan. Unhandled errors become responses, as on a real
    # server (500 in the envelope), never exceptions in the test.
    with (
        TestClient(app, base_url=IN_PROCESS_URL, raise_server_exceptions=False) as app_client,
        httpx.Client(
            transport=InProcessTransport(app_client),
            base_url=IN_PROCESS_URL,
            event_hooks={"request": [_refuse_streams]},
        ) as client,
    ):
        yield client


@contextmanager
def _live(app: ASGIApp) -> Iterator[tuple[str, httpx.Client]]:
    with LiveServer(app) as url, httpx.Client(timeout=30) as client:
        yield url, client


@pytest.fixture
def serve(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Serve]:
    """`with serve(**settings) as api:` runs the app on `backend` until the block ends:
    in-process, or on a loopback socket when the test is marked `live`."""
    live = request.node.get_closest_marker("live") is not None
    schemas: list[str] = []

    @contextmanager
    def run(
        *,
        chat: ChatProviderFactory | None = None,
        embeddings: EmbeddingProviderFactory | None = None,
        **overrides: Any,
    ) -> Iterator[Api]:
        options: dict[str, Any] = {
            "data_dir": tmp_path / f"data-{uuid.uuid4().hex[:6]}",
            "python_backend_api_key": API_KEY,
            "supabase_jwt_secret": JWT_SECRET,
            "supabase_jwt_issuer": ISSUER,
            "seed_demo": True,
        }
        if backend == "postgres":
            schema = fresh_schema_name()
            schemas.append(schema)
            options.update(database_url=postgres_url_or_skip(), database_schema=schema)
        options.update(overrides)
        settings = Settings(**options)
        app = create_app(
            settings, chat_provider_factory=chat, embedding_provider_factory=embeddings
        )
        if live:
            with _live(app) as (url, client):
                yield Api(url, client, settings, live=True)
        else:
            with _in_process(app) as client:
                yield Api(IN_PROCESS_URL, client, settings, live=False)

    yield run
    for schema in schemas:
        asyncio.run(drop_schema(postgres_url_or_skip(), schema))


@pytest.fixture
def api(serve: Serve) -> Iterator[Api]:
    """The default app: service key required, HS256 user tokens, demo class seeded."""
    with serve() as running:
        yield running

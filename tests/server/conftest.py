"""A live server per test, on each storage backend, with a real socket and real tokens."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from langchain_core.language_models import BaseChatModel

from server.app import create_app
from server.auth.tokens import sign_dev_token
from server.settings import ProviderName, Settings
from server.state import ChatProviderFactory, EmbeddingProviderFactory
from tests.conftest import drop_schema, fresh_schema_name, postgres_url_or_skip
from tests.liveserver import LiveServer
from tools.models.providers import ChatProvider

API_KEY = "test-service-key"
JWT_SECRET = "server-tests-hs256-secret-of-at-least-32-bytes"
ISSUER = "http://127.0.0.1:9/auth/v1"


@dataclass
class Api:
    """A client for one live server, sending the service key unless told otherwise."""

    url: str
    client: httpx.Client
    settings: Settings

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


@pytest.fixture
def serve(backend: str, tmp_path: Path) -> Iterator[Serve]:
    """`with serve(**settings) as api:` runs the app on `backend` until the block ends."""
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
        with LiveServer(app) as url, httpx.Client(timeout=30) as client:
            yield Api(url, client, settings)

    yield run
    for schema in schemas:
        asyncio.run(drop_schema(postgres_url_or_skip(), schema))


@pytest.fixture
def api(serve: Serve) -> Iterator[Api]:
    """The default live server: service key required, HS256 user tokens, demo class seeded."""
    with serve() as running:
        yield running

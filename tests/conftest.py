"""Shared fixtures: no network models, both storage backends, and the `live` marker."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import httpx2
import pytest

# The loopback OpenAI-compatible server and the local llama.cpp model, for every test.
pytest_plugins = ["tests.openai_server", "tests.local_model"]

# Tests never reach a network model: no provider keys, whatever the developer's shell holds.
for _name in ("OPENROUTER_API_KEY", "OPENAI_API_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY"):
    os.environ.pop(_name, None)
os.environ["LANGSMITH_TRACING"] = "false"

_LOOPBACK = {"127.0.0.1", "localhost", "::1", "testserver"}
_real_send = httpx.AsyncClient.send
_real_sync_send = httpx.Client.send
# The openai SDK (3.x) sends through httpx2, a separate package: guard it too.
_real_send2 = httpx2.AsyncClient.send
_real_sync_send2 = httpx2.Client.send


def _refuse_remote(request: httpx.Request | httpx2.Request) -> None:
    if request.url.host not in _LOOPBACK:
        raise AssertionError(f"A test tried to reach the network: {request.url.host}")


async def _guarded_send(self: httpx.AsyncClient, request: httpx.Request, **kw: Any) -> Any:
    _refuse_remote(request)
    return await _real_send(self, request, **kw)


def _guarded_sync_send(self: httpx.Client, request: httpx.Request, **kw: Any) -> Any:
    _refuse_remote(request)
    return _real_sync_send(self, request, **kw)


async def _guarded_send2(self: httpx2.AsyncClient, request: httpx2.Request, **kw: Any) -> Any:
    _refuse_remote(request)
    return await _real_send2(self, request, **kw)


def _guarded_sync_send2(self: httpx2.Client, request: httpx2.Request, **kw: Any) -> Any:
    _refuse_remote(request)
    return _real_sync_send2(self, request, **kw)


httpx.AsyncClient.send = _guarded_send  # type: ignore[method-assign]
httpx.Client.send = _guarded_sync_send  # type: ignore[method-assign]
httpx2.AsyncClient.send = _guarded_send2  # type: ignore[method-assign]
httpx2.Client.send = _guarded_sync_send2  # type: ignore[method-assign]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "live: serve the app with uvicorn on a loopback socket instead of in-process (streams,"
        " client disconnects, pings, concurrent clients, raw sockets)",
    )


IN_CI = os.environ.get("CI", "").lower() == "true"
# Under CI the services always run on this machine's standard ports, so an unset variable means
# "use them", never "skip": CI must exercise both backends and Redis.
_CI_DEFAULTS = {
    "STEMGRAPH_TEST_POSTGRES_URL": "postgresql://postgres@127.0.0.1:5432/test",
    "STEMGRAPH_TEST_REDIS_URL": "redis://127.0.0.1:6379/0",
}


def _service_url_or_skip(variable: str, service: str) -> str:
    url = os.environ.get(variable) or (_CI_DEFAULTS[variable] if IN_CI else None)
    if url:
        return url
    pytest.skip(f"{variable} is not set (no local {service} to test against)")


def postgres_url_or_skip() -> str:
    """The test PostgreSQL's URL; outside CI, tests skip without one."""
    return _service_url_or_skip("STEMGRAPH_TEST_POSTGRES_URL", "PostgreSQL")


def redis_url_or_skip() -> str:
    """The test Redis's URL; outside CI, tests skip without one."""
    return _service_url_or_skip("STEMGRAPH_TEST_REDIS_URL", "Redis")


def fresh_schema_name() -> str:
    return f"sg_test_{uuid.uuid4().hex[:12]}"


async def drop_schema(url: str, schema: str) -> None:
    from psycopg import AsyncConnection

    async with await AsyncConnection.connect(url, autocommit=True) as conn:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def store(backend: str, tmp_path: Any) -> AsyncIterator[Any]:
    """A freshly created store on each backend (a new SQLite file, a new Postgres schema)."""
    from tools.store import open_store

    if backend == "sqlite":
        opened = await open_store(str(tmp_path / "store.sqlite3"))
        yield opened
        await opened.close()
        return
    url = postgres_url_or_skip()
    schema = fresh_schema_name()
    opened = await open_store(url, schema=schema)
    try:
        yield opened
    finally:
        await opened.close()
        await drop_schema(url, schema)

"""Guardrails on both backends: in-process, and a real Redis (`STEMGRAPH_TEST_REDIS_URL`)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from redis.asyncio import Redis

from server.guardrails import Guardrails
from server.guardrails.memory import MemoryGuardrails
from server.guardrails.redis_backend import RedisGuardrails
from server.settings import Settings
from tests.conftest import redis_url_or_skip


def fresh_prefix() -> str:
    return f"stemgraph:guest:test:{uuid.uuid4().hex[:12]}"


async def delete_prefix(url: str, prefix: str) -> None:
    client = Redis.from_url(url)
    try:
        keys = [key async for key in client.scan_iter(match=f"{prefix}:*")]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


def guest_settings(**overrides: Any) -> Settings:
    """Settings for guardrail tests: the contract's defaults unless overridden, no REDIS_URL."""
    options: dict[str, Any] = {"redis_url": None, **overrides}
    return Settings(**options)


MakeGuardrails = Callable[..., Guardrails]


@pytest.fixture(params=["memory", "redis"])
def guard_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def redis_url() -> str:
    return redis_url_or_skip()


@pytest.fixture
async def prefix(redis_url: str) -> AsyncIterator[str]:
    """A fresh key prefix on the test Redis, its keys deleted when the test ends."""
    name = fresh_prefix()
    try:
        yield name
    finally:
        await delete_prefix(redis_url, name)


@pytest.fixture
async def make_guardrails(guard_backend: str) -> AsyncIterator[MakeGuardrails]:
    """`make(**settings)`: guardrails on the backend, closed (their Redis keys deleted) after."""
    url = redis_url_or_skip() if guard_backend == "redis" else None
    made: list[Guardrails] = []
    prefixes: list[str] = []

    def make(**overrides: Any) -> Guardrails:
        settings = guest_settings(**overrides)
        guardrails: Guardrails
        if url is None:
            guardrails = MemoryGuardrails(settings)
        else:
            prefixes.append(fresh_prefix())
            guardrails = RedisGuardrails(settings, url=url, prefix=prefixes[-1])
        made.append(guardrails)
        return guardrails

    yield make
    for guardrails in made:
        await guardrails.aclose()
    for name in prefixes:
        assert url is not None
        await delete_prefix(url, name)

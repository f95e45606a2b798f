"""The official Python client (`langgraph-sdk`) against a live stemgraph server."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest
from langgraph_sdk import get_client
from langgraph_sdk.client import LangGraphClient

from tests.server.conftest import API_KEY, Api, user_token

Sdk = Callable[..., LangGraphClient]


@pytest.fixture
async def sdk() -> AsyncIterator[Sdk]:
    """`sdk(api, user=None)`: a client sending the service key, and `user`'s token when given;
    closed when the test ends."""
    made: list[LangGraphClient] = []

    def make(api: Api, user: str | None = None) -> LangGraphClient:
        headers = {"authorization": f"Bearer {user_token(user)}"} if user else None
        client = get_client(url=api.url, api_key=API_KEY, headers=headers, timeout=30)
        made.append(client)
        return client

    yield make
    for client in made:
        await client.aclose()

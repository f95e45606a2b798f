"""A run's `context` is applied, not only checked: its `timeout_ms` is the run's deadline for
model calls and its `provider_order` the providers tried (official Python client, live)."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from server.settings import ProviderName
from tests.fakes import ScriptedChatModel, SlowChatModel
from tests.server.conftest import Serve
from tests.server.protocol.conftest import Sdk
from tools.models.providers import ChatProvider

pytestmark = pytest.mark.live
ASK = {"user": "What is a newton?", "system": ""}


def named(replies: dict[ProviderName, str]) -> object:
    """A provider factory with one scripted model per provider name, in the order asked for."""

    def providers(
        order: Sequence[ProviderName], temperature: float | None, max_tokens: int | None
    ) -> list[ChatProvider]:
        return [
            ChatProvider(name, "fake-model", ScriptedChatModel.replying(*[replies[name]] * 5))
            for name in order
            if name in replies
        ]

    return providers


async def test_a_runs_timeout_is_its_model_deadline(serve: Serve, sdk: Sdk) -> None:
    slow = SlowChatModel(delay_s=3.0, reply="late")

    def only_slow(
        order: Sequence[ProviderName], temperature: float | None, max_tokens: int | None
    ) -> list[ChatProvider]:
        return [ChatProvider("openai", "fake-model", slow)]

    with serve(chat=only_slow, ai_request_timeout_ms=20_000) as api:
        client = sdk(api)
        # 300 ms: the slow provider is cut, the offline engine answers (the router's fallback).
        cut = await client.runs.wait(None, "llm", input=ASK, context={"timeout_ms": 300})
        assert cut["provider"] == "offline", cut
        assert cut["attempts"][0]["provider"] == "openai"
        assert cut["attempts"][0]["error"] == "timeout", cut["attempts"]
        # The server's own 20 s: the provider answers.
        waited = await client.runs.wait(None, "llm", input=ASK)
        assert (waited["provider"], waited["content"]) == ("openai", "late")


async def test_a_runs_provider_order_picks_its_providers(serve: Serve, sdk: Sdk) -> None:
    replies: dict[ProviderName, str] = {"openai": "from openai", "gemini": "from gemini"}
    with serve(chat=named(replies)) as api:
        client = sdk(api)
        thread = (await client.threads.create())["thread_id"]
        chosen = await client.runs.wait(
            thread, "llm", input=ASK, context={"provider_order": ["gemini"]}
        )
        assert (chosen["provider"], chosen["content"]) == ("gemini", "from gemini")
        default = await client.runs.wait(thread, "llm", input=ASK)
        assert (default["provider"], default["content"]) == ("openai", "from openai")

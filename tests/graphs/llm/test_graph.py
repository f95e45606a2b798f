"""The direct model call on its own: prompts, streamed tokens and exhausted providers."""

from __future__ import annotations

from typing import Any

import pytest

from graphs.llm import graph
from graphs.llm.graph import ProviderError
from graphs.shared.context import GenerationContext
from tests.fakes import FailingChatModel, ScriptedChatModel, TrickleChatModel
from tools.models.providers import ChatProvider
from tools.models.router import ModelRouter


def context(router: ModelRouter) -> GenerationContext:
    return GenerationContext(router=router, timeout_ms=5_000)


async def test_the_reply_and_who_wrote_it() -> None:
    model = ScriptedChatModel.replying("A newton is the SI unit of force.")
    router = ModelRouter([ChatProvider("openai", "gpt-fake", model)])
    given = {"system": "Be concise.", "user": "What is a newton?"}
    result = await graph.ainvoke(given, context=context(router))
    assert result["content"] == "A newton is the SI unit of force."
    assert (result["provider"], result["model"]) == ("openai", "gpt-fake")
    assert isinstance(result["latency_ms"], int)
    assert set(result) == {"content", "provider", "model", "usage", "latency_ms", "attempts"}
    assert result["attempts"] == []
    (prompt,) = model.prompts
    assert [(m.type, m.content) for m in prompt] == [
        ("system", "Be concise."),
        ("human", "What is a newton?"),
    ]
    # A blank system prompt is left out.
    await graph.ainvoke({"system": "  ", "user": "Hi"}, context=context(router))
    assert [m.type for m in model.prompts[1]] == ["human"]


async def test_tokens_stream_as_messages_with_the_node_s_metadata() -> None:
    model = TrickleChatModel(reply="Force is measured in newtons.", token_delay_s=0)
    router = ModelRouter([ChatProvider("openai", "trickle", model)])
    parts: list[Any] = [
        part
        async for part in graph.astream(
            {"system": "", "user": "Unit of force?"},
            context=context(router),
            stream_mode=["messages", "custom", "values"],
            version="v2",
        )
    ]
    tokens = [part["data"] for part in parts if part["type"] == "messages"]
    assert len([chunk for chunk, _ in tokens if chunk.content]) == 5  # one per word
    assert "".join(chunk.content for chunk, _ in tokens) == "Force is measured in newtons. "
    assert {metadata["langgraph_node"] for _, metadata in tokens} == {"generate"}
    stages = [part["data"]["stage"] for part in parts if part["type"] == "custom"]
    assert stages == ["generate", "done"]
    assert parts[-1]["type"] == "values"
    assert parts[-1]["data"]["content"] == "Force is measured in newtons. "


async def test_providers_exhausted_without_offline_fallback_is_a_provider_error() -> None:
    failing = FailingChatModel()
    router = ModelRouter([ChatProvider("openai", "down", failing)], offline_fallback=False)
    with pytest.raises(ProviderError) as raised:
        await graph.ainvoke({"system": "", "user": "Hi"}, context=context(router))
    assert raised.value.code == "provider_error" and raised.value.status == 502
    # The caller learns which provider failed and how (never a key or the prompt).
    assert str(raised.value) == (
        "Every model provider failed: openai (down): connection,"
        " ConnectionError: provider unavailable."
    )
    assert failing.calls == 1

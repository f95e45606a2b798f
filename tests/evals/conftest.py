"""Eval test fixtures: a loopback provider."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.evals.loopback import LOOPBACK_MODEL, LoopbackChat, serve_chat


@pytest.fixture
def openrouter_loopback(monkeypatch: pytest.MonkeyPatch) -> Iterator[LoopbackChat]:
    """A loopback OpenAI-compatible server set in the environment as the only provider
    (OpenRouter: the provider with a base-URL setting), exactly as a deployment sets one."""
    with serve_chat() as chat:
        for name in ("OPENAI_API_KEY", "GEMINI_API_KEY", "AI_PROVIDER_DEFAULT"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("OPENROUTER_API_KEY", "sk-loopback-test")
        monkeypatch.setenv("OPENROUTER_BASE_URL", chat.base_url)
        monkeypatch.setenv("OPENROUTER_MODEL", LOOPBACK_MODEL)
        yield chat

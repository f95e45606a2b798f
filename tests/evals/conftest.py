"""Eval test fixtures: the loopback OpenAI-compatible server as the configured provider."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from tests.openai_server import OpenAIServer

LOOPBACK_MODEL = "loopback/quiz-1"
LOOPBACK_KEY = "sk-loopback-test"


@pytest.fixture
def openrouter_loopback(monkeypatch: pytest.MonkeyPatch) -> Iterator[OpenAIServer]:
    """An `OpenAIServer` set in the environment as the only provider (OpenRouter: the provider
    with a base-URL setting), exactly as a deployment sets one.

    Keep-alive, as real providers do, so pooled connections are reused between calls.
    """
    with OpenAIServer(keep_alive=True) as server:
        for name in ("OPENAI_API_KEY", "GEMINI_API_KEY", "AI_PROVIDER_DEFAULT"):
            monkeypatch.delenv(name, raising=False)
        # A unique path per server: the OpenAI SDK's HTTP clients are cached per base URL, so
        # a later server on a reused port never meets an earlier one's pooled connections.
        base_url = f"http://127.0.0.1:{server.port}/t{uuid.uuid4().hex[:8]}/v1"
        monkeypatch.setenv("OPENROUTER_API_KEY", LOOPBACK_KEY)
        monkeypatch.setenv("OPENROUTER_BASE_URL", base_url)
        monkeypatch.setenv("OPENROUTER_MODEL", LOOPBACK_MODEL)
        yield server

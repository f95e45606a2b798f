"""`GET /healthz`: plain never claims a provider works; `?deep=true` probes each one."""

from __future__ import annotations

import time

from tests.openai_server import OpenAIServer, hang, reply, status
from tests.server.conftest import Serve


def configured_at(server: OpenAIServer, **overrides: object) -> dict[str, object]:
    return {
        "openrouter_api_key": "sk-or-test",
        "openrouter_base_url": server.base_url,
        "openrouter_model": "fake-model",
        **overrides,
    }


def test_plain_healthz_lists_configured_providers_without_calling_them(
    serve: Serve, openai_server: OpenAIServer
) -> None:
    with serve(**configured_at(openai_server)) as api:
        data = api.get("/healthz").json()["data"]
    assert data["providers"] == {"configured": ["openrouter"], "offline_fallback": True}
    assert "probes" not in data["providers"]
    assert openai_server.requests == []


def test_deep_healthz_reports_a_working_provider(serve: Serve, openai_server: OpenAIServer) -> None:
    openai_server.chat(reply("ok"))
    with serve(**configured_at(openai_server)) as api:
        response = api.get("/healthz?deep=true")
    assert response.status_code == 200
    data = response.json()["data"]
    (probe,) = data["providers"]["probes"]
    assert (probe["provider"], probe["model"], probe["ok"]) == ("openrouter", "fake-model", True)
    assert isinstance(probe["latency_ms"], int)
    assert data["status"] == "ok"
    # A tiny call: one token asked for.
    assert openai_server.chat_requests[0].json["max_tokens"] == 1


def test_deep_healthz_reports_a_failing_provider_and_why(
    serve: Serve, openai_server: OpenAIServer
) -> None:
    openai_server.chat(status(401))
    with serve(**configured_at(openai_server)) as api:
        data = api.get("/healthz", params={"deep": "true"}).json()["data"]
    (probe,) = data["providers"]["probes"]
    assert (probe["ok"], probe["error"]) == (False, "auth")
    assert "401" in probe["message"]
    assert data["status"] == "degraded"


def test_deep_healthz_is_bounded_in_time(serve: Serve, openai_server: OpenAIServer) -> None:
    openai_server.chat(hang(30))
    with serve(**configured_at(openai_server, ai_health_probe_timeout_ms=300)) as api:
        started = time.monotonic()
        data = api.get("/healthz?deep=true").json()["data"]
        elapsed = time.monotonic() - started
    assert elapsed < 2.0
    (probe,) = data["providers"]["probes"]
    assert (probe["ok"], probe["error"]) == (False, "timeout")


def test_deep_healthz_without_providers_probes_nothing(serve: Serve) -> None:
    with serve() as api:
        data = api.get("/healthz?deep=true").json()["data"]
    assert data["providers"]["probes"] == []
    assert data["status"] == "ok"

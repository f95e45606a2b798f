"""`GET /healthz`: is the store reachable (and, on Postgres, is pgvector there), and which
providers are configured (or, with `?deep=true`, which ones answer a tiny call right now)."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from langchain_core.messages import HumanMessage
from starlette.requests import Request
from starlette.responses import JSONResponse

from server.envelope import envelope, request_id_of
from server.errors import ApiError
from server.state import AppState, app_state
from tools.models.providers import ChatProvider, configured, resolve_order
from tools.models.router import CallOptions, Deadline, ModelRouter, ProvidersExhausted

logger = logging.getLogger("stemgraph.health")

# The probe asks for one token: enough to prove the key, the model name and the route work.
_PROBE = [HumanMessage("Reply with the single word: ok")]


async def _probe(provider: ChatProvider, timeout_ms: int) -> dict[str, Any]:
    """One provider's answer to a one-token call within `timeout_ms`."""
    router = ModelRouter([provider], offline_fallback=False, rate_limit_retries=0)
    started = time.monotonic()
    status: dict[str, Any] = {"provider": provider.name, "model": provider.model}
    try:
        await router.ainvoke(
            _PROBE, deadline=Deadline.after_ms(timeout_ms), options=CallOptions(max_tokens=1)
        )
    except ProvidersExhausted as error:
        (attempt, *_) = error.attempts
        status.update(ok=False, error=attempt.error, message=attempt.message)
    else:
        status["ok"] = True
    status["latency_ms"] = round((time.monotonic() - started) * 1000)
    return status


async def _probe_all(state: AppState) -> list[dict[str, Any]]:
    providers = state.chat_providers(resolve_order(state.settings), None, None)
    timeout_ms = state.settings.ai_health_probe_timeout_ms
    return list(await asyncio.gather(*(_probe(p, timeout_ms) for p in providers)))


async def healthz(request: Request) -> JSONResponse:
    state = app_state(request)
    try:
        await state.store.ping()
        store_ok = True
    except Exception:
        logger.exception("store ping failed")
        store_ok = False
    # Configured is not working: only the deep check calls the providers and says which answer.
    providers: dict[str, Any] = {"configured": configured(state.settings), "offline_fallback": True}
    if request.query_params.get("deep", "").lower() in ("1", "true", "yes"):
        providers["probes"] = await _probe_all(state)
    data = {
        "status": "ok" if store_ok else "degraded",
        # `pgvector`: dense retrieval in SQL is available (Postgres; false means full text
        # alone), null on SQLite, where retrieval ranks in process.
        "store": {"backend": state.store.backend, "ok": store_ok, "pgvector": state.store.pgvector},
        "providers": providers,
        "dev_mode": state.settings.dev_mode,
    }
    probes = providers.get("probes")
    if probes and not any(probe["ok"] for probe in probes):
        data["status"] = "degraded"
    request_id = request_id_of(request)
    if store_ok:
        return JSONResponse(envelope(ok=True, data=data, request_id=request_id))
    error = ApiError(503, "store_unavailable", "The database is not reachable.")
    body = envelope(ok=False, data=data, error=error, request_id=request_id)
    return JSONResponse(body, status_code=503)

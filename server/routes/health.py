"""`GET /healthz`: is the store reachable, and which providers could answer."""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import JSONResponse

from server.envelope import envelope, request_id_of
from server.errors import ApiError
from server.state import app_state
from tools.models.providers import configured

logger = logging.getLogger("stemgraph.health")


async def healthz(request: Request) -> JSONResponse:
    state = app_state(request)
    try:
        await state.store.ping()
        store_ok = True
    except Exception:
        logger.exception("store ping failed")
        store_ok = False
    data = {
        "status": "ok" if store_ok else "degraded",
        "store": {"backend": state.store.backend, "ok": store_ok},
        "providers": {"configured": configured(state.settings), "offline_fallback": True},
        "dev_mode": state.settings.dev_mode,
    }
    request_id = request_id_of(request)
    if store_ok:
        return JSONResponse(envelope(ok=True, data=data, request_id=request_id))
    error = ApiError(503, "store_unavailable", "The database is not reachable.")
    body = envelope(ok=False, data=data, error=error, request_id=request_id)
    return JSONResponse(body, status_code=503)

"""The Starlette application: routes, middleware and the lifespan that opens everything."""

from __future__ import annotations

import functools
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import openai
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server import background, openapi
from server.auth.tokens import TokenVerifier
from server.checkpoints import open_checkpointer
from server.devmode import DEV_ISSUER, dev_jwt_secret
from server.envelope import error_response, request_id_of
from server.errors import ApiError
from server.guardrails import build_guardrails
from server.middleware.edge import EdgeMiddleware
from server.protocol import ROUTES as PROTOCOL_ROUTES
from server.protocol.service import Protocol
from server.registry import build_registry
from server.routes import (
    analytics,
    blueprints,
    chat,
    classes,
    data_query,
    flashcards,
    guests,
    health,
    llm,
    materials,
    quiz,
    teaching_brief,
    workspace,
)
from server.settings import ProviderName, Settings
from server.shutdown import Shutdown, chain_signal_handlers
from server.state import AppState, ChatProviderFactory, EmbeddingProviderFactory
from tools.demo import seed_demo
from tools.files import open_file_store
from tools.models.embeddings import EMBEDDING_DIMENSIONS
from tools.models.providers import (
    ChatProvider,
    EmbeddingProvider,
    chat_providers,
    embedding_providers,
)
from tools.store import open_store

logger = logging.getLogger("stemgraph")


def _verifier(settings: Settings) -> TokenVerifier:
    if settings.dev_mode and not (settings.jwks_url or settings.supabase_jwt_secret):
        # Local dev: demo tokens from `make token`, signed with this data dir's secret.
        return TokenVerifier(
            jwks_url=None,
            issuer=DEV_ISSUER,
            audience=settings.supabase_jwt_audience,
            hs256_secret=dev_jwt_secret(settings.data_dir),
        )
    return TokenVerifier(
        jwks_url=settings.jwks_url,
        issuer=settings.jwt_issuer,
        audience=settings.supabase_jwt_audience,
        hs256_secret=settings.supabase_jwt_secret,
    )


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    codes = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}
    messages = {
        404: "There is no such route.",
        405: "This route does not accept that HTTP method.",
    }
    code = codes.get(exc.status_code, "http_error")
    message = messages.get(exc.status_code, str(exc.detail))
    return error_response(request_id_of(request), ApiError(exc.status_code, code, message))


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return error_response(request_id_of(request), exc)


def _middleware(settings: Settings) -> list[Middleware]:
    """One edge layer (`server/middleware/edge.py`), and CORS inside it only when browser
    origins are configured: each layer costs every streamed event a call."""
    if not settings.cors_origins:
        return [Middleware(EdgeMiddleware, max_bytes=settings.max_body_bytes)]
    cors: dict[str, Any] = {
        "allow_origins": settings.cors_origins,
        "allow_methods": ["GET", "POST", "PATCH", "DELETE", "OPTIONS"],
        "allow_headers": [
            "authorization",
            "content-type",
            "x-api-key",
            "x-request-id",
            "last-event-id",
        ],
        "expose_headers": ["x-request-id", "x-run-id", "location", "content-location"],
        "max_age": 600,
    }
    return [
        Middleware(EdgeMiddleware, max_bytes=settings.max_body_bytes, cors=cors),
        Middleware(CORSMiddleware, **cors),
    ]


def create_app(
    settings: Settings | None = None,
    *,
    chat_provider_factory: ChatProviderFactory | None = None,
    embedding_provider_factory: EmbeddingProviderFactory | None = None,
) -> Starlette:
    """Build the app. Tests pass provider factories that return fake models."""
    settings = settings or Settings()
    # One HTTP connection pool for every provider client, opened and closed by the lifespan:
    # clients the SDK would cache per process stay bound to the event loop that made them.
    http: dict[str, openai.DefaultAsyncHttpxClient] = {}

    # Provider clients are cheap wrappers over that pool: build each combination once per
    # lifespan, not per request. Call options (temperature, JSON mode, ...) bind per call.
    @functools.lru_cache(maxsize=64)
    def cached_chat(
        order: tuple[ProviderName, ...], temperature: float | None, max_tokens: int | None
    ) -> tuple[ChatProvider, ...]:
        return tuple(
            chat_providers(
                settings,
                order,
                temperature=temperature,
                max_tokens=max_tokens,
                http_client=http.get("client"),
            )
        )

    @functools.lru_cache(maxsize=8)
    def cached_embeddings(order: tuple[ProviderName, ...]) -> tuple[EmbeddingProvider, ...]:
        return tuple(
            embedding_providers(
                settings, order, dimensions=EMBEDDING_DIMENSIONS, http_client=http.get("client")
            )
        )

    def default_chat(
        order: Sequence[ProviderName], temperature: float | None, max_tokens: int | None
    ) -> list[ChatProvider]:
        return list(cached_chat(tuple(order), temperature, max_tokens))

    def default_embeddings(order: Sequence[ProviderName]) -> list[EmbeddingProvider]:
        return list(cached_embeddings(tuple(order)))

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict[str, Any]]:
        files = open_file_store(settings.file_store_settings)
        store = await open_store(
            settings.resolved_database_url,
            schema=settings.database_schema,
            platform_database=settings.platform_database,
        )
        verifier = _verifier(settings)
        guardrails = build_guardrails(settings)
        shutdown = Shutdown(settings.shutdown_grace_seconds)
        unchain_signals = chain_signal_handlers(shutdown)
        cached_chat.cache_clear()
        cached_embeddings.cache_clear()
        http["client"] = openai.DefaultAsyncHttpxClient()
        try:
            if settings.should_seed_demo and await seed_demo(store):
                logger.info("seeded the demo class")
            async with open_checkpointer(settings) as saver:
                state = AppState(
                    settings=settings,
                    store=store,
                    files=files,
                    verifier=verifier,
                    graphs=build_registry(saver),
                    checkpointer=saver,
                    guardrails=guardrails,
                    chat_providers=chat_provider_factory or default_chat,
                    embedding_providers=embedding_provider_factory or default_embeddings,
                )
                if settings.dev_mode:
                    logger.warning(
                        "LOCAL DEV MODE: unauthenticated requests allowed without a service key,"
                        " demo tokens accepted; never run this way in production",
                        extra={"store": store.backend, "data_dir": str(settings.data_dir)},
                    )
                protocol = Protocol(state)
                await protocol.start()
                try:
                    yield {"app": state, "shutdown": shutdown, "protocol": protocol}
                finally:
                    # Runs of this process end before the checkpointer and store close.
                    await protocol.aclose()
        finally:
            unchain_signals()
            # Background work (material batches) may still use the store: let it end first.
            await background.drain(timeout=10)
            await guardrails.aclose()
            await verifier.aclose()
            await store.close()
            await files.aclose()
            cached_chat.cache_clear()
            cached_embeddings.cache_clear()
            await http.pop("client").aclose()

    return Starlette(
        routes=[
            Route("/healthz", health.healthz, methods=["GET"]),
            Route("/openapi.json", openapi.openapi_json, methods=["GET"]),
            Route("/v1/llm/generate", llm.generate, methods=["POST"]),
            Route("/v1/llm/embeddings", llm.embeddings, methods=["POST"]),
            Route("/v1/quiz/generate", quiz.generate, methods=["POST"]),
            Route("/v1/flashcards/generate", flashcards.generate, methods=["POST"]),
            Route("/v1/blueprints/generate", blueprints.generate, methods=["POST"]),
            Route("/v1/blueprints/approve", blueprints.approve, methods=["POST"]),
            Route("/v1/chat/generate", chat.generate, methods=["POST"]),
            Route("/v1/chat/canvas", chat.canvas, methods=["POST"]),
            Route("/v1/chat/workspace/participants", workspace.participants, methods=["POST"]),
            Route("/v1/chat/workspace/sessions/list", workspace.list_sessions, methods=["POST"]),
            Route("/v1/chat/workspace/sessions/create", workspace.create_session, methods=["POST"]),
            Route("/v1/chat/workspace/sessions/rename", workspace.rename_session, methods=["POST"]),
            Route(
                "/v1/chat/workspace/sessions/archive", workspace.archive_session, methods=["POST"]
            ),
            Route("/v1/chat/workspace/messages/list", workspace.list_messages, methods=["POST"]),
            Route("/v1/chat/workspace/messages/send", workspace.send_message, methods=["POST"]),
            Route("/v1/materials/create", materials.create, methods=["POST"]),
            Route("/v1/materials/dispatch", materials.dispatch, methods=["POST"]),
            Route("/v1/materials/process", materials.process, methods=["POST"]),
            Route("/v1/analytics/class-insights", analytics.class_insights, methods=["POST"]),
            Route(
                "/v1/analytics/class-teaching-brief",
                teaching_brief.class_teaching_brief,
                methods=["POST"],
            ),
            Route("/v1/analytics/data-query", data_query.data_query, methods=["POST"]),
            Route("/v1/classes/create", classes.create, methods=["POST"]),
            Route("/v1/classes/join", classes.join, methods=["POST"]),
            Route("/v1/guests/claim", guests.claim, methods=["POST"]),
            *PROTOCOL_ROUTES,
        ],
        middleware=_middleware(settings),
        exception_handlers={HTTPException: _http_error, ApiError: _api_error},
        lifespan=lifespan,
    )

"""Ordered fallback across providers under one deadline, ending at the offline engine."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.runnables import Runnable, RunnableConfig

from tools.models.embeddings import EMBEDDING_DIMENSIONS, hashed_model, offline_embedding
from tools.models.offline import (
    OFFLINE_MODEL,
    OFFLINE_PROVIDER,
    OfflineChatModel,
    Responder,
    extractive_reply,
)
from tools.models.providers import ChatProvider, EmbeddingProvider
from tools.text import estimate_tokens


@dataclass(frozen=True, slots=True)
class Deadline:
    """An absolute point in monotonic time shared by every attempt of one request."""

    expires_at: float

    @classmethod
    def after_ms(cls, timeout_ms: int) -> Deadline:
        return cls(time.monotonic() + timeout_ms / 1000)

    def remaining(self) -> float:
        return max(0.0, self.expires_at - time.monotonic())


@dataclass(frozen=True, slots=True)
class Usage:
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int

    def as_dict(self) -> dict[str, int]:
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.total_tokens,
        }


@dataclass(frozen=True, slots=True)
class CallOptions:
    """What one call asks of the provider, on top of the client's own settings."""

    temperature: float | None = None
    max_tokens: int | None = None  # sent under the name each provider honours
    json_mode: bool = False  # ask for a JSON object natively
    json_schema: dict[str, Any] | None = None  # when the provider supports schema'd JSON


@dataclass(frozen=True, slots=True)
class Attempt:
    """One provider call that did not serve the answer."""

    provider: str
    model: str
    error: str  # a short kind: "timeout", "http_429", "invalid_output", ...
    message: str  # one readable line

    def as_wire(self) -> dict[str, str]:
        return {
            "provider": self.provider,
            "model": self.model,
            "error": self.error,
            "message": self.message,
        }


@dataclass(frozen=True, slots=True)
class ModelReply:
    message: AIMessage
    provider: str
    model: str
    usage: Usage | None
    latency_ms: int
    attempts: tuple[Attempt, ...] = field(default=())
    finish_reason: str | None = None

    @property
    def text(self) -> str:
        return self.message.text if isinstance(self.message.text, str) else ""


@dataclass(frozen=True, slots=True)
class EmbeddingReply:
    vectors: list[list[float]]
    provider: str
    model: str
    usage: Usage
    latency_ms: int
    attempts: tuple[Attempt, ...] = field(default=())


def _usage_of(message: AIMessage) -> Usage | None:
    meta = message.usage_metadata
    if not meta:
        return None
    prompt = int(meta.get("input_tokens") or 0)
    completion = int(meta.get("output_tokens") or 0)
    total = int(meta.get("total_tokens") or prompt + completion)
    return Usage(prompt, completion, total)


def _kind(error: BaseException) -> str:
    if isinstance(error, TimeoutError):
        return "timeout"
    status = getattr(error, "status_code", None)
    if isinstance(status, int):
        return f"http_{status}"
    if isinstance(error, ConnectionError):
        return "connection_error"
    return "error"


def _finish_reason(message: AIMessage) -> str | None:
    reason = message.response_metadata.get("finish_reason")
    return str(reason) if reason else None


def _bound(client: BaseChatModel, options: CallOptions | None) -> Runnable[Any, Any]:
    """`client` with the call's options, under the names its provider takes (a thin shim)."""
    if options is None:
        return client
    kwargs: dict[str, Any] = {}
    if options.temperature is not None:
        kwargs["temperature"] = options.temperature
    openai_style = type(client).__module__.startswith("langchain_openai")
    gemini = type(client).__module__.startswith("langchain_google_genai")
    if openai_style:
        # Both go in the raw body: ChatOpenAI renames `max_tokens` to `max_completion_tokens`
        # (which OpenRouter and llama.cpp ignore), and a `response_format` kwarg switches it to
        # the SDK's `parse`, which raises on `finish_reason: length` instead of returning it.
        body: dict[str, Any] = {}
        if options.max_tokens is not None:
            body["max_tokens"] = options.max_tokens
        if options.json_mode:
            body["response_format"] = {"type": "json_object"}
        if body:
            kwargs["extra_body"] = body
    elif gemini:
        if options.max_tokens is not None:
            kwargs["max_output_tokens"] = options.max_tokens
        if options.json_mode:
            kwargs["response_mime_type"] = "application/json"
    else:
        if options.max_tokens is not None:
            kwargs["max_tokens"] = options.max_tokens
        if options.json_mode:
            kwargs["response_format"] = {"type": "json_object"}
    return client.bind(**kwargs) if kwargs else client


def _describe(error: BaseException) -> str:
    if isinstance(error, TimeoutError):
        return "timed out"
    # Provider errors can echo request details; keep the class name and a short first line.
    first_line = str(error).strip().splitlines()[0][:200] if str(error).strip() else ""
    return f"{type(error).__name__}: {first_line}" if first_line else type(error).__name__


class ModelRouter:
    """Tries each provider in order until one answers; the offline engine is the last resort."""

    def __init__(self, providers: Sequence[ChatProvider], *, offline_fallback: bool = True) -> None:
        self.providers = tuple(providers)
        self.offline_fallback = offline_fallback

    async def ainvoke(
        self,
        messages: Sequence[BaseMessage],
        *,
        deadline: Deadline,
        responder: Responder | None = None,
        config: RunnableConfig | None = None,
        options: CallOptions | None = None,
    ) -> ModelReply:
        """The first successful reply; raises `ProvidersExhausted` only without offline fallback."""
        attempts: list[Attempt] = []
        for provider in self.providers:
            remaining = deadline.remaining()
            if remaining <= 0:
                attempts.append(
                    Attempt(provider.name, provider.model, "skipped", "The deadline had passed.")
                )
                continue
            started = time.monotonic()
            try:
                async with asyncio.timeout(remaining):
                    client = _bound(provider.client, options)
                    result = await client.ainvoke(list(messages), config)
            except asyncio.CancelledError:
                raise
            except Exception as error:  # noqa: BLE001 - any provider failure moves to the next
                attempts.append(
                    Attempt(provider.name, provider.model, _kind(error), _describe(error))
                )
                continue
            message = result if isinstance(result, AIMessage) else AIMessage(content=result.content)
            return ModelReply(
                message=message,
                provider=provider.name,
                model=provider.model,
                usage=_usage_of(message),
                latency_ms=round((time.monotonic() - started) * 1000),
                attempts=tuple(attempts),
                finish_reason=_finish_reason(message),
            )
        if not self.offline_fallback:
            raise ProvidersExhausted(tuple(attempts))
        started = time.monotonic()
        offline = OfflineChatModel(responder=responder or extractive_reply)
        message = await offline.ainvoke(list(messages), config)
        return ModelReply(
            message=message,
            provider=OFFLINE_PROVIDER,
            model=OFFLINE_MODEL,
            usage=_usage_of(message),
            latency_ms=round((time.monotonic() - started) * 1000),
            attempts=tuple(attempts),
        )


class ProvidersExhausted(Exception):
    """Every provider failed and the caller asked for no offline fallback."""

    def __init__(self, attempts: tuple[Attempt, ...]) -> None:
        detail = "; ".join(f"{a.provider}: {a.message}" for a in attempts) or "none configured"
        super().__init__(f"Every model provider failed ({detail}).")
        self.attempts = attempts


def _valid_vectors(vectors: object, count: int, dimensions: int) -> bool:
    return (
        isinstance(vectors, list)
        and len(vectors) == count
        and all(
            isinstance(v, list)
            and len(v) == dimensions
            and all(isinstance(x, int | float) and math.isfinite(x) for x in v)
            for v in vectors
        )
    )


async def embed(
    texts: Sequence[str],
    providers: Sequence[EmbeddingProvider],
    *,
    deadline: Deadline,
    dimensions: int = EMBEDDING_DIMENSIONS,
) -> EmbeddingReply:
    """Embed `texts` with the first provider that returns valid vectors, else offline."""
    attempts: list[Attempt] = []
    tokens = sum(estimate_tokens(t) for t in texts)
    usage = Usage(tokens, 0, tokens)
    for provider in providers:
        remaining = deadline.remaining()
        if remaining <= 0:
            attempts.append(
                Attempt(provider.name, provider.model, "skipped", "The deadline had passed.")
            )
            continue
        started = time.monotonic()
        try:
            async with asyncio.timeout(remaining):
                vectors = await provider.client.aembed_documents(list(texts))
        except asyncio.CancelledError:
            raise
        except Exception as error:  # noqa: BLE001 - any provider failure moves to the next
            attempts.append(Attempt(provider.name, provider.model, _kind(error), _describe(error)))
            continue
        if not _valid_vectors(vectors, len(texts), dimensions):
            message = f"did not return {dimensions}-d vectors"
            attempts.append(Attempt(provider.name, provider.model, "invalid_output", message))
            continue
        return EmbeddingReply(
            [[float(x) for x in v] for v in vectors],
            provider.name,
            provider.model,
            usage,
            round((time.monotonic() - started) * 1000),
            tuple(attempts),
        )
    started = time.monotonic()
    vectors = [offline_embedding(text, dimensions=dimensions) for text in texts]
    return EmbeddingReply(
        vectors,
        OFFLINE_PROVIDER,
        hashed_model(dimensions),
        usage,
        round((time.monotonic() - started) * 1000),
        tuple(attempts),
    )

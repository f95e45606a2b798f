"""Ordered fallback across providers under one deadline, ending at the offline engine.

No failure is silent: every failed attempt is logged (`provider_failed`), recorded on the reply
(`attempts`) and, inside a graph run, written to the `custom` stream. The router streams from
each provider so it can enforce a first-token and an idle deadline, and when a provider that
already streamed tokens fails, it writes a `reset` event before any replacement answer.
"""

from __future__ import annotations

import asyncio
import contextvars
import email.utils
import logging
import math
import random
import re
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.messages.ai import add_ai_message_chunks
from langchain_core.runnables import RunnableConfig

from tools.models.embeddings import EMBEDDING_DIMENSIONS, hashed_model, offline_embedding
from tools.models.offline import (
    OFFLINE_MODEL,
    OFFLINE_PROVIDER,
    OfflineChatModel,
    Responder,
    extractive_reply,
)
from tools.models.options import CallOptions, bound
from tools.models.providers import ChatProvider, EmbeddingProvider
from tools.text import estimate_tokens

__all__ = [
    "Attempt",
    "CallOptions",
    "Deadline",
    "EmbeddingReply",
    "ModelReply",
    "ModelRouter",
    "ProvidersExhausted",
    "Usage",
    "embed",
    "embed_query",
    "request_id",
]

logger = logging.getLogger("stemgraph.models")

# The request being served, for log lines (set by the server per HTTP request).
request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "stemgraph_request_id", default=None
)

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Deadline:
    """An absolute point in monotonic time shared by every attempt of one request."""

    expires_at: float

    @classmethod
    def after_ms(cls, timeout_ms: int) -> Deadline:
        return cls(time.monotonic() + timeout_ms / 1000)

    def remaining(self) -> float:
        return max(0.0, self.expires_at - time.monotonic())

    def within(self, seconds: float | None) -> Deadline:
        """The earlier of this deadline and `seconds` from now (None: this deadline)."""
        if seconds is None:
            return self
        return Deadline(min(self.expires_at, time.monotonic() + seconds))


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

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.prompt_tokens + other.prompt_tokens,
            self.completion_tokens + other.completion_tokens,
            self.total_tokens + other.total_tokens,
        )


@dataclass(frozen=True, slots=True)
class Attempt:
    """One failed provider attempt, as the caller sees it (never a key or a prompt)."""

    provider: str
    model: str
    error: str  # a short kind: "timeout", "http_429", "http_500", "auth", "not_found", ...
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
    """The answer, who gave it, and every attempt that failed before it.

    `usage` sums every attempt (failed ones included); `latency_ms` is the wall time of the
    whole call, retries and fallbacks included.
    """

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


class ProvidersExhausted(Exception):
    """Every provider failed and the caller may not answer offline."""

    def __init__(self, attempts: tuple[Attempt, ...]) -> None:
        detail = "; ".join(
            f"{a.provider} ({a.model}): {a.error}, {a.message.rstrip('.')}" for a in attempts
        )
        super().__init__(f"Every model provider failed: {detail or 'none configured'}.")
        self.attempts = attempts


class _AttemptFailed(Exception):
    """One attempt's failure, classified (internal to the router)."""

    def __init__(
        self,
        kind: str,
        message: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
        streamed: bool = False,
        usage: Usage | None = None,
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.status = status
        self.retry_after = retry_after
        self.streamed = streamed
        self.usage = usage


def _usage_of(message: AIMessage) -> Usage | None:
    meta = message.usage_metadata
    if not meta:
        return None
    prompt = int(meta.get("input_tokens") or 0)
    completion = int(meta.get("output_tokens") or 0)
    total = int(meta.get("total_tokens") or prompt + completion)
    return Usage(prompt, completion, total)


def _plus(total: Usage | None, more: Usage | None) -> Usage | None:
    if total is None:
        return more
    return total if more is None else total + more


# Provider errors can echo a (masked) key or an auth header: never let one reach a log or a client.
_SECRET = re.compile(r"(sk-[A-Za-z0-9_\-*.]{3,}|AIza[0-9A-Za-z_\-]{8,}|Bearer\s+\S+)")


def _describe(error: BaseException) -> str:
    """One short line: the error's class and the first line of its text, secrets masked."""
    if isinstance(error, TimeoutError):
        return "timed out"
    text = str(error).strip()
    first_line = _SECRET.sub("[redacted]", text.splitlines()[0])[:200] if text else ""
    return f"{type(error).__name__}: {first_line}" if first_line else type(error).__name__


def _status_of(error: BaseException) -> int | None:
    response = getattr(error, "response", None)
    for candidate in (
        getattr(error, "status_code", None),
        getattr(response, "status_code", None),
        getattr(error, "code", None),
    ):
        if isinstance(candidate, int) and 100 <= candidate < 600:
            return candidate
    return None


def _kind(error: BaseException, status: int | None) -> str:
    if status in (401, 403):
        return "auth"
    if status == 404:
        return "not_found"
    if status is not None:
        return f"http_{status}"
    name = type(error).__name__
    if isinstance(error, TimeoutError) or "Timeout" in name:
        return "timeout"
    if isinstance(error, ConnectionError | OSError) or "Connection" in name:
        return "connection"
    return "error"


def _retry_after(error: BaseException) -> float | None:
    """Seconds the provider asked us to wait (`retry-after-ms` / `retry-after`), if any."""
    headers = getattr(getattr(error, "response", None), "headers", None)
    if headers is None:
        return None
    try:
        if (ms := headers.get("retry-after-ms")) is not None:
            return max(0.0, float(ms) / 1000)
        value = headers.get("retry-after")
        if value is None:
            return None
        try:
            return max(0.0, float(value))
        except ValueError:
            when = email.utils.parsedate_to_datetime(value)
            return max(0.0, when.timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def _failure(
    error: BaseException, *, streamed: bool = False, usage: Usage | None = None
) -> _AttemptFailed:
    status = _status_of(error)
    return _AttemptFailed(
        _kind(error, status),
        _describe(error),
        status=status,
        retry_after=_retry_after(error),
        streamed=streamed,
        usage=usage,
    )


def _write_custom(payload: dict[str, Any]) -> None:
    """Write to the run's `custom` stream when inside a graph run; a no-op elsewhere."""
    from langgraph.config import get_stream_writer

    try:
        writer = get_stream_writer()
    except RuntimeError:  # not inside a runnable context (a script, the embeddings route)
        return
    writer(payload)


def _record(
    attempts: list[Attempt],
    provider: str,
    model: str,
    failure: _AttemptFailed,
    started: float,
) -> None:
    """Note a failed attempt: on the reply, in the log, and on the run's custom stream."""
    attempt = Attempt(provider, model, failure.kind, failure.message)
    attempts.append(attempt)
    elapsed_ms = round((time.monotonic() - started) * 1000)
    logger.warning(
        "provider_failed provider=%s model=%s error=%s status=%s elapsed_ms=%d request_id=%s",
        provider,
        model,
        failure.kind,
        failure.status,
        elapsed_ms,
        request_id.get(),
        extra={
            "event": "provider_failed",
            "request_id": request_id.get(),
            "provider": provider,
            "model": model,
            "error": failure.kind,
            "http_status": failure.status,
            "elapsed_ms": elapsed_ms,
        },
    )
    _write_custom({"stage": "provider_failed", **attempt.as_wire()})


_FINISH_REASONS = {"STOP": "stop", "MAX_TOKENS": "length"}


def _finish_reason(value: object) -> str | None:
    """OpenAI's names (`stop`, `length`, ...); Gemini's enum names mapped onto them."""
    if not isinstance(value, str) or not value:
        return None
    return _FINISH_REASONS.get(value, value.lower())


def _retryable(status: int | None) -> bool:
    return status in (429, 503)


class ModelRouter:
    """Tries each provider in order until one answers; the offline engine is the last resort.

    429 and 503 answers are retried (`rate_limit_retries` times, backoff from `backoff_s`,
    honouring `Retry-After`) while the deadline leaves time; other failures move on at once.
    """

    def __init__(
        self,
        providers: Sequence[ChatProvider],
        *,
        offline_fallback: bool = True,
        rate_limit_retries: int = 2,
        backoff_s: float = 0.5,
    ) -> None:
        self.providers = tuple(providers)
        self.offline_fallback = offline_fallback
        self.rate_limit_retries = rate_limit_retries
        self.backoff_s = backoff_s

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
        started = time.monotonic()
        attempts: list[Attempt] = []
        spent: Usage | None = None
        asked = options or CallOptions()
        for provider in self.providers:
            runnable = bound(
                provider.client, asked.over(provider.defaults), native_schema=provider.native_schema
            )
            retries = 0
            while True:
                attempt_started = time.monotonic()
                if deadline.remaining() <= 0:
                    skipped = _AttemptFailed(
                        "timeout", "skipped: the request's deadline had passed"
                    )
                    _record(attempts, provider.name, provider.model, skipped, attempt_started)
                    break
                try:
                    message = await self._stream(provider, runnable, messages, config, deadline)
                except _AttemptFailed as failure:
                    spent = _plus(spent, failure.usage)
                    _record(attempts, provider.name, provider.model, failure, attempt_started)
                    if failure.streamed:
                        # The caller saw this provider's tokens: say they are void before any
                        # replacement answer (or before the error, when there is none).
                        _write_custom(
                            {"reset": True, "reason": failure.kind, "provider": provider.name}
                        )
                    wait = self._retry_wait(failure, retries, deadline)
                    if wait is None:
                        break
                    retries += 1
                    await asyncio.sleep(wait)
                    continue
                return ModelReply(
                    message=message,
                    provider=provider.name,
                    model=provider.model,
                    usage=_plus(spent, _usage_of(message)),
                    latency_ms=round((time.monotonic() - started) * 1000),
                    attempts=tuple(attempts),
                    finish_reason=_finish_reason(message.response_metadata.get("finish_reason")),
                )
        if not self.offline_fallback:
            raise ProvidersExhausted(tuple(attempts))
        offline = OfflineChatModel(responder=responder or extractive_reply)
        message = await offline.ainvoke(list(messages), config)
        return ModelReply(
            message=message,
            provider=OFFLINE_PROVIDER,
            model=OFFLINE_MODEL,
            usage=_plus(spent, _usage_of(message)),
            latency_ms=round((time.monotonic() - started) * 1000),
            attempts=tuple(attempts),
            finish_reason="stop",
        )

    def _retry_wait(
        self, failure: _AttemptFailed, retries: int, deadline: Deadline
    ) -> float | None:
        """Seconds to wait before retrying the same provider, or None to move on."""
        if failure.streamed or not _retryable(failure.status) or retries >= self.rate_limit_retries:
            return None
        wait = failure.retry_after
        if wait is None:
            wait = self.backoff_s * (2**retries) * (1 + random.random() / 4)  # noqa: S311
        # A wait that would use up the request's time leaves nothing to retry with.
        return wait if wait < deadline.remaining() else None

    async def _stream(
        self,
        provider: ChatProvider,
        runnable: Any,
        messages: Sequence[BaseMessage],
        config: RunnableConfig | None,
        deadline: Deadline,
    ) -> AIMessage:
        """One attempt, streamed so the first-token and idle deadlines can cut it."""
        # Summed once at the end: `a + b` per token builds a new chunk (and copies the text so
        # far) each time, a cost that grows with the reply and is paid on every token.
        chunks: list[AIMessageChunk] = []
        streamed = False
        finish: object = None
        first_token = deadline.within(provider.first_token_timeout_s)
        iterator = runnable.astream(list(messages), config).__aiter__()

        def partial() -> Usage | None:
            # A provider cut mid-stream reports no usage: estimate what it produced.
            if not chunks or not streamed:
                return None
            prompt = sum(estimate_tokens(str(m.content)) for m in messages)
            completion = estimate_tokens("".join(_text(chunk) for chunk in chunks))
            return Usage(prompt, completion, prompt + completion)

        try:
            while True:
                if streamed:
                    limit = deadline.within(provider.idle_timeout_s)
                    why = f"no token for {provider.idle_timeout_s} s"
                else:
                    limit = first_token
                    why = f"no first token within {provider.first_token_timeout_s} s"
                if limit.expires_at >= deadline.expires_at:
                    why = "the request's deadline passed"
                try:
                    async with asyncio.timeout(limit.remaining()):
                        chunk = await anext(iterator)
                except StopAsyncIteration:
                    break
                except TimeoutError:
                    raise _AttemptFailed(
                        "timeout", f"timed out: {why}", streamed=streamed, usage=partial()
                    ) from None
                except asyncio.CancelledError:
                    raise
                except Exception as error:  # noqa: BLE001 - any provider failure is classified
                    raise _failure(error, streamed=streamed, usage=partial()) from None
                chunks.append(chunk)
                if chunk.response_metadata.get("finish_reason"):
                    finish = chunk.response_metadata["finish_reason"]
                if chunk.text:
                    streamed = True
        finally:
            aclose = getattr(iterator, "aclose", None)
            if aclose is not None:
                await aclose()
        if not chunks:
            return AIMessage(content="", response_metadata={"finish_reason": finish})
        total = chunks[0] if len(chunks) == 1 else add_ai_message_chunks(chunks[0], *chunks[1:])
        message = AIMessage(
            content=total.content,
            additional_kwargs=total.additional_kwargs,
            response_metadata={**total.response_metadata, "finish_reason": finish},
            usage_metadata=total.usage_metadata,
            tool_calls=total.tool_calls,
            id=total.id,
        )
        return message


def _text(chunk: AIMessageChunk) -> str:
    text = chunk.text
    return text if isinstance(text, str) else ""


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


async def _guarded(
    provider: EmbeddingProvider,
    call: Callable[[], Awaitable[T]],
    deadline: Deadline,
    attempts: list[Attempt],
    rate_limit_retries: int,
) -> T | None:
    """`call()` within the provider's timeout and `deadline`, 429/503 retried; None if it fails."""
    retries = 0
    while True:
        started = time.monotonic()
        limit = deadline.within(provider.timeout_s)
        if limit.remaining() <= 0:
            skipped = _AttemptFailed("timeout", "skipped: the request's deadline had passed")
            _record(attempts, provider.name, provider.model, skipped, started)
            return None
        try:
            async with asyncio.timeout(limit.remaining()):
                return await call()
        except asyncio.CancelledError:
            raise
        except TimeoutError:
            failure = _AttemptFailed("timeout", "timed out")
        except Exception as error:  # noqa: BLE001 - any provider failure is classified
            failure = _failure(error)
        _record(attempts, provider.name, provider.model, failure, started)
        wait = failure.retry_after if failure.retry_after is not None else 0.5 * 2**retries
        if (
            not _retryable(failure.status)
            or retries >= rate_limit_retries
            or wait >= deadline.remaining()
        ):
            return None
        retries += 1
        await asyncio.sleep(wait)


async def embed(
    texts: Sequence[str],
    providers: Sequence[EmbeddingProvider],
    *,
    deadline: Deadline,
    dimensions: int = EMBEDDING_DIMENSIONS,
    offline_fallback: bool = True,
    rate_limit_retries: int = 2,
) -> EmbeddingReply:
    """Embed `texts` with the first provider that returns valid vectors, else offline.

    All vectors of one reply come from one model. Without `offline_fallback`, every provider
    failing raises `ProvidersExhausted` instead of answering hashed vectors.
    """
    started = time.monotonic()
    attempts: list[Attempt] = []
    tokens = sum(estimate_tokens(t) for t in texts)
    usage = Usage(tokens, 0, tokens)
    for provider in providers:

        async def call(client: EmbeddingProvider = provider) -> list[list[float]]:
            return await client.client.aembed_documents(list(texts))

        vectors = await _guarded(provider, call, deadline, attempts, rate_limit_retries)
        if vectors is None:
            continue
        if not _valid_vectors(vectors, len(texts), dimensions):
            got = len(vectors[0]) if vectors and isinstance(vectors[0], list) else 0
            invalid = _AttemptFailed(
                "invalid_output",
                f"expected {len(texts)} vectors of {dimensions} finite numbers, got "
                f"{len(vectors)} of {got}",
            )
            _record(attempts, provider.name, provider.model, invalid, time.monotonic())
            continue
        return EmbeddingReply(
            [[float(x) for x in v] for v in vectors],
            provider.name,
            provider.model,
            usage,
            round((time.monotonic() - started) * 1000),
            tuple(attempts),
        )
    if not offline_fallback:
        raise ProvidersExhausted(tuple(attempts))
    vectors = [offline_embedding(text, dimensions=dimensions) for text in texts]
    return EmbeddingReply(
        vectors,
        OFFLINE_PROVIDER,
        hashed_model(dimensions),
        usage,
        round((time.monotonic() - started) * 1000),
        tuple(attempts),
    )


async def embed_query(
    providers: Sequence[EmbeddingProvider], text: str, model: str, *, deadline: Deadline
) -> list[float] | None:
    """`text`'s vector from the provider that embeds with `model`, or None (the dense score is
    then skipped). Vectors of another model are never returned: they live in another space."""
    attempts: list[Attempt] = []
    for provider in providers:
        if provider.model != model:
            continue

        async def call(client: EmbeddingProvider = provider) -> list[float]:
            return await client.client.aembed_query(text)

        vector = await _guarded(provider, call, deadline, attempts, rate_limit_retries=0)
        if vector is not None:
            return vector
    return None

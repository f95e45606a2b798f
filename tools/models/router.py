"""Ordered fallback across providers under one deadline, ending at the offline engine."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.runnables import RunnableConfig

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
class Attempt:
    provider: str
    error: str


@dataclass(frozen=True, slots=True)
class ModelReply:
    message: AIMessage
    provider: str
    model: str
    usage: Usage | None
    latency_ms: int
    attempts: tuple[Attempt, ...] = field(default=())

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
    ) -> ModelReply:
        """The first successful reply; raises `ProvidersExhausted` only without offline fallback."""
        attempts: list[Attempt] = []
        for provider in self.providers:
            remaining = deadline.remaining()
            if remaining <= 0:
                attempts.append(Attempt(provider.name, "skipped: the deadline had passed"))
                continue
            started = time.monotonic()
            try:
                async with asyncio.timeout(remaining):
                    result = await provider.client.ainvoke(list(messages), config)
            except asyncio.CancelledError:
                raise
            except Exception as error:  # noqa: BLE001 - any provider failure moves to the next
                attempts.append(Attempt(provider.name, _describe(error)))
                continue
            message = result if isinstance(result, AIMessage) else AIMessage(content=result.content)
            return ModelReply(
                message=message,
                provider=provider.name,
                model=provider.model,
                usage=_usage_of(message),
                latency_ms=round((time.monotonic() - started) * 1000),
                attempts=tuple(attempts),
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
        detail = "; ".join(f"{a.provider}: {a.error}" for a in attempts) or "none configured"
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
            attempts.append(Attempt(provider.name, "skipped: the deadline had passed"))
            continue
        started = time.monotonic()
        try:
            async with asyncio.timeout(remaining):
                vectors = await provider.client.aembed_documents(list(texts))
        except asyncio.CancelledError:
            raise
        except Exception as error:  # noqa: BLE001 - any provider failure moves to the next
            attempts.append(Attempt(provider.name, _describe(error)))
            continue
        if not _valid_vectors(vectors, len(texts), dimensions):
            attempts.append(Attempt(provider.name, f"did not return {dimensions}-d vectors"))
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

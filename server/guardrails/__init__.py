"""Guest guardrails: per-sandbox feature limits and a global pool of guest AI-call slots.

A route admits a guest call before it reaches a model and settles the ticket afterwards:

    ticket = await guardrails.admit(sandbox_id, "quiz")   # 429 / 503 as ApiError
    try:
        result = await generate(...)
    except BaseException:
        await ticket.release()    # the reservation goes back, the slot is freed
        raise
    await ticket.succeed()        # the use is kept, the slot is freed

Uses are reserved atomically before the call (a concurrent burst never passes the limit) and
confirmed only on success. With `REDIS_URL` set the counters and slots live in Redis and hold
across server processes (`RedisGuardrails`); without it they live in this process
(`MemoryGuardrails`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal, Protocol

from server.errors import ApiError

if TYPE_CHECKING:
    from server.settings import Settings

Feature = Literal["chat", "quiz", "flashcards", "blueprint", "embedding"]
FEATURES: tuple[Feature, ...] = ("chat", "quiz", "flashcards", "blueprint", "embedding")

# How one use of each feature reads in a sentence: (singular, plural).
_USES: dict[Feature, tuple[str, str]] = {
    "chat": ("chat message", "chat messages"),
    "quiz": ("quiz generation", "quiz generations"),
    "flashcards": ("flashcard generation", "flashcard generations"),
    "blueprint": ("blueprint generation", "blueprint generations"),
    "embedding": ("embedding request", "embedding requests"),
}


class GuestTicket(Protocol):
    """One admitted guest call: settle it exactly once (further calls are no-ops)."""

    async def succeed(self) -> None:
        """The call succeeded: the reserved use is kept and the slot is released."""
        ...

    async def release(self) -> None:
        """The call failed or was cancelled: the reservation goes back and the slot is released."""
        ...


class Guardrails(Protocol):
    """Admission control for guest AI calls."""

    async def admit(self, sandbox_id: str, feature: Feature) -> GuestTicket:
        """Reserve one use, then take a concurrency slot (waiting up to the configured time).

        Raises ApiError 429 `guest_rate_limit` when the sandbox has used up the feature,
        503 `guest_concurrent_limit` when no slot frees up in time (the reservation goes back),
        503 `guest_rate_limit_unavailable` when the counter store cannot be reached.
        """
        ...

    async def usage(self, sandbox_id: str, feature: Feature) -> int:
        """Confirmed (successful) uses of `feature` in the sandbox."""
        ...

    async def aclose(self) -> None:
        """Release the backend's resources."""
        ...


def feature_limit(settings: Settings, feature: Feature) -> int:
    """The per-sandbox limit of `feature` (0 = unlimited)."""
    limits: dict[Feature, int] = {
        "chat": settings.guest_chat_limit,
        "quiz": settings.guest_quiz_limit,
        "flashcards": settings.guest_flashcards_limit,
        "blueprint": settings.guest_blueprint_limit,
        "embedding": settings.guest_embedding_limit,
    }
    if feature not in limits:
        raise ValueError(f"unknown guest feature: {feature!r}")
    return limits[feature]


def rate_limited(feature: Feature, limit: int) -> ApiError:
    singular, plural = _USES[feature]
    used = f"its only {singular}" if limit == 1 else f"all {limit} {plural}"
    return ApiError(429, "guest_rate_limit", f"This guest sandbox has used {used}.")


def concurrent_limit() -> ApiError:
    return ApiError(
        503,
        "guest_concurrent_limit",
        "Too many guest AI requests are running right now. Try again in a minute.",
    )


def unavailable() -> ApiError:
    return ApiError(
        503,
        "guest_rate_limit_unavailable",
        "Guest usage limits cannot be checked right now. Try again shortly.",
    )


def build_guardrails(settings: Settings) -> Guardrails:
    """Redis-backed guardrails when `REDIS_URL` is set, in-process ones otherwise."""
    if settings.redis_url:
        from server.guardrails.redis_backend import RedisGuardrails

        return RedisGuardrails(settings, prefix=settings.redis_key_prefix)
    from server.guardrails.memory import MemoryGuardrails

    return MemoryGuardrails(settings)


__all__ = [
    "FEATURES",
    "Feature",
    "Guardrails",
    "GuestTicket",
    "build_guardrails",
    "concurrent_limit",
    "feature_limit",
    "rate_limited",
    "unavailable",
]

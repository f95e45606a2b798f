"""In-process guardrails: counters in a dict, slots in a bounded semaphore (one server process)."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from server.guardrails import Feature, concurrent_limit, feature_limit, rate_limited

if TYPE_CHECKING:
    from server.settings import Settings

_Key = tuple[str, Feature]


class MemoryGuardrails:
    """Guest limits and slots for a single process (no `REDIS_URL`); counts reset on restart.

    Every mutation happens without an await in between, so it is atomic on the event loop;
    the lock makes the check-and-reserve explicit. Settling never suspends, so a ticket settled
    from a cancelled task (a client that went away) still frees its slot.
    """

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._wait = settings.guest_slot_wait_seconds
        self._lock = asyncio.Lock()
        self._held: dict[_Key, int] = {}  # confirmed uses plus reservations in flight
        self._confirmed: dict[_Key, int] = {}
        self._slots = asyncio.BoundedSemaphore(settings.guest_max_concurrent)

    async def admit(self, sandbox_id: str, feature: Feature) -> MemoryTicket:
        key: _Key = (sandbox_id, feature)
        limit = feature_limit(self._settings, feature)
        async with self._lock:
            held = self._held.get(key, 0)
            if limit and held >= limit:
                raise rate_limited(feature, limit)
            self._held[key] = held + 1
        try:
            async with asyncio.timeout(self._wait):
                await self._slots.acquire()
        except TimeoutError:
            self._give_back(key)
            raise concurrent_limit() from None
        except BaseException:
            self._give_back(key)
            raise
        return MemoryTicket(self, key)

    async def usage(self, sandbox_id: str, feature: Feature) -> int:
        return self._confirmed.get((sandbox_id, feature), 0)

    async def aclose(self) -> None:
        return None

    def _give_back(self, key: _Key) -> None:
        left = self._held.get(key, 0) - 1
        if left > 0:
            self._held[key] = left
        else:
            self._held.pop(key, None)

    def _settle(self, key: _Key, *, keep: bool) -> None:
        if keep:
            self._confirmed[key] = self._confirmed.get(key, 0) + 1
        else:
            self._give_back(key)
        self._slots.release()


class MemoryTicket:
    """An admitted call holding one reservation and one slot until settled."""

    def __init__(self, owner: MemoryGuardrails, key: _Key) -> None:
        self._owner = owner
        self._key = key
        self._settled = False

    async def succeed(self) -> None:
        if not self._settled:
            self._settled = True
            self._owner._settle(self._key, keep=True)

    async def release(self) -> None:
        if not self._settled:
            self._settled = True
            self._owner._settle(self._key, keep=False)

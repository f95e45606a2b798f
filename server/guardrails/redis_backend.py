"""Redis guardrails: limits and slots shared by every server process pointed at one Redis.

Keys (all under `prefix`, default `stemgraph:guest`):
- `{prefix}:usage:{feature}:{sandbox}`: confirmed uses (a counter kept `usage_ttl_seconds`);
- `{prefix}:pending:{feature}:{sandbox}`: reservations in flight (sorted set token -> expiry);
- `{prefix}:slots`: guest AI calls in flight (sorted set token -> lease expiry).

Reservations and slot leases expire by themselves (`lease_seconds`), so a crashed process never
holds a sandbox's uses or a slot for longer than one lease. Scripts read the Redis server's
clock, so processes on hosts with skewed clocks agree on expiry.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import TYPE_CHECKING

from redis.asyncio import Redis
from redis.exceptions import RedisError

from server.errors import ApiError
from server.guardrails import Feature, concurrent_limit, feature_limit, rate_limited, unavailable

if TYPE_CHECKING:
    from redis.commands.core import AsyncScript

    from server.settings import Settings

logger = logging.getLogger("stemgraph.guardrails")

DEFAULT_PREFIX = "stemgraph:guest"
DEFAULT_LEASE_SECONDS = 600.0
DEFAULT_USAGE_TTL_SECONDS = 30 * 24 * 3600
_STORE_ERRORS = (RedisError, OSError)

_NOW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
"""

# KEYS: usage, pending. ARGV: token, limit (0 = unlimited), lease_ms. -1 when the limit is reached.
_RESERVE = (
    _NOW
    + """
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
local used = tonumber(redis.call('GET', KEYS[1]) or '0') + redis.call('ZCARD', KEYS[2])
local limit = tonumber(ARGV[2])
if limit > 0 and used >= limit then return -1 end
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[3]), ARGV[1])
redis.call('PEXPIRE', KEYS[2], tonumber(ARGV[3]))
return used + 1
"""
)

# KEYS: slots. ARGV: token, max concurrent, lease_ms. 1 when the slot is taken, 0 when all busy.
_ACQUIRE = (
    _NOW
    + """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 1 end
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]))
return 1
"""
)

# KEYS: usage, pending, slots. ARGV: token, keep ('1' confirms the use), usage ttl seconds.
_SETTLE = """
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
if ARGV[2] == '1' then
  redis.call('INCR', KEYS[1])
  redis.call('EXPIRE', KEYS[1], tonumber(ARGV[3]))
end
return 1
"""


class RedisGuardrails:
    """Guest limits and slots in Redis (`REDIS_URL`), consistent across server processes."""

    def __init__(
        self,
        settings: Settings,
        *,
        url: str | None = None,
        prefix: str = DEFAULT_PREFIX,
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
        poll_seconds: float = 0.05,
        usage_ttl_seconds: int = DEFAULT_USAGE_TTL_SECONDS,
    ) -> None:
        target = url or settings.redis_url
        if not target:
            raise ValueError("RedisGuardrails needs a Redis URL (REDIS_URL)")
        if lease_seconds <= 0 or not 0 < poll_seconds <= 0.1:
            raise ValueError("lease_seconds must be > 0 and poll_seconds in (0, 0.1]")
        self._settings = settings
        self._prefix = prefix
        self._lease_ms = max(1, round(lease_seconds * 1000))
        self._poll = poll_seconds
        self._usage_ttl = usage_ttl_seconds
        self._client = Redis.from_url(target, socket_connect_timeout=2.0, socket_timeout=5.0)
        self._reserve = self._client.register_script(_RESERVE)
        self._acquire = self._client.register_script(_ACQUIRE)
        self._settle_script = self._client.register_script(_SETTLE)
        self._background: set[asyncio.Task[None]] = set()

    @property
    def slots_key(self) -> str:
        return f"{self._prefix}:slots"

    def _keys(self, sandbox_id: str, feature: Feature) -> tuple[str, str]:
        return (
            f"{self._prefix}:usage:{feature}:{sandbox_id}",
            f"{self._prefix}:pending:{feature}:{sandbox_id}",
        )

    async def admit(self, sandbox_id: str, feature: Feature) -> RedisTicket:
        limit = feature_limit(self._settings, feature)
        usage_key, pending_key = self._keys(sandbox_id, feature)
        ticket = RedisTicket(self, usage_key, pending_key, uuid.uuid4().hex)
        try:
            reserved = await self._run(
                self._reserve, [usage_key, pending_key], [ticket.token, limit, self._lease_ms]
            )
        except ApiError:
            raise  # store unreachable: a reservation made anyway expires after one lease
        except BaseException:
            ticket.abandon()  # cancelled mid-call: the reservation may exist, give it back
            raise
        if reserved < 0:
            raise rate_limited(feature, limit)
        try:
            await self._take_slot(ticket.token)
        except BaseException:
            ticket.abandon()  # the reservation (and any half-taken slot) goes back
            raise
        return ticket

    async def usage(self, sandbox_id: str, feature: Feature) -> int:
        usage_key, _ = self._keys(sandbox_id, feature)
        try:
            value = await self._client.get(usage_key)
        except _STORE_ERRORS as exc:
            logger.warning("guest usage could not be read from Redis: %s", exc)
            raise unavailable() from None
        return int(value or 0)

    async def aclose(self) -> None:
        if self._background:
            await asyncio.wait(self._background, timeout=10)
        await self._client.aclose()

    async def _take_slot(self, token: str) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._settings.guest_slot_wait_seconds
        slots = self._settings.guest_max_concurrent
        while not await self._run(self._acquire, [self.slots_key], [token, slots, self._lease_ms]):
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise concurrent_limit()
            await asyncio.sleep(min(self._poll, remaining))

    async def _run(self, script: AsyncScript, keys: list[str], args: list[str | int]) -> int:
        try:
            return int(await script(keys=keys, args=args))
        except _STORE_ERRORS as exc:
            logger.warning("guest guardrails could not reach Redis: %s", exc)
            raise unavailable() from None

    def _settle_soon(self, ticket: RedisTicket, *, keep: bool) -> asyncio.Task[None]:
        """Settle in a task of its own, so a cancelled caller cannot interrupt it halfway."""
        task = asyncio.get_running_loop().create_task(self._settle(ticket, keep=keep))
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        return task

    async def _settle(self, ticket: RedisTicket, *, keep: bool) -> None:
        keys = [ticket.usage_key, ticket.pending_key, self.slots_key]
        try:
            await self._settle_script(keys=keys, args=[ticket.token, int(keep), self._usage_ttl])
        except _STORE_ERRORS as exc:
            # The slot lease and the reservation expire by themselves after one lease.
            logger.warning("a guest ticket could not be settled in Redis: %s", exc)


class RedisTicket:
    """An admitted call: a reservation and a slot lease, both named by `token`."""

    def __init__(self, owner: RedisGuardrails, usage_key: str, pending_key: str, token: str):
        self._owner = owner
        self.usage_key = usage_key
        self.pending_key = pending_key
        self.token = token
        self._settled = False

    async def succeed(self) -> None:
        await self._finish(keep=True)

    async def release(self) -> None:
        await self._finish(keep=False)

    def abandon(self) -> None:
        """Release without waiting (for paths that cannot await, such as a cancelled admit)."""
        if not self._settled:
            self._settled = True
            self._owner._settle_soon(self, keep=False)

    async def _finish(self, *, keep: bool) -> None:
        if self._settled:
            return
        self._settled = True
        await asyncio.shield(self._owner._settle_soon(self, keep=keep))

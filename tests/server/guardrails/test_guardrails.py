"""Guest limits and slots, on the in-process backend and on a real Redis."""

from __future__ import annotations

import asyncio
import time

import pytest
from redis.asyncio import Redis

from server.errors import ApiError
from server.guardrails import FEATURES, Feature, Guardrails, GuestTicket, build_guardrails
from server.guardrails.memory import MemoryGuardrails
from server.guardrails.redis_backend import RedisGuardrails
from tests.server.guardrails.conftest import MakeGuardrails, guest_settings

SANDBOX = "5b7f3c2e-0000-4000-8000-000000000001"
OTHER = "5b7f3c2e-0000-4000-8000-000000000002"


async def use(guardrails: Guardrails, sandbox: str = SANDBOX, feature: Feature = "quiz") -> None:
    ticket = await guardrails.admit(sandbox, feature)
    await ticket.succeed()


async def refused(
    guardrails: Guardrails, sandbox: str = SANDBOX, feature: Feature = "quiz"
) -> ApiError:
    with pytest.raises(ApiError) as caught:
        await guardrails.admit(sandbox, feature)
    return caught.value


async def test_the_limit_is_enforced_per_sandbox_and_feature(
    make_guardrails: MakeGuardrails,
) -> None:
    guardrails = make_guardrails(guest_quiz_limit=3)
    for _ in range(3):
        await use(guardrails)
    error = await refused(guardrails)
    assert (error.status, error.code) == (429, "guest_rate_limit")
    assert error.message == "This guest sandbox has used all 3 quiz generations."
    assert await guardrails.usage(SANDBOX, "quiz") == 3
    await use(guardrails, OTHER)
    await use(guardrails, SANDBOX, "flashcards")
    assert await guardrails.usage(OTHER, "quiz") == 1


async def test_the_contract_defaults(make_guardrails: MakeGuardrails) -> None:
    guardrails = make_guardrails(guest_max_concurrent=60)
    expected = {"chat": 50, "quiz": 10, "flashcards": 10, "blueprint": 5, "embedding": 15}
    for feature in FEATURES:
        await asyncio.gather(*(use(guardrails, feature=feature) for _ in range(expected[feature])))
        error = await refused(guardrails, feature=feature)
        assert error.code == "guest_rate_limit"
        assert await guardrails.usage(SANDBOX, feature) == expected[feature]
    error = await refused(guardrails, feature="blueprint")
    assert error.message == "This guest sandbox has used all 5 blueprint generations."


async def test_a_limit_of_one_reads_well(make_guardrails: MakeGuardrails) -> None:
    guardrails = make_guardrails(guest_chat_limit=1)
    await use(guardrails, feature="chat")
    error = await refused(guardrails, feature="chat")
    assert error.message == "This guest sandbox has used its only chat message."


async def test_a_failed_call_gives_its_reservation_back(make_guardrails: MakeGuardrails) -> None:
    guardrails = make_guardrails(guest_quiz_limit=2)
    for _ in range(5):
        ticket = await guardrails.admit(SANDBOX, "quiz")
        await ticket.release()
    assert await guardrails.usage(SANDBOX, "quiz") == 0
    await use(guardrails)
    await use(guardrails)
    assert (await refused(guardrails)).code == "guest_rate_limit"


async def test_calls_in_flight_hold_their_reservations(make_guardrails: MakeGuardrails) -> None:
    guardrails = make_guardrails(guest_quiz_limit=3)
    tickets = [await guardrails.admit(SANDBOX, "quiz") for _ in range(3)]
    assert await guardrails.usage(SANDBOX, "quiz") == 0  # nothing confirmed yet
    assert (await refused(guardrails)).code == "guest_rate_limit"
    await tickets[0].release()
    tickets.append(await guardrails.admit(SANDBOX, "quiz"))
    for ticket in tickets[1:]:
        await ticket.succeed()
    assert await guardrails.usage(SANDBOX, "quiz") == 3


async def test_a_concurrent_burst_never_passes_the_limit(make_guardrails: MakeGuardrails) -> None:
    guardrails = make_guardrails(guest_quiz_limit=10)

    async def attempt() -> bool:
        try:
            ticket = await guardrails.admit(SANDBOX, "quiz")
        except ApiError as error:
            assert error.code == "guest_rate_limit"
            return False
        await asyncio.sleep(0.01)
        await ticket.succeed()
        return True

    results = await asyncio.gather(*(attempt() for _ in range(30)))
    assert results.count(True) == 10
    assert await guardrails.usage(SANDBOX, "quiz") == 10
    assert (await refused(guardrails)).code == "guest_rate_limit"


async def test_zero_means_unlimited(make_guardrails: MakeGuardrails) -> None:
    guardrails = make_guardrails(guest_embedding_limit=0)
    await asyncio.gather(*(use(guardrails, feature="embedding") for _ in range(40)))
    assert await guardrails.usage(SANDBOX, "embedding") == 40


async def test_a_call_waits_for_a_free_slot(make_guardrails: MakeGuardrails) -> None:
    guardrails = make_guardrails(guest_max_concurrent=2, guest_slot_wait_seconds=10)
    first = await guardrails.admit(SANDBOX, "chat")
    second = await guardrails.admit(OTHER, "quiz")  # slots are shared across guests
    waiting = asyncio.ensure_future(guardrails.admit(SANDBOX, "flashcards"))
    await asyncio.sleep(0.3)
    assert not waiting.done()
    await first.succeed()
    third = await asyncio.wait_for(waiting, timeout=2)
    await second.release()
    await third.succeed()
    assert await guardrails.usage(SANDBOX, "flashcards") == 1


async def test_waiting_too_long_is_refused_and_returns_the_reservation(
    make_guardrails: MakeGuardrails,
) -> None:
    guardrails = make_guardrails(
        guest_max_concurrent=2, guest_slot_wait_seconds=0.2, guest_quiz_limit=3
    )
    holders = [await guardrails.admit(OTHER, "chat") for _ in range(2)]
    started = time.monotonic()
    error = await refused(guardrails)
    waited = time.monotonic() - started
    assert (error.status, error.code) == (503, "guest_concurrent_limit")
    assert 0.2 <= waited < 2
    for holder in holders:
        await holder.release()
    for _ in range(3):  # all three uses are still there: the refused call gave its back
        await use(guardrails)
    assert (await refused(guardrails)).code == "guest_rate_limit"


async def test_no_wait_means_refuse_at_once_only_when_busy(make_guardrails: MakeGuardrails) -> None:
    guardrails = make_guardrails(guest_max_concurrent=1, guest_slot_wait_seconds=0)
    ticket = await guardrails.admit(SANDBOX, "chat")
    assert (await refused(guardrails, feature="chat")).code == "guest_concurrent_limit"
    await ticket.succeed()
    await use(guardrails, feature="chat")


async def test_settling_is_idempotent(make_guardrails: MakeGuardrails) -> None:
    guardrails = make_guardrails(
        guest_max_concurrent=1, guest_slot_wait_seconds=0, guest_quiz_limit=3
    )
    ticket = await guardrails.admit(SANDBOX, "quiz")
    await ticket.succeed()
    await ticket.succeed()
    await ticket.release()  # after succeed: a no-op
    assert await guardrails.usage(SANDBOX, "quiz") == 1
    ticket = await guardrails.admit(SANDBOX, "quiz")  # the single slot is free again
    await ticket.release()
    await ticket.release()
    await ticket.succeed()  # after release: a no-op
    assert await guardrails.usage(SANDBOX, "quiz") == 1
    await use(guardrails)
    await use(guardrails)
    assert (await refused(guardrails)).code == "guest_rate_limit"
    assert await guardrails.usage(SANDBOX, "quiz") == 3


async def test_a_cancelled_wait_returns_the_reservation(make_guardrails: MakeGuardrails) -> None:
    guardrails = make_guardrails(
        guest_max_concurrent=1, guest_slot_wait_seconds=30, guest_quiz_limit=2
    )
    holder = await guardrails.admit(OTHER, "chat")
    waiting = asyncio.ensure_future(guardrails.admit(SANDBOX, "quiz"))
    await asyncio.sleep(0.2)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    await holder.release()
    await asyncio.sleep(0.1)  # Redis settles the cancelled admit in a task of its own
    await use(guardrails)
    await use(guardrails)
    assert await guardrails.usage(SANDBOX, "quiz") == 2


async def test_a_client_disconnect_frees_the_slot(make_guardrails: MakeGuardrails) -> None:
    guardrails = make_guardrails(guest_max_concurrent=1, guest_slot_wait_seconds=0)
    admitted = asyncio.Event()

    async def route() -> None:
        ticket: GuestTicket = await guardrails.admit(SANDBOX, "chat")
        try:
            admitted.set()
            await asyncio.sleep(30)  # the model call, cut short by the client going away
        except BaseException:
            await ticket.release()
            raise
        await ticket.succeed()

    task = asyncio.ensure_future(route())
    await admitted.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await use(guardrails, feature="chat")  # no wait allowed: the slot must already be free
    assert await guardrails.usage(SANDBOX, "chat") == 1


async def test_redis_down_is_503_unavailable() -> None:
    guardrails = RedisGuardrails(guest_settings(), url="redis://127.0.0.1:1/0")
    try:
        error = await refused(guardrails)
        assert (error.status, error.code) == (503, "guest_rate_limit_unavailable")
        with pytest.raises(ApiError) as caught:
            await guardrails.usage(SANDBOX, "quiz")
        assert caught.value.code == "guest_rate_limit_unavailable"
    finally:
        await guardrails.aclose()


async def test_a_crashed_holders_slot_lease_expires(redis_url: str, prefix: str) -> None:
    settings = guest_settings(guest_max_concurrent=1, guest_slot_wait_seconds=5)
    crashed = RedisGuardrails(settings, url=redis_url, prefix=prefix, lease_seconds=0.4)
    alive = RedisGuardrails(settings, url=redis_url, prefix=prefix, lease_seconds=0.4)
    try:
        await crashed.admit(OTHER, "chat")  # never settled: its process "died"
        started = time.monotonic()
        ticket = await alive.admit(SANDBOX, "chat")
        assert 0.2 <= time.monotonic() - started < 3
        await ticket.succeed()
    finally:
        await crashed.aclose()
        await alive.aclose()


async def test_stale_foreign_leases_are_dropped(redis_url: str, prefix: str) -> None:
    settings = guest_settings(guest_max_concurrent=2, guest_slot_wait_seconds=0)
    guardrails = RedisGuardrails(settings, url=redis_url, prefix=prefix)
    client = Redis.from_url(redis_url)
    try:
        await client.zadd(guardrails.slots_key, {"dead-1": 1, "dead-2": 2})
        ticket = await guardrails.admit(SANDBOX, "chat")
        assert await client.zrange(guardrails.slots_key, 0, -1) == [ticket.token.encode()]
        await ticket.succeed()
        assert await client.zcard(guardrails.slots_key) == 0
    finally:
        await client.aclose()
        await guardrails.aclose()


async def test_a_crashed_callers_reservation_expires(redis_url: str, prefix: str) -> None:
    settings = guest_settings(guest_blueprint_limit=1)
    crashed = RedisGuardrails(settings, url=redis_url, prefix=prefix, lease_seconds=0.3)
    try:
        await crashed.admit(SANDBOX, "blueprint")  # never settled
        assert (await refused(crashed, feature="blueprint")).code == "guest_rate_limit"
        await asyncio.sleep(0.4)
        await use(crashed, feature="blueprint")
        assert await crashed.usage(SANDBOX, "blueprint") == 1
    finally:
        await crashed.aclose()


async def test_redis_keys_are_namespaced_and_expire(redis_url: str, prefix: str) -> None:
    guardrails = RedisGuardrails(guest_settings(), url=redis_url, prefix=prefix)
    client = Redis.from_url(redis_url)
    try:
        ticket = await guardrails.admit(SANDBOX, "quiz")
        assert 0 < await client.pttl(guardrails.slots_key) <= 600_000
        await ticket.succeed()
        keys = {key.decode() async for key in client.scan_iter(match=f"{prefix}:*")}
        usage_key = f"{prefix}:usage:quiz:{SANDBOX}"
        assert usage_key in keys
        assert all(key.startswith(prefix + ":") for key in keys)
        assert 29 * 24 * 3600 < await client.ttl(usage_key) <= 30 * 24 * 3600
    finally:
        await client.aclose()
        await guardrails.aclose()


async def test_build_guardrails_picks_the_backend() -> None:
    memory = build_guardrails(guest_settings())
    assert isinstance(memory, MemoryGuardrails)
    await memory.aclose()
    shared = build_guardrails(guest_settings(redis_url="redis://127.0.0.1:1/0"))
    assert isinstance(shared, RedisGuardrails)
    await shared.aclose()

"""The chat session send lease on both backends: short, renewed while held, freed on release
or by expiry when its holder stops renewing (a killed process)."""

from __future__ import annotations

import asyncio

from tests.tools.store.test_sessions import new_session
from tools.demo import seed_demo
from tools.store import Store


async def test_a_renewed_lease_outlives_its_length_and_its_token_still_releases_it(
    store: Store,
) -> None:
    await seed_demo(store)
    session = await new_session(store)
    token = await store.acquire_session(session.id, hold_seconds=0.6)
    assert token is not None
    assert await store.acquire_session(session.id, hold_seconds=0.6) is None
    for _ in range(3):
        await asyncio.sleep(0.3)
        assert await store.renew_session(session.id, token, hold_seconds=0.6)
    # 0.9 s after it was taken for 0.6 s, the renewed lease is still held.
    assert await store.acquire_session(session.id, hold_seconds=0.6) is None
    await store.release_session(session.id, token)
    assert await store.acquire_session(session.id, hold_seconds=0.6) is not None


async def test_a_lease_nobody_renews_expires_and_its_old_holder_cannot_take_it_back(
    store: Store,
) -> None:
    await seed_demo(store)
    session = await new_session(store)
    stale = await store.acquire_session(session.id, hold_seconds=0.3)
    assert stale is not None
    await asyncio.sleep(0.4)
    taken = await store.acquire_session(session.id, hold_seconds=30)
    assert taken is not None
    assert await store.renew_session(session.id, stale, hold_seconds=30) is False
    # Releasing the stale token leaves the new holder's lease alone.
    await store.release_session(session.id, stale)
    assert await store.acquire_session(session.id, hold_seconds=30) is None
    await store.release_session(session.id, taken)
    assert await store.acquire_session(session.id, hold_seconds=30) is not None


async def test_a_release_racing_a_renewal_still_frees_the_session(store: Store) -> None:
    await seed_demo(store)
    session = await new_session(store)
    token = await store.acquire_session(session.id, hold_seconds=30)
    assert token is not None
    renewed, _ = await asyncio.gather(
        store.renew_session(session.id, token, hold_seconds=30),
        store.release_session(session.id, token),
    )
    # Whichever landed first, the lease is gone and its renewal does not report it lost.
    assert renewed is True
    assert await store.acquire_session(session.id, hold_seconds=30) is not None
    assert await store.renew_session(session.id, token, hold_seconds=30) is True

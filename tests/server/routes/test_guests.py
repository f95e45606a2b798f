"""`/v1/guests/claim` over a real socket, on both backends: claims prove identity, and only the
guest's own rows move."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from tests.server.conftest import Api, user_token
from tests.server.routes.test_access_rules import with_store
from tests.server.test_app import QUIZ, assert_error
from tools.demo import (
    DEMO_GUEST_ID,
    DEMO_SANDBOX_CLASS_ID,
    DEMO_SANDBOX_ID,
    DEMO_STUDENT_IDS,
)
from tools.store import Store

GUEST = {"class_id": DEMO_SANDBOX_CLASS_ID, "user_id": DEMO_GUEST_ID, "sandbox_id": DEMO_SANDBOX_ID}
TOMAS = DEMO_STUDENT_IDS[1]


def ok(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    envelope = response.json()
    assert envelope["ok"] is True and envelope["data"]
    return envelope["data"]


def guest_token() -> str:
    return user_token(DEMO_GUEST_ID, anonymous=True)


def guest_works(api: Api) -> str:
    """The guest chats once in its sandbox class and makes a quiz; returns the session id."""
    session = ok(api.post("/v1/chat/workspace/sessions/create", GUEST, token=guest_token()))
    session_id: str = session["session"]["id"]
    send = {**GUEST, "session_id": session_id, "message": "What is power?", "tool_mode": "off"}
    ok(api.post("/v1/chat/workspace/messages/send", send, token=guest_token()))
    ok(api.post("/v1/quiz/generate", {**QUIZ, "sandbox_id": DEMO_SANDBOX_ID}, token=guest_token()))
    return session_id


def account(api: Api) -> str:
    """A signed-up account with a profile."""
    user_id = str(uuid.uuid4())
    with_store(api, _profile(user_id))
    return user_id


def claim(api: Api, user_id: str, **extra: Any) -> httpx.Response:
    body = {"user_id": user_id, "guest_user_id": DEMO_GUEST_ID, "sandbox_id": DEMO_SANDBOX_ID}
    return api.post("/v1/guests/claim", {**body, **extra}, token=user_token(user_id))


def generations(api: Api) -> list[tuple[str | None, str | None]]:
    """(user_id, sandbox_id) of every recorded generation."""

    async def read(store: Store) -> list[tuple[str | None, str | None]]:
        async with store.session() as db:
            rows = await db.query("SELECT user_id, sandbox_id FROM stemgraph_generations")
        return sorted(
            (None if r["user_id"] is None else str(r["user_id"]),)
            + (None if r["sandbox_id"] is None else str(r["sandbox_id"]),)
            for r in rows
        )

    return with_store(api, read)


def sessions_of_guest(api: Api) -> list[str]:
    listed = ok(api.post("/v1/chat/workspace/sessions/list", GUEST, token=guest_token()))
    return [s["id"] for s in listed["sessions"]]


def test_knowing_the_guest_s_ids_claims_nothing(api: Api) -> None:
    session_id = guest_works(api)
    attacker = account(api)
    refused = assert_error(claim(api, attacker), 403, "forbidden")
    assert "guest_token" in refused["error"]["message"]  # type: ignore[index]
    # Proofs that are not the guest's own valid anonymous token.
    someone = str(uuid.uuid4())
    for token in (
        user_token(someone, anonymous=True),  # another guest
        user_token(DEMO_GUEST_ID),  # the guest's id, but not an anonymous token
        user_token(DEMO_GUEST_ID, anonymous=True, exp=1_000_000),  # expired
        user_token(DEMO_GUEST_ID, anonymous=True)[:-4] + "AAAA",  # forged signature
        "not-a-token",
    ):
        assert_error(claim(api, attacker, guest_token=token), 403, "forbidden")
    # The guest still has its work and its sandbox.
    assert sessions_of_guest(api) == [session_id]
    assert (DEMO_GUEST_ID, DEMO_SANDBOX_ID) in generations(api)


def test_the_guest_s_own_token_hands_over_only_the_guest_s_rows(api: Api) -> None:
    session_id = guest_works(api)
    # Another user tags a generation with the guest's sandbox id: it is not the guest's (and
    # the tag is not even stored: only a guest's own sandbox is written).
    tagged = {**QUIZ, "sandbox_id": DEMO_SANDBOX_ID}
    ok(api.post("/v1/quiz/generate", tagged, token=user_token(TOMAS)))
    new_user = str(uuid.uuid4())
    # No profile yet: nothing moves.
    assert_error(claim(api, new_user, guest_token=guest_token()), 403, "profile_missing")
    assert sessions_of_guest(api) == [session_id]

    with_store(api, _profile(new_user))
    moved = ok(claim(api, new_user, guest_token=guest_token()))
    # The session with its whole history, the guest's message, the guest's quiz, its
    # membership and its sandbox class.
    assert moved == {
        "sessions": 1,
        "messages": 1,
        "generations": 1,
        "enrollments": 1,
        "classes": 1,
    }
    assert generations(api) == sorted([(new_user, None), (TOMAS, None)])
    # The account now works in the class as a signed-in member.
    mine = {"class_id": DEMO_SANDBOX_CLASS_ID, "user_id": new_user}
    token = user_token(new_user)
    listed = ok(api.post("/v1/chat/workspace/sessions/list", mine, token=token))["sessions"]
    assert [s["id"] for s in listed] == [session_id]
    page = ok(
        api.post(
            "/v1/chat/workspace/messages/list", {**mine, "session_id": session_id}, token=token
        )
    )
    assert page["messages"][0]["author_user_id"] == new_user
    # The sandbox is spent: claiming again, or using it as a guest, fails.
    assert_error(claim(api, new_user, guest_token=guest_token()), 404, "guest_sandbox_not_found")
    assert_error(
        api.post("/v1/chat/workspace/sessions/list", GUEST, token=guest_token()),
        403,
        "guest_sandbox_forbidden",
    )


def test_a_guest_upgraded_in_place_claims_with_its_own_id(api: Api) -> None:
    session_id = guest_works(api)
    # Supabase upgrades an anonymous user in place: same id, no longer anonymous.
    upgraded = user_token(DEMO_GUEST_ID)
    body = {
        "user_id": DEMO_GUEST_ID,
        "guest_user_id": DEMO_GUEST_ID,
        "sandbox_id": DEMO_SANDBOX_ID,
    }
    moved = ok(api.post("/v1/guests/claim", body, token=upgraded))
    assert moved == {
        "sessions": 1,
        "messages": 1,
        "generations": 1,
        "enrollments": 1,
        "classes": 1,
    }
    # Its membership stayed (it was not moved away from itself) and the class left the sandbox.
    mine = {"class_id": DEMO_SANDBOX_CLASS_ID, "user_id": DEMO_GUEST_ID}
    listed = ok(api.post("/v1/chat/workspace/sessions/list", mine, token=upgraded))["sessions"]
    assert [s["id"] for s in listed] == [session_id]
    assert generations(api) == [(DEMO_GUEST_ID, None)]


def test_a_guest_cannot_claim_and_a_user_claims_only_for_itself(api: Api) -> None:
    body = {"user_id": DEMO_GUEST_ID, "guest_user_id": DEMO_GUEST_ID, "sandbox_id": DEMO_SANDBOX_ID}
    assert_error(
        api.post("/v1/guests/claim", body, token=guest_token()), 403, "forbidden_account_type"
    )
    attacker = account(api)
    assert_error(
        api.post(
            "/v1/guests/claim", {**body, "guest_token": guest_token()}, token=user_token(attacker)
        ),
        403,
        "user_id_mismatch",
    )
    assert_error(api.post("/v1/guests/claim", body), 401, "user_token_required")


def _profile(user_id: str) -> Any:
    async def make(store: Store) -> None:
        await store.upsert_profile(user_id, "student", "Sam N.")

    return make

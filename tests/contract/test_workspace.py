"""`/v1/chat/workspace/*` on the demo class: participants, sessions, messages and send."""

from __future__ import annotations

from typing import Any

from tests.contract import bodies
from tests.contract.conftest import WebApp, read_stream
from tests.contract.reading import (
    array,
    boolean,
    fields,
    one_of,
    optional_timestamp,
    read_error,
    read_ok,
    text,
    uuid_str,
)
from tests.contract.shapes import chat_reply, message, session

WS = "/v1/chat/workspace"
TEACHER, LENA, TOMAS = bodies.TEACHER, bodies.LENA, bodies.TOMAS
REASONS = (
    "below_trigger",
    "no_new_turns",
    "token_pressure",
    "message_count_trigger",
    "low_context_pressure",
)


def new_session(webapp: WebApp, user: str = LENA, title: str | None = None) -> dict[str, Any]:
    data = read_ok(
        webapp.call(f"{WS}/sessions/create", bodies.sessions_create(user, title), user=user)
    )
    return dict(session(fields(data, "data", ("session",))["session"], "data.session"))


def send(webapp: WebApp, session_id: str, text_: str, user: str = LENA) -> Any:
    return read_ok(
        webapp.call(f"{WS}/messages/send", bodies.messages_send(user, session_id, text_), user=user)
    )


def listed(webapp: WebApp, user: str = LENA, owner: str | None = None) -> list[dict[str, Any]]:
    data = read_ok(webapp.call(f"{WS}/sessions/list", bodies.sessions_list(user, owner), user=user))
    sessions = array(fields(data, "data", ("sessions",))["sessions"], "data.sessions", max_len=100)
    return [dict(session(s, f"data.sessions[{n}]")) for n, s in enumerate(sessions)]


def read_send(data: Any) -> tuple[Any, Any]:
    """What the web app reads of a send besides the reply: both saved messages and context_meta."""
    found = fields(data, "data", ("response", "user_message", "assistant_message", "context_meta"))
    asked = message(found["user_message"], "data.user_message")
    answered = message(found["assistant_message"], "data.assistant_message")
    assert asked["author_kind"] == "student" and answered["author_kind"] == "assistant"
    meta = fields(
        found["context_meta"], "data.context_meta", ("compacted", "compacted_at", "reason")
    )
    boolean(meta["compacted"], "data.context_meta.compacted")
    optional_timestamp(meta["compacted_at"], "data.context_meta.compacted_at")
    one_of(meta["reason"], REASONS, "data.context_meta.reason")
    return asked, answered


def test_participants(webapp: WebApp) -> None:
    body = bodies.workspace(TEACHER)
    data = read_ok(webapp.call(f"{WS}/participants", body, user=TEACHER))
    people = array(
        fields(data, "data", ("participants",))["participants"], "data.participants", min_len=1
    )
    for n, person in enumerate(people):
        person = fields(person, f"data.participants[{n}]", ("user_id", "display_name"))
        uuid_str(person["user_id"], f"data.participants[{n}].user_id")
        text(person["display_name"], f"data.participants[{n}].display_name")
    ids = {p["user_id"] for p in people}
    assert {LENA, TOMAS} <= ids and TEACHER not in ids  # the enrolled students only


def test_sessions_create(webapp: WebApp) -> None:
    created = new_session(webapp)  # `title: null`: the default title
    assert created["title"] == "New chat" and created["owner_user_id"] == LENA
    assert created["archived_at"] is None and created["is_pinned"] is False
    # Never null: set at creation (issue 9, item 2).
    assert created["last_message_at"] == created["created_at"]
    assert new_session(webapp, title="Forces revision")["title"] == "Forces revision"


def test_sessions_list(webapp: WebApp) -> None:
    first = new_session(webapp, title="Older")
    second = new_session(webapp, title="Newer")
    sessions = listed(webapp)
    ids = [s["id"] for s in sessions]
    assert ids.index(second["id"]) < ids.index(first["id"])  # newest activity first
    order = [(s["is_pinned"], s["last_message_at"]) for s in sessions]
    assert order == sorted(order, reverse=True)  # pinned first, then newest last_message_at
    assert all(s["archived_at"] is None for s in sessions)


def test_sessions_rename(webapp: WebApp) -> None:
    created = new_session(webapp)
    body = bodies.workspace(LENA, session_id=created["id"], title="Waves")
    data = read_ok(webapp.call(f"{WS}/sessions/rename", body, user=LENA))
    renamed = session(fields(data, "data", ("session",))["session"], "data.session")
    assert renamed["id"] == created["id"] and renamed["title"] == "Waves"
    assert renamed["last_message_at"] == created["last_message_at"]


def test_sessions_archive(webapp: WebApp) -> None:
    created = new_session(webapp)
    body = bodies.workspace(LENA, session_id=created["id"])
    data = read_ok(webapp.call(f"{WS}/sessions/archive", body, user=LENA))
    assert fields(data, "data", ("session_id",))["session_id"] == created["id"]
    assert created["id"] not in [s["id"] for s in listed(webapp)]


def test_messages_send(webapp: WebApp) -> None:
    created = new_session(webapp)
    asked, answered = read_send(send(webapp, created["id"], "What is the SI unit of force?"))
    assert asked["content"] == "What is the SI unit of force?" and asked["author_user_id"] == LENA
    assert answered["safety"] == "ok" and answered["citations"]
    # The session's activity is the assistant row's time (issue 9, item 2).
    (after,) = [s for s in listed(webapp) if s["id"] == created["id"]]
    assert after["last_message_at"] == answered["created_at"]


def test_messages_send_response_is_the_chat_reply(webapp: WebApp) -> None:
    created = new_session(webapp)
    data = send(webapp, created["id"], "What is the SI unit of force?")
    reply = chat_reply(data["response"], "data.response")
    assert reply["answer"] == data["assistant_message"]["content"]
    assert reply["citations"], "data.response.citations: the answer cites its sources"


def test_messages_send_streams_when_asked(webapp: WebApp) -> None:
    created = new_session(webapp)
    body = bodies.messages_send(LENA, created["id"], "What is the SI unit of force?")
    data, events = read_stream(webapp, f"{WS}/messages/send", body, user=LENA)
    read_send(data)
    assert any(e.event == "messages" for e in events)  # the answer streams token by token


def test_messages_list_pages_with_the_cursor(webapp: WebApp) -> None:
    created = new_session(webapp)
    send(webapp, created["id"], "What is the SI unit of force?")
    send(webapp, created["id"], "And the unit of energy?")

    def page(cursor: str | None, limit: int | None) -> tuple[list[Any], Any]:
        body = bodies.messages_list(LENA, created["id"], before_cursor=cursor, limit=limit)
        data = read_ok(webapp.call(f"{WS}/messages/list", body, user=LENA))
        found = fields(data, "data", ("session", "messages", "page_info"))
        session(found["session"], "data.session")
        messages = [message(m, f"data.messages[{n}]") for n, m in enumerate(found["messages"])]
        info = fields(found["page_info"], "data.page_info", ("has_more", "next_cursor"))
        boolean(info["has_more"], "data.page_info.has_more")
        return messages, info

    everything, info = page(None, None)  # `limit: null`: the default page
    assert len(everything) == 4 and info == {"has_more": False, "next_cursor": None}
    stamps = [(m["created_at"], m["id"]) for m in everything]
    assert stamps == sorted(stamps)  # oldest first
    newest, info = page(None, 3)
    assert [m["id"] for m in newest] == [m["id"] for m in everything[1:]]
    assert info["has_more"] is True
    cursor = text(info["next_cursor"], "data.page_info.next_cursor")
    assert cursor == f"{everything[1]['created_at']}|{everything[1]['id']}"
    older, info = page(cursor, 3)
    assert [m["id"] for m in older] == [everything[0]["id"]]
    assert info == {"has_more": False, "next_cursor": None}


def test_a_teacher_reads_a_students_session_but_cannot_write(webapp: WebApp) -> None:
    created = new_session(webapp)
    send(webapp, created["id"], "What is the SI unit of force?")
    assert created["id"] in [s["id"] for s in listed(webapp, TEACHER, owner=LENA)]
    body = bodies.messages_list(TEACHER, created["id"], owner_user_id=LENA)
    data = read_ok(webapp.call(f"{WS}/messages/list", body, user=TEACHER))
    assert len(data["messages"]) == 2
    refused = webapp.call(
        f"{WS}/messages/send", bodies.messages_send(TEACHER, created["id"], "Hi"), user=TEACHER
    )
    read_error(refused, 403, "send_session_owner_mismatch")


def test_the_workspace_error_codes_the_web_app_maps(webapp: WebApp) -> None:
    created = new_session(webapp)
    outsider = "99999999-9999-4999-8999-999999999999"
    read_error(
        webapp.call(f"{WS}/sessions/list", bodies.sessions_list(outsider), user=outsider),
        403,
        "class_access_required",
    )
    read_error(
        webapp.call(f"{WS}/participants", bodies.workspace(LENA), user=LENA),
        403,
        "teacher_access_required",
    )
    read_error(
        webapp.call(f"{WS}/sessions/list", bodies.sessions_list(TEACHER, outsider), user=TEACHER),
        404,
        "owner_user_not_enrolled",
    )
    missing = bodies.messages_list(LENA, "00000000-0000-4000-8000-000000000000")
    read_error(webapp.call(f"{WS}/messages/list", missing, user=LENA), 404, "session_not_found")
    rename = bodies.workspace(TOMAS, session_id=created["id"], title="Mine")
    read_error(
        webapp.call(f"{WS}/sessions/rename", rename, user=TOMAS), 403, "session_owner_mismatch"
    )

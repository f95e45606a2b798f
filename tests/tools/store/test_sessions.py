"""Chat sessions in the store, on both backends: `last_message_at` is never null."""

from __future__ import annotations

import dataclasses
import sqlite3
import uuid
from typing import Any

import psycopg
import pytest

from tools.clock import now_iso, parse_iso
from tools.demo import DEMO_CLASS_ID, DEMO_STUDENT_IDS, seed_demo
from tools.store import Store
from tools.store.base import ChatMessage, ChatSession

INTEGRITY_ERRORS = (sqlite3.IntegrityError, psycopg.IntegrityError)

LENA = DEMO_STUDENT_IDS[0]


async def new_session(store: Store, title: str = "New chat") -> ChatSession:
    return await store.create_session(
        session_id=str(uuid.uuid4()), class_id=DEMO_CLASS_ID, owner_user_id=LENA, title=title
    )


def exchange(session: ChatSession, question: str) -> list[ChatMessage]:
    # The reply is stamped a minute ahead, so its session is clearly the latest activity.
    asked = now_iso()
    answered = now_iso(plus_seconds=60)
    common: dict[str, Any] = {"session_id": session.id, "class_id": DEMO_CLASS_ID}
    return [
        ChatMessage(str(uuid.uuid4()), author_user_id=LENA, author_kind="student",
                    content=question, created_at=asked, **common),
        ChatMessage(str(uuid.uuid4()), author_user_id=None, author_kind="assistant",
                    content="An answer.", created_at=answered, **common),
    ]  # fmt: skip


async def test_a_new_session_carries_its_creation_time_as_last_message_at(store: Store) -> None:
    await seed_demo(store)
    created = await new_session(store)
    assert created.last_message_at == created.created_at
    assert parse_iso(created.last_message_at)  # a real timestamp, not an empty string
    read = await store.get_session(created.id)
    assert read is not None and read.last_message_at == created.created_at
    listed = await store.list_sessions(DEMO_CLASS_ID, LENA)
    assert [s.last_message_at for s in listed if s.id == created.id] == [created.created_at]
    renamed = await store.rename_session(created.id, "Waves")
    assert renamed is not None and renamed.last_message_at == created.created_at
    assert renamed.as_wire()["last_message_at"] == created.created_at


async def test_a_send_moves_last_message_at_to_the_assistant_reply(store: Store) -> None:
    await seed_demo(store)
    session = await new_session(store)
    messages = exchange(session, "What is a newton?")
    await store.append_messages(session.id, messages)
    read = await store.get_session(session.id)
    assert read is not None
    assert read.last_message_at == messages[-1].created_at != session.created_at


async def test_an_exchange_saved_again_replaces_its_answer_in_its_own_session_only(
    store: Store,
) -> None:
    """A turn run again after it was saved (the same message ids) keeps one copy, with the
    new answer; the same ids sent for another session change nothing there."""
    await seed_demo(store)
    session, other = await new_session(store), await new_session(store, "other")
    first = exchange(session, "What is a newton?")
    await store.append_messages(session.id, first)
    again = [dataclasses.replace(first[0]), dataclasses.replace(first[1], content="Better.")]
    await store.append_messages(session.id, again)
    stored = await store.session_messages(session.id)
    assert [(m.id, m.content) for m in stored] == [
        (first[0].id, "What is a newton?"),
        (first[1].id, "Better."),
    ]
    assert stored[0].created_at == first[0].created_at  # when it was asked stays
    elsewhere = [dataclasses.replace(m, session_id=other.id, content="Hijacked.") for m in again]
    await store.append_messages(other.id, elsewhere)
    assert [m.content for m in await store.session_messages(session.id)] == [
        "What is a newton?",
        "Better.",
    ]
    assert await store.session_messages(other.id) == []


async def test_sessions_without_messages_sort_by_creation_among_active_ones(store: Store) -> None:
    await seed_demo(store)
    older = await new_session(store, "older")
    talked = await new_session(store, "talked")
    await store.append_messages(talked.id, exchange(talked, "Hi"))
    newest = await new_session(store, "newest")
    listed = [s.id for s in await store.list_sessions(DEMO_CLASS_ID, LENA)]
    assert listed == [talked.id, newest.id, older.id]


async def test_a_row_written_with_the_platforms_defaults_reads_as_its_creation(
    store: Store,
) -> None:
    """A session another writer inserted with only the required columns (the platform's
    defaults fill the rest) answers a timestamp and lists; NULL is refused by the table."""
    await seed_demo(store)
    session_id = str(uuid.uuid4())
    async with store.transaction() as db:
        await db.execute(
            "INSERT INTO class_chat_sessions (id, class_id, owner_user_id) VALUES (:id, :c, :o)",
            {"id": session_id, "c": DEMO_CLASS_ID, "o": LENA},
        )
    read = await store.get_session(session_id)
    assert read is not None and read.title == "New chat"
    assert read.last_message_at and read.last_message_at == read.created_at
    listed = await store.list_sessions(DEMO_CLASS_ID, LENA)
    assert [s.last_message_at for s in listed if s.id == session_id] == [read.created_at]
    with pytest.raises(INTEGRITY_ERRORS):
        async with store.transaction() as db:
            await db.execute(
                "UPDATE class_chat_sessions SET last_message_at = NULL WHERE id = :id",
                {"id": session_id},
            )

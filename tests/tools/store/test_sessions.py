"""Chat sessions in the store, on both backends: `last_message_at` is never null."""

from __future__ import annotations

import uuid
from typing import Any

from tools.clock import now_iso, parse_iso
from tools.store import Store
from tools.store.base import ChatMessage, ChatSession
from tools.store.seed import DEMO_CLASS_ID, DEMO_STUDENT_IDS, seed_demo

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


async def test_sessions_without_messages_sort_by_creation_among_active_ones(store: Store) -> None:
    await seed_demo(store)
    older = await new_session(store, "older")
    talked = await new_session(store, "talked")
    await store.append_messages(talked.id, exchange(talked, "Hi"))
    newest = await new_session(store, "newest")
    listed = [s.id for s in await store.list_sessions(DEMO_CLASS_ID, LENA)]
    assert listed == [talked.id, newest.id, older.id]


async def test_a_row_written_without_last_message_at_reads_as_its_creation(store: Store) -> None:
    """Sessions stored before the fix (NULL `last_message_at`) still answer a timestamp."""
    await seed_demo(store)
    legacy = await new_session(store, "legacy")
    async with store.transaction() as db:  # type: ignore[attr-defined]
        await db.execute(
            "UPDATE chat_sessions SET last_message_at = NULL WHERE id = :id", {"id": legacy.id}
        )
    read = await store.get_session(legacy.id)
    assert read is not None and read.last_message_at == legacy.created_at
    listed = await store.list_sessions(DEMO_CLASS_ID, LENA)
    assert [s.last_message_at for s in listed if s.id == legacy.id] == [legacy.created_at]

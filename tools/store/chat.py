"""Tutor chat workspaces on the platform's `class_chat_sessions` and `class_chat_messages`;
a send's lease on its session lives in stemgraph's own `stemgraph_session_leases`."""

from __future__ import annotations

import uuid
from typing import Any

from tools.clock import normalise_iso, now_iso
from tools.store.base import ChatMessage, ChatSession
from tools.store.core import Row, SqlCore, dumps, loads, opt

_SESSION_COLUMNS = (
    "id, class_id, owner_user_id, sandbox_id, title, is_pinned, archived_at, last_message_at,"
    " created_at, updated_at"
)
_MESSAGE_COLUMNS = (
    "id, session_id, class_id, author_user_id, author_kind, content, citations, safety, provider,"
    " model, prompt_tokens, completion_tokens, total_tokens, latency_ms, created_at"
)

_MESSAGE_NAMES = [name.strip() for name in _MESSAGE_COLUMNS.split(",")]
# What a turn saved again may change in its rows: the answer, never who, where or when.
_REPLACED_ON_RETRY = tuple(
    name
    for name in _MESSAGE_NAMES
    if name not in {"id", "session_id", "class_id", "author_user_id", "author_kind", "created_at"}
)


class ChatData(SqlCore):
    # Session leases this process holds: token → the expiry currently written in the row.
    _lease_expiries: dict[str, tuple[str, ...]]

    def __init__(self) -> None:
        self._lease_expiries = {}

    async def create_session(
        self,
        *,
        session_id: str,
        class_id: str,
        owner_user_id: str,
        title: str,
        sandbox_id: str | None = None,
    ) -> ChatSession:
        now = now_iso()
        # `last_message_at` starts at creation, as the platform's backend writes it.
        async with self.transaction() as db:
            await db.execute(
                "INSERT INTO class_chat_sessions (id, class_id, owner_user_id, sandbox_id, title,"
                " last_message_at, created_at, updated_at)"
                " VALUES (:id, :c, :o, :sb, :t, :now, :now, :now)",
                {
                    "id": session_id,
                    "c": class_id,
                    "o": owner_user_id,
                    "sb": sandbox_id,
                    "t": title,
                    "now": now,
                },
            )
        return ChatSession(
            session_id, class_id, owner_user_id, title, False, None, now, now, now, sandbox_id
        )

    async def get_session(self, session_id: str) -> ChatSession | None:
        async with self.session() as db:
            rows = await db.query(
                f"SELECT {_SESSION_COLUMNS} FROM class_chat_sessions WHERE id = :id",
                {"id": session_id},
            )
        return _session(rows[0]) if rows else None

    async def list_sessions(
        self, class_id: str, owner_user_id: str, *, limit: int = 100
    ) -> list[ChatSession]:
        async with self.session() as db:
            rows = await db.query(
                f"SELECT {_SESSION_COLUMNS} FROM class_chat_sessions"
                " WHERE class_id = :c AND owner_user_id = :o AND archived_at IS NULL"
                " ORDER BY is_pinned DESC, last_message_at DESC, created_at DESC, id"
                " LIMIT :n",
                {"c": class_id, "o": owner_user_id, "n": limit},
            )
        return [_session(row) for row in rows]

    async def rename_session(self, session_id: str, title: str) -> ChatSession | None:
        async with self.transaction() as db:
            await db.execute(
                "UPDATE class_chat_sessions SET title = :t, updated_at = :now WHERE id = :id",
                {"t": title, "now": now_iso(), "id": session_id},
            )
            rows = await db.query(
                f"SELECT {_SESSION_COLUMNS} FROM class_chat_sessions WHERE id = :id",
                {"id": session_id},
            )
        return _session(rows[0]) if rows else None

    async def archive_session(self, session_id: str) -> bool:
        """Hide the session from listings; its messages stay (nothing is deleted)."""
        now = now_iso()
        async with self.transaction() as db:
            rows = await db.query(
                "UPDATE class_chat_sessions SET archived_at = COALESCE(archived_at, :now),"
                " updated_at = :now WHERE id = :id RETURNING id",
                {"now": now, "id": session_id},
            )
        return bool(rows)

    async def list_messages(
        self, session_id: str, *, before: tuple[str, str] | None, limit: int
    ) -> tuple[list[ChatMessage], bool]:
        """One page, oldest first, of the messages strictly before the keyset `before`."""
        params: dict[str, Any] = {"s": session_id, "n": limit + 1}
        where = "session_id = :s"
        if before is not None:
            params.update(bt=before[0], bi=before[1])
            where += " AND (created_at < :bt OR (created_at = :bt AND id < :bi))"
        async with self.session() as db:
            rows = await db.query(
                f"SELECT {_MESSAGE_COLUMNS} FROM class_chat_messages WHERE {where}"
                " ORDER BY created_at DESC, id DESC LIMIT :n",
                params,
            )
        has_more = len(rows) > limit
        page = [_message(row) for row in rows[:limit]]
        page.reverse()
        return page, has_more

    async def session_messages(self, session_id: str) -> list[ChatMessage]:
        async with self.session() as db:
            rows = await db.query(
                f"SELECT {_MESSAGE_COLUMNS} FROM class_chat_messages WHERE session_id = :s"
                " ORDER BY created_at, id",
                {"s": session_id},
            )
        return [_message(row) for row in rows]

    async def append_messages(self, session_id: str, messages: list[ChatMessage]) -> None:
        """Store an exchange and bump the session's activity, all or nothing: one statement on
        Postgres (a chat send's only write besides its lease), one transaction on SQLite."""
        if not messages:
            return
        params: dict[str, Any] = {"t": messages[-1].created_at, "session": session_id}
        rows = []
        for n, m in enumerate(messages):
            params.update(
                {
                    f"{name}_{n}": value
                    for name, value in zip(
                        _MESSAGE_NAMES,
                        (
                            m.id,
                            m.session_id,
                            m.class_id,
                            m.author_user_id,
                            m.author_kind,
                            m.content,
                            dumps([dict(c) for c in m.citations]),
                            m.safety,
                            m.provider,
                            m.model,
                            m.prompt_tokens,
                            m.completion_tokens,
                            m.total_tokens,
                            m.latency_ms,
                            m.created_at,
                        ),
                        strict=True,
                    )
                }
            )
            values = [
                self.json_param(f"{name}_{n}") if name == "citations" else f":{name}_{n}"
                for name in _MESSAGE_NAMES
            ]
            rows.append(f"({', '.join(values)})")
        # A keyed turn saved again (`graphs/chat/nodes.py:turn_message_ids`) replaces its own
        # rows' answer, and only in its own session: never a second copy of the exchange.
        replaced = ", ".join(f"{name} = excluded.{name}" for name in _REPLACED_ON_RETRY)
        insert = (
            f"INSERT INTO class_chat_messages ({_MESSAGE_COLUMNS}) VALUES {', '.join(rows)}"
            f" ON CONFLICT (id) DO UPDATE SET {replaced}"
            " WHERE class_chat_messages.session_id = excluded.session_id"
        )
        touch = (
            "UPDATE class_chat_sessions SET last_message_at = :t, updated_at = :t"
            " WHERE id = :session"
        )
        if self.backend == "postgres":
            # A data-modifying CTE runs whether or not the outer statement reads it.
            async with self.session() as db:
                await db.execute(f"WITH added AS ({insert}) {touch}", params)
            return
        async with self.transaction() as db:
            await db.execute(insert, params)
            await db.execute(touch, params)

    async def acquire_session(self, session_id: str, *, hold_seconds: float) -> str | None:
        """Take the session's send lease for `hold_seconds`; None while another send holds it
        (or the session does not exist).

        The lease is a row, so it holds across server processes, and it expires by itself if
        its holder dies. Its holder keeps it with `renew_session` while the send runs, so the
        lease can be short and a killed process frees the session soon.
        """
        until = now_iso(plus_seconds=hold_seconds)
        # One statement, atomic on its own: no BEGIN/COMMIT round trips around it.
        async with self.session() as db:
            rows = await db.query(
                "INSERT INTO stemgraph_session_leases (session_id, busy_until)"
                " SELECT s.id, :until FROM class_chat_sessions s WHERE s.id = :id"
                " ON CONFLICT (session_id) DO UPDATE SET busy_until = excluded.busy_until"
                " WHERE stemgraph_session_leases.busy_until < :now RETURNING session_id",
                {"until": until, "now": now_iso(), "id": session_id},
            )
        if not rows:
            return None
        # The row's expiry identifies the lease; the token stays the same through renewals.
        token = str(uuid.uuid4())
        self._lease_expiries[token] = (until,)
        return token

    async def renew_session(self, session_id: str, token: str, *, hold_seconds: float) -> bool:
        """Extend a held lease to `hold_seconds` from now. False when another send holds the
        session now (this lease expired and was taken); True once it was released."""
        written = self._lease_expiries.get(token)
        if written is None:
            return True
        held = written[-1]
        until = now_iso(plus_seconds=hold_seconds)
        # Until the write is known to have landed the row may hold either value: a release
        # meanwhile clears both (see `release_session`).
        self._lease_expiries[token] = (held, until)
        async with self.transaction() as db:
            rows = await db.query(
                "UPDATE stemgraph_session_leases SET busy_until = :until"
                " WHERE session_id = :id AND busy_until = :held RETURNING session_id",
                {"until": until, "held": held, "id": session_id},
            )
        if token not in self._lease_expiries:
            return True  # released while renewing
        if not rows:
            del self._lease_expiries[token]
            return False
        self._lease_expiries[token] = (until,)
        return True

    async def release_session(self, session_id: str, token: str) -> None:
        written = self._lease_expiries.pop(token, None)
        if written is None:
            return
        async with self.session() as db:
            await db.execute(
                "DELETE FROM stemgraph_session_leases"
                " WHERE session_id = :id AND busy_until IN (:first, :last)",
                {"id": session_id, "first": written[0], "last": written[-1]},
            )


def _session(row: Row) -> ChatSession:
    return ChatSession(
        id=str(row["id"]),
        class_id=str(row["class_id"]),
        owner_user_id=str(row["owner_user_id"]),
        title=row["title"],
        is_pinned=bool(row["is_pinned"]),
        archived_at=normalise_iso(row["archived_at"]),
        last_message_at=normalise_iso(row["last_message_at"] or row["created_at"]) or "",
        created_at=normalise_iso(row["created_at"]) or "",
        updated_at=normalise_iso(row["updated_at"]) or "",
        sandbox_id=opt(row["sandbox_id"]),
    )


def _message(row: Row) -> ChatMessage:
    return ChatMessage(
        id=str(row["id"]),
        session_id=str(row["session_id"]),
        class_id=str(row["class_id"]),
        author_user_id=opt(row["author_user_id"]),
        author_kind=row["author_kind"],
        content=row["content"],
        created_at=normalise_iso(row["created_at"]) or "",
        citations=tuple(dict(c) for c in loads(row["citations"]) or ()),
        safety=row["safety"],
        provider=row["provider"],
        model=row["model"],
        prompt_tokens=row["prompt_tokens"],
        completion_tokens=row["completion_tokens"],
        total_tokens=row["total_tokens"],
        latency_ms=row["latency_ms"],
    )

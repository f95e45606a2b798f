"""`/v1/chat/workspace/*`: sessions and messages of the class chat (a user token is required)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from typing import Any
from uuid import UUID

from pydantic import Field
from starlette.requests import Request
from starlette.responses import Response

from server.access import (
    WORKSPACE,
    Member,
    class_member,
    owner_in_class,
    require_owner,
    require_teacher,
    session_in_class,
    session_of,
)
from server.auth.principal import Principal
from server.envelope import ok_response
from server.errors import ApiError
from server.routes.chat import chat_run, orchestration
from server.routes.common import admit
from server.routes.generation import attempts_of, guest_ticket
from server.schemas import ClassScoped, Streamed, ToolOptions
from server.streaming import respond, session_lease_heartbeat
from tools.clock import normalise_iso
from tools.store.base import ChatMessage, Store

DEFAULT_TITLE = "New chat"
DEFAULT_PAGE = 120
MAX_SESSIONS = 100


class ParticipantsBody(ClassScoped):
    pass


class SessionsListBody(ClassScoped):
    owner_user_id: UUID | None = None


class SessionCreateBody(ClassScoped):
    title: str | None = Field(None, max_length=120)


class SessionRenameBody(ClassScoped):
    session_id: UUID
    title: str = Field(min_length=1, max_length=120)


class SessionArchiveBody(ClassScoped):
    session_id: UUID


class MessagesListBody(ClassScoped):
    session_id: UUID
    owner_user_id: UUID | None = None
    before_cursor: str | None = Field(None, max_length=200)
    limit: int | None = Field(None, ge=1, le=200)


class MessagesSendBody(ClassScoped, ToolOptions, Streamed):
    session_id: UUID
    message: str = Field(min_length=1, max_length=1_200)


async def participants(request: Request) -> Response:
    state, body, principal = await admit(request, ParticipantsBody, require_user=True)
    member = await _member(state.store, principal, body)
    require_teacher(member)
    students = await state.store.list_students(member.klass.id)
    return ok_response(
        request,
        {
            "participants": [
                {"user_id": s.user_id, "display_name": s.display_name or f"Student {n}"}
                for n, s in enumerate(students, start=1)
            ]
        },
    )


async def list_sessions(request: Request) -> Response:
    state, body, principal = await admit(request, SessionsListBody, require_user=True)
    member = await _member(state.store, principal, body)
    owner = await owner_in_class(state.store, member, _opt(body.owner_user_id))
    sessions = await state.store.list_sessions(member.klass.id, owner, limit=MAX_SESSIONS)
    return ok_response(request, {"sessions": [s.as_wire() for s in sessions]})


async def create_session(request: Request) -> Response:
    state, body, principal = await admit(request, SessionCreateBody, require_user=True)
    member = await _member(state.store, principal, body)
    title = (body.title or "").strip() or DEFAULT_TITLE
    session = await state.store.create_session(
        session_id=str(uuid.uuid4()),
        class_id=member.klass.id,
        owner_user_id=member.user_id,
        title=title,
        # A guest's own sandbox, verified by `admit`; anyone else's sandbox_id is not theirs
        # to stamp (the platform's cleanup deletes a sandbox's rows by it).
        sandbox_id=_opt(body.sandbox_id) if principal.is_guest else None,
    )
    return ok_response(request, {"session": session.as_wire()})


async def rename_session(request: Request) -> Response:
    state, body, principal = await admit(request, SessionRenameBody, require_user=True)
    member = await _member(state.store, principal, body)
    session = await session_in_class(state.store, member, str(body.session_id))
    require_owner(session, member, code="session_owner_mismatch")
    title = body.title.strip()
    if not title:
        raise ApiError(422, "validation_error", "title: the title cannot be blank.")
    renamed = await state.store.rename_session(session.id, title)
    if renamed is None:
        raise ApiError(404, "session_not_found", "That chat session does not exist.")
    return ok_response(request, {"session": renamed.as_wire()})


async def archive_session(request: Request) -> Response:
    state, body, principal = await admit(request, SessionArchiveBody, require_user=True)
    member = await _member(state.store, principal, body)
    session = await session_in_class(state.store, member, str(body.session_id))
    require_owner(session, member, code="session_owner_mismatch")
    await state.store.archive_session(session.id)
    return ok_response(request, {"session_id": session.id})


def parse_cursor(cursor: str) -> tuple[str, str]:
    """`"<created_at ISO>|<message uuid>"` → a keyset; anything else is a 422."""
    created_at, separator, message_id = cursor.rpartition("|")
    try:
        if not separator:
            raise ValueError
        return normalise_iso(created_at) or "", str(uuid.UUID(message_id))
    except (ValueError, OverflowError):  # OverflowError: out of range once in UTC
        raise ApiError(
            422,
            "validation_error",
            'before_cursor: expected "<created_at ISO timestamp>|<message id>" from next_cursor.',
        ) from None


def cursor_of(message: ChatMessage) -> str:
    return f"{message.created_at}|{message.id}"


async def list_messages(request: Request) -> Response:
    state, body, principal = await admit(request, MessagesListBody, require_user=True)
    member = await _member(state.store, principal, body)
    session = await session_in_class(state.store, member, str(body.session_id))
    owner = await owner_in_class(state.store, member, _opt(body.owner_user_id))
    session_of(session, owner)
    before = parse_cursor(body.before_cursor) if body.before_cursor else None
    messages, has_more = await state.store.list_messages(
        session.id, before=before, limit=body.limit or DEFAULT_PAGE
    )
    return ok_response(
        request,
        {
            "session": session.as_wire(),
            "messages": [m.as_wire() for m in messages],
            "page_info": {
                "has_more": has_more,
                "next_cursor": cursor_of(messages[0]) if has_more and messages else None,
            },
        },
    )


async def send_message(request: Request) -> Response:
    state, body, principal = await admit(request, MessagesSendBody, require_user=True)
    member = await _member(state.store, principal, body)
    session = await session_in_class(state.store, member, str(body.session_id))
    require_owner(session, member, code="send_session_owner_mismatch")
    if session.archived_at is not None:
        raise ApiError(409, "session_archived", "This chat is archived; start a new one.")
    # One send at a time per session, across processes: a short lease renewed while the send
    # runs (see `respond`'s heartbeat), so a crashed holder frees it within seconds.
    lease_seconds = state.settings.session_lease_seconds
    lease = await state.store.acquire_session(session.id, hold_seconds=lease_seconds)
    if lease is None:
        raise ApiError(
            409, "session_busy", "The tutor is still answering your last message in this chat."
        )
    try:
        ticket = await guest_ticket(state, principal, body.sandbox_id, "chat")
        run = chat_run(
            state,
            body,
            graph_input={
                "class_id": member.klass.id,
                "class_title": member.klass.title,
                "user_message": body.message,
                "session_id": session.id,
                "author_user_id": member.user_id,
                "author_kind": "teacher" if member.is_teacher else "student",
                "max_tokens": body.max_tokens,
                # Not keyed: each send is its own turn (a protocol run's key must not linger).
                "turn_id": None,
            },
            error_code="response_generation_failed",
            to_data=_send_data(body.tool_mode, body.tool_catalog),
            session_id=session.id,
            lease=lease,
            ticket=ticket,
        )
    except BaseException:
        await state.store.release_session(session.id, lease)
        raise
    heartbeat = session_lease_heartbeat(state.store, session.id, lease, lease_seconds=lease_seconds)
    return await respond(
        request, run, ping_seconds=state.settings.sse_ping_seconds, heartbeat=heartbeat
    )


def _send_data(
    tool_mode: str, tool_catalog: list[Any] | None
) -> Callable[[Mapping[str, Any]], dict[str, Any]]:
    """`{response, user_message, assistant_message, context_meta, orchestration}`.

    `response` is the chat reply itself (`{safety, answer, citations, confidence?,
    canvas_hint?}`): the web app reads `response.answer` and `response.citations`. Provider,
    model, tokens and latency are on `assistant_message`; `orchestration` (as on
    `chat/generate`) is stemgraph's addition.
    """

    def to_data(values: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "response": values["reply"],
            "user_message": values["saved_user_message"],
            "assistant_message": values["saved_assistant_message"],
            "context_meta": values["context_meta"],
            "attempts": attempts_of(values),
            "orchestration": orchestration(values, tool_mode, tool_catalog),
        }

    return to_data


async def _member(store: Store, principal: Principal, body: ClassScoped) -> Member:
    """The caller in the body's class, by the class rule, with the workspace's codes."""
    return await class_member(
        store, principal, str(body.class_id), body.sandbox_id, codes=WORKSPACE
    )


def _opt(value: object) -> str | None:
    return None if value is None else str(value)

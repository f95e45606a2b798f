"""`/v1/chat/generate` (one stateless turn) and `/v1/chat/canvas`; shared chat-run plumbing."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Literal
from uuid import UUID

from pydantic import Field
from starlette.requests import Request
from starlette.responses import Response

from server.access import reach_class
from server.checkpoints import prune_thread
from server.guardrails import GuestTicket
from server.routes.common import admit
from server.routes.generation import attempts_of, guest_ticket, settle
from server.runs import GraphRun, start_run
from server.schemas import (
    Body,
    ClassScoped,
    NullableText,
    Streamed,
    TimeoutMs,
    ToolOptions,
)
from server.state import AppState
from server.streaming import respond

ENGINE = "langgraph"


class TranscriptItem(Body):
    role: Literal["student", "assistant"]
    message: str = Field(max_length=20_000)
    created_at: str | None = None


class ChatGenerateBody(ClassScoped, ToolOptions, Streamed):
    class_title: str = Field(min_length=1, max_length=200)
    user_message: str = Field(min_length=1, max_length=8_000)
    transcript: list[TranscriptItem] | None = Field(None, max_length=40)
    blueprint_context: NullableText = ""
    material_context: NullableText = ""
    compacted_memory_context: str | None = Field(None, max_length=20_000)
    assignment_instructions: str | None = Field(None, max_length=4_000)
    purpose: str | None = Field(None, max_length=200)
    # Accepted and ignored: see `server.schemas.IGNORED_FIELDS`.
    session_id: str | None = None


class CanvasHint(Body):
    type: Literal["chart", "diagram", "wave", "vector"]
    concept: str = Field(min_length=1, max_length=200)
    title: str = Field(min_length=1, max_length=200)


class CanvasBody(Streamed):
    class_id: UUID
    canvas_hint: CanvasHint
    student_question: NullableText = Field("", max_length=500)
    ai_answer: NullableText = Field("", max_length=2_000)
    sandbox_id: UUID | None = None
    timeout_ms: TimeoutMs | None = None


def orchestration(
    values: Mapping[str, Any], tool_mode: str, tool_catalog: list[Any] | None
) -> dict[str, Any]:
    """How a finished chat run produced its reply. No tools are executed yet, whatever the mode
    asks for. `notes` is one string, the run's notes joined with "; " (the web app's type)."""
    notes = [str(note) for note in values.get("notes") or [] if note]
    if tool_mode != "off":
        notes.append(f"tool_mode={tool_mode}: no tools are run yet")
    return {
        "engine": ENGINE,
        "tool_mode": tool_mode,
        "tool_calls": [],
        "tool_catalog": list(tool_catalog or []),
        "notes": "; ".join(notes),
    }


def chat_response_data(
    values: Mapping[str, Any], *, tool_mode: str, tool_catalog: list[Any] | None
) -> dict[str, Any]:
    """`chat/generate`'s `{payload, provider, model, usage, latency_ms, attempts,
    orchestration}`."""
    return {
        "payload": values["reply"],
        "provider": values["provider"],
        "model": values["model"],
        "usage": values.get("usage"),
        "latency_ms": int(values.get("latency_ms") or 0),
        "attempts": attempts_of(values),
        "orchestration": orchestration(values, tool_mode, tool_catalog),
    }


def chat_run(
    state: AppState,
    options: ToolOptions,
    *,
    graph_input: dict[str, Any],
    error_code: str,
    to_data: Callable[[Mapping[str, Any]], Any],
    session_id: str | None = None,
    lease: str | None = None,
    ticket: GuestTicket | None = None,
) -> GraphRun:
    """A chat run: workspace sessions use the checkpointed graph (one thread per session)."""
    saver = state.checkpointer

    async def session_cleanup(succeeded: bool) -> None:
        if session_id is None:
            return
        try:
            await prune_thread(saver, session_id)
        finally:
            if lease is not None:
                await state.store.release_session(session_id, lease)

    return start_run(
        state.graphs,
        "chat_session" if session_id else "chat",
        input=graph_input,
        context=state.generation_context(options.timeout_ms, max_tokens=options.max_tokens),
        error_code=error_code,
        to_data=to_data,
        thread_id=session_id,
        cleanup=settle(ticket, session_cleanup),
    )


async def generate(request: Request) -> Response:
    state, body, principal = await admit(request, ChatGenerateBody)
    class_id = str(body.class_id)
    title = body.class_title
    member = await reach_class(state.store, principal, class_id, body.sandbox_id)
    if member is not None:
        title = title or member.klass.title
    ticket = await guest_ticket(state, principal, body.sandbox_id, "chat")
    transcript = [
        {"role": t.role, "message": t.message, "created_at": t.created_at}
        for t in (body.transcript or [])
    ]
    run = chat_run(
        state,
        body,
        graph_input={
            "class_id": class_id,
            "class_title": title,
            "user_message": body.user_message,
            "transcript": transcript,
            "material_context": body.material_context,
            "blueprint_context": body.blueprint_context,
            "compacted_memory_context": body.compacted_memory_context,
            "assignment_instructions": body.assignment_instructions,
            "purpose": body.purpose,
            "max_tokens": body.max_tokens,
        },
        error_code="chat_error",
        to_data=lambda values: chat_response_data(
            values, tool_mode=body.tool_mode, tool_catalog=body.tool_catalog
        ),
        ticket=ticket,
    )
    return await respond(request, run, ping_seconds=state.settings.sse_ping_seconds)


async def canvas(request: Request) -> Response:
    state, body, principal = await admit(request, CanvasBody)
    await reach_class(state.store, principal, str(body.class_id), body.sandbox_id)
    # A canvas illustrates a chat answer, so guests spend chat uses on it.
    ticket = await guest_ticket(state, principal, body.sandbox_id, "chat")
    run = start_run(
        state.graphs,
        "canvas",
        input={
            "canvas_hint": body.canvas_hint.model_dump(),
            "student_question": body.student_question,
            "ai_answer": body.ai_answer,
        },
        context=state.generation_context(body.timeout_ms),
        error_code="canvas_error",
        to_data=lambda values: {"spec": values["spec"], "attempts": attempts_of(values)},
        cleanup=settle(ticket),
    )
    return await respond(request, run, ping_seconds=state.settings.sse_ping_seconds)

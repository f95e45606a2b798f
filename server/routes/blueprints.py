"""`/v1/blueprints/generate` and (stemgraph addition) `/v1/blueprints/approve`.

A plain generate returns the validated blueprint. With `class_id` and `require_approval`, a
teacher's draft waits in the checkpointer (a LangGraph interrupt, thread = draft id) until the
teacher approves, edits or rejects it; approval publishes it atomically.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any
from uuid import UUID

from pydantic import Field
from starlette.requests import Request
from starlette.responses import Response

from server.access import class_member, draft_in_class, require_teacher, signed_in
from server.checkpoints import prune_thread
from server.errors import ApiError
from server.routes.common import admit
from server.routes.generation import (
    generate_payload,
    generation_data,
    guest_ticket,
    record_generation,
    settle,
)
from server.runs import start_run
from server.schemas import ClassScoped, Streamed, TimeoutMs
from server.streaming import respond
from tools.payloads.blueprint import tidy_blueprint, validate_blueprint

AWAITING = "awaiting_approval"


class BlueprintBody(Streamed):
    class_title: str = Field(min_length=1, max_length=200)
    subject: str | None = Field(None, max_length=200)
    level: str | None = Field(None, max_length=100)
    material_count: int = Field(ge=1, le=200)
    material_text: str = Field(min_length=1)
    sandbox_id: UUID | None = None
    timeout_ms: TimeoutMs | None = None
    class_id: UUID | None = None
    require_approval: bool = False


class ApproveBody(ClassScoped, Streamed):
    draft_id: UUID
    approved: bool
    payload: dict[str, Any] | None = None
    timeout_ms: TimeoutMs | None = None


def _input(body: BlueprintBody, class_id: str | None) -> dict[str, Any]:
    return {
        "class_title": body.class_title,
        "subject": body.subject,
        "level": body.level,
        "material_count": body.material_count,
        "material_text": body.material_text,
        "class_id": class_id,
        "require_approval": body.require_approval,
    }


async def generate(request: Request) -> Response:
    state, body, principal = await admit(request, BlueprintBody)
    class_id = str(body.class_id) if body.class_id else None
    if not body.require_approval:
        return await generate_payload(
            request,
            state,
            principal,
            graph="blueprint",
            graph_input=_input(body, class_id),
            kind="blueprint",
            class_id=class_id,
            sandbox_id=body.sandbox_id,
            timeout_ms=body.timeout_ms,
            error_code="blueprint_error",
        )
    signed_in(principal, token="a teacher's token")
    if class_id is None:
        raise ApiError(
            422, "validation_error", "class_id: a draft that needs approval must name its class."
        )
    member = await class_member(state.store, principal, class_id, body.sandbox_id)
    require_teacher(member)
    draft_id = str(uuid.uuid4())
    ticket = await guest_ticket(state, principal, body.sandbox_id, "blueprint")

    def to_data(values: Mapping[str, Any]) -> dict[str, Any]:
        return {**generation_data(values), "draft_id": draft_id, "status": AWAITING}

    run = start_run(
        state.graphs,
        "blueprint_review",
        input=_input(body, class_id),
        context=state.generation_context(body.timeout_ms),
        error_code="blueprint_error",
        to_data=to_data,
        thread_id=draft_id,
        on_success=record_generation(
            state, principal, kind="blueprint", class_id=class_id, sandbox_id=body.sandbox_id
        ),
        cleanup=settle(ticket),
    )
    return await respond(request, run, ping_seconds=state.settings.sse_ping_seconds)


def checked_edit(edited: dict[str, Any] | None, source_labels: Any) -> dict[str, Any] | None:
    """An edited blueprint, validated before the draft is resumed: an invalid edit is a 422
    that leaves the draft waiting (approvable, editable, rejectable), because the graph never
    sees it. (A failed resume would be kept in the draft's thread and answer every later
    decision.)"""
    if edited is None:
        return None
    tidied = tidy_blueprint(edited)
    errors = validate_blueprint(tidied, source_labels=list(source_labels or ()))
    if errors:
        more = f" (and {len(errors) - 1} more problems)" if len(errors) > 1 else ""
        raise ApiError(
            422,
            "invalid_blueprint_review",
            f"The edited blueprint is not valid: {errors[0].rstrip('.')}{more}.",
        )
    return tidied


async def approve(request: Request) -> Response:
    state, body, principal = await admit(request, ApproveBody, require_user=True)
    member = await class_member(state.store, principal, str(body.class_id), body.sandbox_id)
    require_teacher(member)
    draft_id = str(body.draft_id)
    draft = await state.graphs["blueprint_review"].aget_state(
        {"configurable": {"thread_id": draft_id}}
    )
    draft_in_class(draft, member)
    edited = checked_edit(body.payload, draft.values.get("source_labels"))
    saver = state.checkpointer

    async def cleanup(succeeded: bool) -> None:
        if succeeded:
            await prune_thread(saver, draft_id)

    run = start_run(
        state.graphs,
        "blueprint_review",
        resume={"approved": body.approved, "payload": edited},
        context=state.generation_context(body.timeout_ms),
        error_code="blueprint_error",
        to_data=lambda values: {
            "published": bool(values.get("published")),
            "blueprint_id": values.get("blueprint_id"),
            "payload": values["payload"],
            "draft_id": draft_id,
        },
        thread_id=draft_id,
        cleanup=cleanup,
    )
    return await respond(request, run, ping_seconds=state.settings.sse_ping_seconds)

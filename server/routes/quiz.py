"""`POST /v1/quiz/generate`: JSON, or SSE with `Accept: text/event-stream`."""

from __future__ import annotations

from uuid import UUID

from pydantic import Field
from starlette.requests import Request
from starlette.responses import Response

from server.routes.common import admit
from server.routes.generation import generate_payload, material_or_class
from server.schemas import NullableText, Streamed, TimeoutMs


class QuizBody(Streamed):
    class_title: str = Field(min_length=1, max_length=200)
    question_count: int = Field(ge=1, le=20)
    instructions: NullableText = Field("", max_length=4_000)
    blueprint_context: NullableText = ""
    material_context: NullableText = ""
    # stemgraph addition: ground on the class's stored materials when no material is sent.
    class_id: UUID | None = None
    sandbox_id: UUID | None = None
    timeout_ms: TimeoutMs | None = None


async def generate(request: Request) -> Response:
    state, body, principal = await admit(request, QuizBody)
    class_id = material_or_class(body.material_context, body.class_id)
    return await generate_payload(
        request,
        state,
        principal,
        graph="quiz",
        graph_input={
            "class_title": body.class_title,
            "question_count": body.question_count,
            "instructions": body.instructions,
            "blueprint_context": body.blueprint_context,
            "material_context": body.material_context,
            "class_id": class_id,
        },
        kind="quiz",
        class_id=class_id,
        sandbox_id=body.sandbox_id,
        timeout_ms=body.timeout_ms,
        error_code="quiz_error",
    )

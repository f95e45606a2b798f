"""Request bodies. Every optional field accepts JSON null (the web app sends null, not absence)."""

from __future__ import annotations

from typing import Annotated, Any, Literal, TypeVar
from uuid import UUID

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from server.errors import ApiError
from server.settings import ProviderName

Model = TypeVar("Model", bound=BaseModel)


def _null_to_empty(value: Any) -> Any:
    return "" if value is None else value


NullableText = Annotated[str, BeforeValidator(_null_to_empty)]
TimeoutMs = Annotated[int, Field(ge=100, le=600_000)]


class Body(BaseModel):
    model_config = ConfigDict(extra="ignore", str_max_length=500_000)


class ProviderChoice(Body):
    timeout_ms: TimeoutMs | None = None
    provider_order: list[ProviderName] | None = None
    default_provider: ProviderName | None = None


class LlmGenerateBody(ProviderChoice):
    sandbox_id: UUID | None = None
    system: NullableText = ""
    user: str = Field(min_length=1)
    temperature: float | None = Field(None, ge=0, le=2)
    max_tokens: int | None = Field(None, ge=1, le=32_000)
    session_id: str | None = None
    transforms: list[str] | None = None


class EmbeddingsBody(ProviderChoice):
    inputs: list[Annotated[str, Field(max_length=100_000)]] = Field(min_length=1, max_length=256)
    sandbox_id: UUID | None = None


class QuizBody(Body):
    class_title: str = Field(min_length=1, max_length=200)
    question_count: int = Field(ge=1, le=20)
    instructions: NullableText = Field("", max_length=4_000)
    blueprint_context: NullableText = ""
    material_context: NullableText = ""
    # stemgraph addition: ground on the class's stored materials when no material is sent.
    class_id: UUID | None = None
    sandbox_id: UUID | None = None
    timeout_ms: TimeoutMs | None = None


def _field_of(error: Any) -> str:
    return ".".join(str(part) for part in error["loc"]) or "body"


def parse_body(model: type[Model], raw: Any) -> Model:
    """Validate `raw` JSON into `model`; failures are 422 `validation_error` naming the field."""
    if not isinstance(raw, dict):
        raise ApiError(422, "validation_error", "The request body must be a JSON object.")
    try:
        return model.model_validate(raw)
    except ValidationError as error:
        first = error.errors()[0]
        message = f"{_field_of(first)}: {first['msg']}."
        raise ApiError(422, "validation_error", message) from None


ToolMode = Literal["off", "plan", "auto"]


class ClassScoped(Body):
    class_id: UUID
    user_id: UUID
    sandbox_id: UUID | None = None


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


class ToolOptions(Body):
    tool_mode: ToolMode = "off"
    tool_catalog: list[Any] | None = None
    orchestration_hints: dict[str, Any] | None = None
    timeout_ms: TimeoutMs | None = None
    max_tokens: int | None = Field(None, ge=1, le=16_000)


class MessagesSendBody(ClassScoped, ToolOptions):
    session_id: UUID
    message: str = Field(min_length=1, max_length=1_200)


class TranscriptItem(Body):
    role: Literal["student", "assistant"]
    message: str = Field(max_length=20_000)
    created_at: str | None = None


class ChatGenerateBody(ClassScoped, ToolOptions):
    class_title: str = Field(min_length=1, max_length=200)
    user_message: str = Field(min_length=1, max_length=8_000)
    transcript: list[TranscriptItem] | None = Field(None, max_length=40)
    blueprint_context: NullableText = ""
    material_context: NullableText = ""
    compacted_memory_context: str | None = Field(None, max_length=20_000)
    assignment_instructions: str | None = Field(None, max_length=4_000)
    purpose: str | None = Field(None, max_length=200)
    session_id: str | None = None


class CanvasHint(Body):
    type: Literal["chart", "diagram", "wave", "vector"]
    concept: str = Field(min_length=1, max_length=200)
    title: str = Field(min_length=1, max_length=200)


class CanvasBody(Body):
    class_id: UUID
    canvas_hint: CanvasHint
    student_question: NullableText = Field("", max_length=500)
    ai_answer: NullableText = Field("", max_length=2_000)
    sandbox_id: UUID | None = None
    timeout_ms: TimeoutMs | None = None

"""What every request body shares. Each route module declares its own bodies on these bases.

Every optional field accepts JSON null (the web app sends null, not absence), and fields a body
does not declare are dropped (`extra="ignore"`): the web app may send more than a route reads.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Annotated, Any, Final, Literal, TypeVar
from uuid import UUID

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from server.errors import ApiError

Model = TypeVar("Model", bound=BaseModel)


def _null_to_empty(value: Any) -> Any:
    return "" if value is None else value


NullableText = Annotated[str, BeforeValidator(_null_to_empty)]
# A request may shorten or lengthen its model deadline up to two minutes: a longer one would
# hold a guest slot or a chat session's send lease for as long (422 above it).
MIN_TIMEOUT_MS: Final = 100
MAX_TIMEOUT_MS: Final = 120_000
TimeoutMs = Annotated[int, Field(ge=MIN_TIMEOUT_MS, le=MAX_TIMEOUT_MS)]
ToolMode = Literal["off", "plan", "auto"]


class Body(BaseModel):
    model_config = ConfigDict(extra="ignore", str_max_length=500_000)


# A stream's token coalescing window (`server/streaming.py:coalesce`); 0 turns it off.
MAX_COALESCE_MS: Final = 1_000
CoalesceMs = Annotated[int, Field(ge=0, le=MAX_COALESCE_MS)]


class Streamed(Body):
    """What every route that can answer as SSE accepts: `coalesce_ms`, this request's token
    coalescing window (unset: the server's `STEMGRAPH_COALESCE_MS`)."""

    coalesce_ms: CoalesceMs | None = None


class ClassScoped(Body):
    class_id: UUID
    user_id: UUID
    sandbox_id: UUID | None = None


class ToolOptions(Body):
    """The chat routes' tool options. No tools run yet: `tool_mode` and `tool_catalog` are
    echoed back in the reply's `orchestration` (with a note), `orchestration_hints` is ignored."""

    tool_mode: ToolMode = "off"
    tool_catalog: list[Any] | None = None
    orchestration_hints: dict[str, Any] | None = None
    timeout_ms: TimeoutMs | None = None
    max_tokens: int | None = Field(None, ge=1, le=16_000)


# Contract fields a route accepts (their types are checked) and then ignores: route → field →
# why. Routes never read them; `tests/server/test_schemas.py` holds this list to the bodies.
IGNORED_FIELDS: Final[Mapping[str, Mapping[str, str]]] = MappingProxyType(
    {
        "/v1/llm/generate": {
            "session_id": "a direct model call belongs to no chat session",
            "transforms": "OpenRouter prompt transforms are not forwarded to any provider",
        },
        "/v1/chat/generate": {
            "session_id": "a stateless turn keeps no session (workspace sends do)",
            "orchestration_hints": "no tools are run yet",
        },
        "/v1/chat/workspace/messages/send": {
            "orchestration_hints": "no tools are run yet",
        },
    }
)


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

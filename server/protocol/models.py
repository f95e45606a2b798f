"""The protocol's request bodies: they validate requests (`parse_body`, 422 naming the field)
and describe them in `/openapi.json`. Fields the SDKs send that stemgraph does not act on
(webhooks, feedback keys, tracing) are accepted and ignored, as the `/v1` bodies do."""

from __future__ import annotations

from typing import Any, Literal
from uuid import UUID

from pydantic import Field

from server.schemas import Body

StreamModeName = Literal[
    "values",
    "updates",
    "messages",
    "messages-tuple",
    "custom",
    "events",
    "debug",
    "tasks",
    "checkpoints",
]
MultitaskStrategy = Literal["reject", "interrupt", "rollback", "enqueue"]
Metadata = dict[str, Any]
MAX_PAGE = 1000


class AssistantSearch(Body):
    graph_id: str | None = Field(None, max_length=200)
    name: str | None = Field(None, max_length=200)
    metadata: Metadata | None = None
    limit: int = Field(10, ge=1, le=MAX_PAGE)
    offset: int = Field(0, ge=0)
    sort_by: str | None = Field(None, max_length=50)
    sort_order: Literal["asc", "desc"] | None = None
    select: list[str] | None = None


class ThreadCreate(Body):
    thread_id: UUID | None = None
    metadata: Metadata | None = None
    if_exists: Literal["raise", "do_nothing"] = "raise"
    graph_id: str | None = Field(None, max_length=200)
    ttl: Any = None
    supersteps: list[Any] | None = None


class ThreadPatch(Body):
    metadata: Metadata | None = None
    ttl: Any = None


class ThreadSearch(Body):
    metadata: Metadata | None = None
    values: Metadata | None = None
    ids: list[UUID] | None = Field(None, max_length=MAX_PAGE)
    status: Literal["idle", "busy", "interrupted", "error"] | None = None
    limit: int = Field(10, ge=1, le=MAX_PAGE)
    offset: int = Field(0, ge=0)
    sort_by: str | None = Field(None, max_length=50)
    sort_order: Literal["asc", "desc"] | None = None
    select: list[str] | None = None


class CheckpointRef(Body):
    thread_id: str | None = Field(None, max_length=100)
    checkpoint_ns: str | None = Field(None, max_length=500)
    checkpoint_id: str | None = Field(None, max_length=100)
    checkpoint_map: dict[str, Any] | None = None


class ThreadStateUpdate(Body):
    values: dict[str, Any] | list[Any] | None = None
    as_node: str | None = Field(None, max_length=200)
    checkpoint: CheckpointRef | None = None
    checkpoint_id: str | None = Field(None, max_length=100)


class ThreadStateQuery(Body):
    checkpoint: CheckpointRef | None = None
    subgraphs: bool = False


class ThreadHistory(Body):
    limit: int = Field(10, ge=1, le=MAX_PAGE)
    before: CheckpointRef | str | None = None
    metadata: Metadata | None = None
    checkpoint: CheckpointRef | None = None


class CommandBody(Body):
    resume: Any = None
    update: dict[str, Any] | list[Any] | None = None
    goto: str | list[str] | None = None


class RunConfig(Body):
    tags: list[str] | None = None
    recursion_limit: int | None = Field(None, ge=1, le=10_000)
    configurable: dict[str, Any] | None = None


class RunCreate(Body):
    """A run on a thread (or stateless): `/runs/stream`, `/runs/wait`, `/runs` and the same
    under `/threads/{thread_id}`."""

    assistant_id: str = Field(min_length=1, max_length=200)
    input: dict[str, Any] | None = None
    command: CommandBody | None = None
    stream_mode: StreamModeName | list[StreamModeName] = "values"
    stream_subgraphs: bool = False
    stream_resumable: bool = False
    metadata: Metadata | None = None
    config: RunConfig | None = None
    context: dict[str, Any] | None = None
    checkpoint: CheckpointRef | None = None
    checkpoint_id: str | None = Field(None, max_length=100)
    checkpoint_during: bool | None = None
    interrupt_before: Literal["*"] | list[str] | None = None
    interrupt_after: Literal["*"] | list[str] | None = None
    multitask_strategy: MultitaskStrategy = "reject"
    if_not_exists: Literal["create", "reject"] = "reject"
    on_disconnect: Literal["cancel", "continue"] | None = None
    on_completion: Literal["delete", "keep"] = "delete"
    after_seconds: float | None = Field(None, ge=0, le=3600)
    durability: Literal["sync", "async", "exit"] | None = None
    strict_resume: bool | None = None
    feedback_keys: list[str] | None = None
    webhook: str | None = Field(None, max_length=2000)
    langsmith_tracer: dict[str, Any] | None = None

    def modes(self) -> list[StreamModeName]:
        modes = [self.stream_mode] if isinstance(self.stream_mode, str) else self.stream_mode
        return list(dict.fromkeys(modes)) or ["values"]

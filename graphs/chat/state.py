"""What flows through the chat graph. Only `memory` and `context_meta` outlive a run."""

from __future__ import annotations

from typing import Any, NotRequired

from typing_extensions import TypedDict

from graphs.shared.sources import LabelledSource
from tools.compaction import Memory


class TranscriptTurn(TypedDict):
    role: str  # student | assistant | teacher
    message: str
    created_at: NotRequired[str | None]


class ChatInput(TypedDict):
    class_id: str
    # The class's stored title when unset (a run from Studio or a script).
    class_title: NotRequired[str]
    user_message: str
    # Workspace mode: the session's stored history is the transcript and the reply is saved.
    session_id: NotRequired[str | None]
    author_user_id: NotRequired[str | None]
    author_kind: NotRequired[str]
    # The turn's key (workspace mode): its two messages are stored under ids made from it, so a
    # turn run again (its process went after saving it) replaces what it saved, not adds to it.
    turn_id: NotRequired[str | None]
    # Stateless mode (`/v1/chat/generate`): the caller sends history and context.
    transcript: NotRequired[list[TranscriptTurn]]
    material_context: NotRequired[str]
    blueprint_context: NotRequired[str]
    compacted_memory_context: NotRequired[str | None]
    assignment_instructions: NotRequired[str | None]
    purpose: NotRequired[str | None]
    # The caller's cap on the reply's tokens; `graphs/shared/budgets.py:CHAT` when unset.
    max_tokens: NotRequired[int | None]


class ChatOutput(TypedDict):
    reply: dict[str, Any]
    provider: str
    model: str
    usage: dict[str, int] | None
    latency_ms: int
    # Calls that did not write the reply (`Attempt.as_wire()`); empty when the first did.
    attempts: list[dict[str, str]]
    context_meta: dict[str, Any]
    notes: list[str]
    saved_user_message: dict[str, Any] | None
    saved_assistant_message: dict[str, Any] | None


class ChatState(ChatInput, total=False):
    # Kept by the checkpointer between turns (one thread per workspace session).
    memory: Memory | None
    context_meta: dict[str, Any]
    # Per-run working data, emptied before the run ends so checkpoints stay small.
    received_at: str
    history: list[dict[str, Any]]
    sources: list[LabelledSource]
    blueprint_text: str
    reply_text: str
    # Model calls this turn, why the last one ended, and what the repair must fix.
    tries: int
    finish_reason: str | None
    errors: list[str]
    attempts: list[dict[str, str]]
    reply: dict[str, Any]
    notes: list[str]
    provider: str
    model: str
    usage: dict[str, int] | None
    latency_ms: int
    saved_user_message: dict[str, Any] | None
    saved_assistant_message: dict[str, Any] | None

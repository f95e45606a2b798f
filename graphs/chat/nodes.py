"""The chat graph's nodes."""

from __future__ import annotations

import json
import uuid
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from langgraph.runtime import Runtime

from graphs.chat.state import ChatState
from graphs.shared.context import GenerationContext, context_of
from graphs.shared.errors import GenerationError
from graphs.shared.jsonout import parse_json_object
from graphs.shared.progress import report
from graphs.shared.sources import (
    LabelledSource,
    labelled_sources,
    parse_sources,
    render_sources,
    select_chunks,
)
from graphs.shared.structured import RETRIEVAL_LIMIT
from graphs.shared.usage import add_usage
from prompts import chat as prompts
from tools.clock import now_iso
from tools.compaction import ChatTurnMessage, compact, decide, render_memory
from tools.offline.tutor import Source, offline_tutor_reply
from tools.payloads.blueprint import render_blueprint_context
from tools.payloads.chat import normalise_reply
from tools.retrieval import hybrid_search
from tools.store.base import ChatMessage, Store
from tools.text import strip_invisible
from tools.text.injection import fence


class BlueprintMissing(GenerationError):
    """The class has no published blueprint, and chat grounds on it."""

    status = 409
    code = "blueprint_not_published"


def _store(runtime: Runtime[GenerationContext]) -> Store:
    store = context_of(runtime).store
    if store is None:
        raise GenerationError("Workspace chat needs the class store, and none is configured.")
    return store


async def load_session(state: ChatState, runtime: Runtime[GenerationContext]) -> dict[str, Any]:
    """The conversation so far (stored session or caller's transcript) plus the new message."""
    received_at = now_iso()
    if state.get("session_id"):
        stored = await _store(runtime).session_messages(str(state["session_id"]))
        history = [
            {"id": m.id, "role": m.author_kind, "content": m.content, "created_at": m.created_at}
            for m in stored
        ]
    else:
        history = [
            {
                "id": f"transcript-{n}",
                "role": "assistant" if turn.get("role") == "assistant" else "student",
                "content": strip_invisible(turn.get("message") or ""),
                "created_at": turn.get("created_at") or "",
            }
            for n, turn in enumerate(state.get("transcript") or [])
        ]
    history.append(
        {
            "id": str(uuid.uuid4()),
            "role": state.get("author_kind") or "student",
            "content": strip_invisible(state["user_message"]).strip(),
            "created_at": received_at,
        }
    )
    return {"history": history, "received_at": received_at, "notes": []}


async def decide_compaction(state: ChatState) -> dict[str, Any]:
    """Apply the contract's compaction rules; fold old turns into the memory when they fire."""
    messages = [ChatTurnMessage(**turn) for turn in state["history"]]
    memory = state.get("memory") if state.get("session_id") else None
    decision = decide(messages, memory)
    previous = state.get("context_meta") or {}
    compacted_at = previous.get("compacted_at") if memory else None
    if decision.compact:
        memory = compact(memory, decision.to_compact)
        compacted_at = now_iso()
    context_meta = {
        "compacted": decision.compact,
        "compacted_at": compacted_at,
        "reason": decision.reason,
    }
    report(
        "compaction",
        compacted=decision.compact,
        reason=decision.reason,
        messages=decision.message_count,
        estimated_tokens=decision.estimated_tokens,
    )
    verbatim = [
        {"id": m.id, "role": m.role, "content": m.content, "created_at": m.created_at}
        for m in decision.verbatim
    ]
    return {"memory": memory, "context_meta": context_meta, "history": verbatim}


async def retrieve(state: ChatState, runtime: Runtime[GenerationContext]) -> dict[str, Any]:
    """Labelled sources for the question and the class's published blueprint."""
    context = context_of(runtime)
    store = context.store
    class_id = state["class_id"]
    blueprint_text = strip_invisible(state.get("blueprint_context") or "").strip()
    if not blueprint_text and store is not None:
        blueprint = await store.get_published_blueprint(class_id)
        blueprint_text = render_blueprint_context(blueprint) if blueprint else ""
    if not blueprint_text:
        raise BlueprintMissing(
            "This class has no published course blueprint yet, so the tutor cannot answer. "
            "Ask the teacher to publish one."
        )
    sources: list[LabelledSource] = parse_sources(state.get("material_context") or "")
    if not sources and store is not None:
        memory = state.get("memory")
        memory_terms = " ".join(memory["key_terms"][:6]) if memory else ""
        query = f"{state['user_message']} {memory_terms}".strip()
        hits = select_chunks(
            await hybrid_search(
                store, class_id, query, limit=RETRIEVAL_LIMIT, query_embedding=context.embed_query
            )
        )
        sources = labelled_sources(hits)
    report("retrieval", sources=len(sources), labels=[s["label"] for s in sources])
    return {"sources": sources, "blueprint_text": blueprint_text}


def _conversation(state: ChatState) -> list[BaseMessage]:
    purpose = []
    if state.get("assignment_instructions"):
        purpose.append(prompts.ASSIGNMENT.format(instructions=state["assignment_instructions"]))
    if state.get("purpose"):
        purpose.append(f"Purpose of this chat: {state['purpose']}")
    memory_text = render_memory(state.get("memory"))
    if state.get("compacted_memory_context"):
        memory_text = f"{memory_text}\n{state['compacted_memory_context']}".strip()
    messages: list[BaseMessage] = [
        SystemMessage(
            prompts.SYSTEM.format(class_title=state["class_title"], purpose="\n".join(purpose))
        ),
        SystemMessage(
            prompts.CONTEXT.format(
                blueprint=fence(state["blueprint_text"], "blueprint"),
                sources=fence(render_sources(state["sources"]), "sources")
                or "(no class sources matched)",
                memory=fence(strip_invisible(memory_text), "memory"),
            )
        ),
    ]
    for turn in state["history"][:-1]:
        text = turn["content"]
        messages.append(AIMessage(text) if turn["role"] == "assistant" else HumanMessage(text))
    messages.append(HumanMessage(state["history"][-1]["content"]))
    return messages


async def generate(state: ChatState, runtime: Runtime[GenerationContext]) -> dict[str, Any]:
    """Ask the model (streaming) or the offline tutor for the reply."""
    context = context_of(runtime)
    report("generate", sources=len(state["sources"]))

    def offline(_: Any) -> str:
        reply = offline_tutor_reply(
            state["history"][-1]["content"],
            [Source(s["label"], s["title"], s["text"]) for s in state["sources"]],
            blueprint=state["blueprint_text"],
            memory=render_memory(state.get("memory")),
            class_title=state["class_title"],
        )
        return json.dumps(reply, ensure_ascii=False)

    reply = await context.model_router().ainvoke(
        _conversation(state), deadline=context.run_deadline(), responder=offline
    )
    return {
        "reply_text": reply.text,
        "provider": reply.provider,
        "model": reply.model,
        "usage": add_usage(None, reply.usage),
        "latency_ms": reply.latency_ms,
    }


async def parse_reply(state: ChatState) -> dict[str, Any]:
    """Validate the reply: known citation labels only, contract fields, a non-empty answer."""
    labels = {s["label"] for s in state["sources"]}
    text = state.get("reply_text", "")
    # What the model read and may have been told to repeat: the sources and the blueprint.
    seen = "\n\n".join([state["blueprint_text"], *(s["text"] for s in state["sources"])])
    reply, notes = normalise_reply(parse_json_object(text), text, labels=labels, material=seen)
    if not reply["answer"]:
        raise GenerationError("The tutor could not produce an answer. Please try again.")
    return {"reply": reply, "notes": [*state.get("notes", []), *notes]}


async def persist(state: ChatState, runtime: Runtime[GenerationContext]) -> dict[str, Any]:
    """Save the exchange (workspace mode) and drop per-run data from the checkpoint."""
    user_wire = assistant_wire = None
    if state.get("session_id"):
        session_id, class_id = str(state["session_id"]), state["class_id"]
        user_turn = state["history"][-1]
        reply, usage = state["reply"], state.get("usage") or {}
        user = ChatMessage(
            id=user_turn["id"],
            session_id=session_id,
            class_id=class_id,
            author_user_id=state.get("author_user_id"),
            author_kind=user_turn["role"],
            content=user_turn["content"],
            created_at=state["received_at"],
        )
        assistant = ChatMessage(
            id=str(uuid.uuid4()),
            session_id=session_id,
            class_id=class_id,
            author_user_id=None,
            author_kind="assistant",
            content=reply["answer"],
            created_at=now_iso(),
            citations=tuple(
                {"sourceLabel": c["sourceLabel"], "snippet": c["rationale"]}
                for c in reply["citations"]
            ),
            safety=reply["safety"],
            provider=state["provider"],
            model=state["model"],
            prompt_tokens=usage.get("prompt_tokens"),
            completion_tokens=usage.get("completion_tokens"),
            total_tokens=usage.get("total_tokens"),
            latency_ms=state.get("latency_ms"),
        )
        await _store(runtime).append_messages(session_id, [user, assistant])
        user_wire, assistant_wire = user.as_wire(), assistant.as_wire()
    report("done", saved=user_wire is not None)
    return {
        "saved_user_message": user_wire,
        "saved_assistant_message": assistant_wire,
        "history": [],
        "sources": [],
        "blueprint_text": "",
        "reply_text": "",
        "material_context": "",
        "transcript": [],
    }

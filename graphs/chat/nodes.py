"""The chat graph's nodes."""

from __future__ import annotations

import json
import uuid
from typing import Any, Final, Literal

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from langgraph.config import get_stream_writer
from langgraph.runtime import Runtime
from langgraph.types import Command

from graphs.chat.state import ChatState
from graphs.shared import budgets
from graphs.shared.context import GenerationOptions, context_of
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
from graphs.shared.structured import CUT_OFF, RETRIEVAL_LIMIT, class_title, invalid_output
from graphs.shared.usage import add_usage
from prompts import chat as prompts
from tools.clock import now_iso
from tools.compaction import ChatTurnMessage, compact, decide, render_memory
from tools.models.offline import OFFLINE_MODEL, OFFLINE_PROVIDER
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


async def _store(runtime: Runtime[GenerationOptions]) -> Store:
    store = await context_of(runtime).class_store()
    if store is None:
        raise GenerationError("Workspace chat needs the class store, and none is configured.")
    return store


_TURNS: Final = uuid.UUID("5e0c7a52-8f7e-4d0b-9a41-3f1f2b6c9d10")


def turn_message_ids(turn_id: str | None) -> tuple[str, str] | None:
    """The ids a keyed turn's question and answer are stored under (None without a key):
    derived from the key, shaped as the platform's uuid4 message ids."""
    if not turn_id:
        return None

    def derived(part: str) -> str:
        return str(uuid.UUID(bytes=uuid.uuid5(_TURNS, f"{turn_id}:{part}").bytes, version=4))

    return derived("question"), derived("answer")


async def load_session(state: ChatState, runtime: Runtime[GenerationOptions]) -> dict[str, Any]:
    """The conversation so far (stored session or caller's transcript) plus the new message."""
    received_at = now_iso()
    keyed = turn_message_ids(state.get("turn_id"))
    if state.get("session_id"):
        store = await _store(runtime)
        stored = await store.session_messages(str(state["session_id"]))
        history = [
            {"id": m.id, "role": m.author_kind, "content": m.content, "created_at": m.created_at}
            for m in stored
            # This turn's own messages, saved by an earlier start of it: asked again, not seen.
            if keyed is None or m.id not in keyed
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
            "id": keyed[0] if keyed else str(uuid.uuid4()),
            "role": state.get("author_kind") or "student",
            "content": strip_invisible(state["user_message"]).strip(),
            "created_at": received_at,
        }
    )
    fresh = {"tries": 0, "errors": [], "attempts": [], "usage": None, "latency_ms": 0}
    update = {"history": history, "received_at": received_at, "notes": [], **fresh}
    if not state.get("class_title"):
        update["class_title"] = await class_title(context_of(runtime), state["class_id"])
    return update


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


async def retrieve(state: ChatState, runtime: Runtime[GenerationOptions]) -> dict[str, Any]:
    """Labelled sources for the question and the class's published blueprint."""
    context = context_of(runtime)
    store = await context.class_store()
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
    errors = state.get("errors") or []
    if errors:
        # The repair turn: the broken reply and what was wrong with it.
        problems = "\n".join(f"- {error}" for error in errors)
        messages += [AIMessage(state.get("reply_text", "")), HumanMessage(REPAIR.format(problems))]
    return messages


# Chat streams to a waiting student: one repair, then a short apology, never a third call.
MAX_CHAT_REPAIRS: Final = 1
REPAIR: Final = """Your previous reply could not be shown to the student:
{}
Answer again as one complete JSON object of the form described above, and keep it brief."""
APOLOGY: Final = (
    "Sorry, I couldn't put together a proper answer just now. Please ask again, "
    "perhaps in a simpler way."
)


async def generate(state: ChatState, runtime: Runtime[GenerationOptions]) -> dict[str, Any]:
    """Ask the model (streaming) or the offline tutor for the reply, in JSON mode under the
    caller's token cap (or the chat budget); a repair carries the same cap."""
    context = context_of(runtime)
    tries = state.get("tries", 0)
    report("generate", sources=len(state["sources"]), attempt=tries + 1)

    def offline(_: Any) -> str:
        reply = offline_tutor_reply(
            state["history"][-1]["content"],
            [Source(s["label"], s["title"], s["text"]) for s in state["sources"]],
            blueprint=state["blueprint_text"],
            memory=render_memory(state.get("memory")),
            class_title=state["class_title"],
        )
        return json.dumps(reply, ensure_ascii=False)

    options = budgets.CHAT.options(max_tokens=state.get("max_tokens"))
    reply = await context.model_router().ainvoke(
        _conversation(state), deadline=context.run_deadline(), responder=offline, options=options
    )
    return {
        "tries": tries + 1,
        "reply_text": reply.text,
        "finish_reason": reply.finish_reason,
        "provider": reply.provider,
        "model": reply.model,
        "attempts": [*state.get("attempts", []), *(a.as_wire() for a in reply.attempts)],
        "usage": add_usage(state.get("usage"), reply.usage),
        "latency_ms": state.get("latency_ms", 0) + reply.latency_ms,
    }


def _problems(state: ChatState, parsed: dict[str, Any] | None) -> list[str]:
    """Why the reply cannot be shown as it is: cut at the cap, not JSON, or no answer."""
    problems: list[str] = []
    if state.get("finish_reason") == "length":
        problems.append(CUT_OFF)
    if parsed is None:
        problems.append('The reply was not one JSON object with "safety", "answer", "citations".')
    elif not isinstance(parsed.get("answer"), str) or not parsed["answer"].strip():
        problems.append('"answer" must be the non-empty text of the reply.')
    return problems


async def parse_reply(state: ChatState) -> Command[Literal["generate", "persist"]]:
    """Validate the reply: complete JSON, a non-empty answer, contract fields and known
    citation labels only. A broken reply is repaired once; after that the student gets a short
    apology (never the raw text), and the model's failure is reported in `attempts`."""
    labels = {s["label"] for s in state["sources"]}
    text = state.get("reply_text", "")
    parsed = parse_json_object(text)
    problems = _problems(state, parsed)
    notes = list(state.get("notes", []))
    offline = state.get("provider") == OFFLINE_PROVIDER
    if not problems:
        # What the model read and may have been told to repeat: the sources and the blueprint.
        seen = "\n\n".join([state["blueprint_text"], *(s["text"] for s in state["sources"])])
        reply, fixed = normalise_reply(parsed, text, labels=labels, material=seen)
        return Command(goto="persist", update={"reply": reply, "notes": [*notes, *fixed]})
    report("validate", attempt=state.get("tries", 0), errors=len(problems))
    if not offline and state.get("tries", 0) <= MAX_CHAT_REPAIRS:
        # The client may have seen the broken reply's tokens: tell it they are void.
        get_stream_writer()({"reset": True, "reason": problems[0]})
        return Command(goto="generate", update={"errors": problems})
    attempts = list(state.get("attempts") or [])
    if not offline:
        attempts.append(invalid_output(state, problems[0]))
        report("attempt_failed", **attempts[-1])
    get_stream_writer()({"reset": True, "reason": problems[0]})
    apology = {"safety": "ok", "answer": APOLOGY, "citations": []}
    update = {
        "reply": apology,
        "notes": [*notes, f"the reply could not be used ({problems[0]}); an apology was sent"],
        "attempts": attempts,
        "errors": problems,
        "provider": OFFLINE_PROVIDER,
        "model": OFFLINE_MODEL,
    }
    return Command(goto="persist", update=update)


async def persist(state: ChatState, runtime: Runtime[GenerationOptions]) -> dict[str, Any]:
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
        keyed = turn_message_ids(state.get("turn_id"))
        assistant = ChatMessage(
            id=keyed[1] if keyed else str(uuid.uuid4()),
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
        store = await _store(runtime)
        await store.append_messages(session_id, [user, assistant])
        user_wire, assistant_wire = user.as_wire(), assistant.as_wire()
    report("done", saved=user_wire is not None)
    return {
        "saved_user_message": user_wire,
        "saved_assistant_message": assistant_wire,
        "history": [],
        "sources": [],
        "blueprint_text": "",
        "reply_text": "",
        "errors": [],
        "material_context": "",
        "transcript": [],
        "turn_id": None,
    }

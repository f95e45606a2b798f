"""One attempt at a structured (JSON) generation, shared by the generate→validate graphs."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langgraph.types import Command

from graphs.shared.context import GenerationContext
from graphs.shared.errors import GenerationError
from graphs.shared.jsonout import parse_json_object
from graphs.shared.progress import report
from graphs.shared.sources import format_sources, select_chunks
from graphs.shared.usage import add_usage
from tools.models.offline import OFFLINE_PROVIDER, Responder
from tools.retrieval import hybrid_search
from tools.text import strip_invisible


async def json_attempt(
    state: Mapping[str, Any],
    context: GenerationContext,
    messages: Sequence[BaseMessage],
    offline: Responder,
) -> dict[str, Any]:
    """Ask the router once; the state update records the reply, its parse and running totals."""
    reply = await context.model_router().ainvoke(
        messages, deadline=context.run_deadline(), responder=offline
    )
    return {
        "attempts": state.get("attempts", 0) + 1,
        "reply_text": reply.text,
        "candidate": parse_json_object(reply.text),
        "provider": reply.provider,
        "model": reply.model,
        "usage": add_usage(state.get("usage"), reply.usage),
        "latency_ms": state.get("latency_ms", 0) + reply.latency_ms,
    }


MAX_REPAIRS = 2


def next_step(
    state: Mapping[str, Any],
    *,
    candidate: dict[str, Any] | None,
    errors: list[str],
    salvage: Callable[[], dict[str, Any] | None],
    what: str,
) -> Command[Literal["generate", "finalize"]]:
    """After validation: finalize a valid payload, send errors back for repair (at most
    `MAX_REPAIRS` times), or finalize what can be salvaged; nothing valid is an error."""
    if not errors and candidate is not None:
        return Command(goto="finalize", update={"payload": candidate, "errors": []})
    # The offline engine is deterministic: asking it again would return the same payload.
    if state.get("provider") != OFFLINE_PROVIDER and state.get("attempts", 0) <= MAX_REPAIRS:
        return Command(goto="generate", update={"errors": errors})
    salvaged = salvage()
    if salvaged is None:
        raise GenerationError(
            f"The {what} could not be generated from this material: the answer broke the "
            f"{what} rules: {errors[0]}"
        )
    return Command(goto="finalize", update={"payload": salvaged, "errors": errors})


def final_output(state: Mapping[str, Any]) -> dict[str, Any]:
    """The contract's generation output from the run's state."""
    return {
        "payload": state["payload"],
        "provider": state["provider"],
        "model": state["model"],
        "usage": state.get("usage"),
        "latency_ms": state.get("latency_ms", 0),
    }


RETRIEVAL_LIMIT = 40


async def gather_material(
    state: Mapping[str, Any], context: GenerationContext | None, *, purpose: str
) -> dict[str, Any]:
    """The request's material, or the class's best chunks (`Source N` labelled) when only a
    `class_id` is given; resets the attempt bookkeeping for the generate/validate loop."""
    context = context or GenerationContext()
    material = strip_invisible(state.get("material_context") or "").strip()
    class_id = state.get("class_id")
    store = context.store
    if not material and class_id and store is not None:
        query = " ".join([state.get("instructions") or "", state.get("class_title") or ""])
        hits = select_chunks(
            await hybrid_search(
                store,
                class_id,
                query,
                limit=RETRIEVAL_LIMIT,
                query_embedding=context.embed_query,
            )
        )
        material = format_sources(hits)
        report("context", source="retrieval", sources=len(hits))
    else:
        report("context", source="request", characters=len(material))
    if not material:
        raise GenerationError(f"There is no class material to write {purpose} from.")
    return {"context": material, "attempts": 0, "errors": [], "usage": None, "latency_ms": 0}


def repair_turn(
    state: Mapping[str, Any], template: str, *, max_listed: int | None = None, **fields: Any
) -> list[BaseMessage]:
    """The model's previous reply and the errors it must fix (nothing when it was valid).

    `template` takes `{errors}` (a bullet list) plus `fields`; past `max_listed` errors the
    rest are summarised so a badly broken reply cannot flood the prompt.
    """
    errors: list[str] = list(state.get("errors") or [])
    if not errors:
        return []
    listed = errors[:max_listed] if max_listed else errors
    text = "\n".join(f"- {error}" for error in listed)
    if len(errors) > len(listed):
        text += f"\n- … and {len(errors) - len(listed)} more."
    return [
        AIMessage(state.get("reply_text", "")),
        HumanMessage(template.format(errors=text, **fields)),
    ]

"""The structured (JSON) generation loop of the generate → validate graphs: one attempt, the
decision after validation, the repair turn, the contract's output and material gathering."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langgraph.types import Command

from graphs.shared.context import GenerationContext
from graphs.shared.errors import GenerationError
from graphs.shared.jsonout import parse_json_object
from graphs.shared.progress import report
from graphs.shared.sources import format_sources, select_chunks
from graphs.shared.state import GenerationOutput, first_attempt
from graphs.shared.usage import add_usage
from tools.models.offline import OFFLINE_MODEL, OFFLINE_PROVIDER, Responder
from tools.models.router import Attempt, CallOptions
from tools.retrieval import hybrid_search
from tools.text import strip_invisible


async def json_attempt(
    state: Mapping[str, Any],
    context: GenerationContext,
    messages: Sequence[BaseMessage],
    offline: Responder,
    options: CallOptions,
) -> dict[str, Any]:
    """Ask the router once (JSON mode, the graph's temperature and token cap); the state
    update records the reply, its parse, the failed providers and running totals."""
    reply = await context.model_router().ainvoke(
        messages, deadline=context.run_deadline(), responder=offline, options=options
    )
    return {
        "tries": state.get("tries", 0) + 1,
        "attempts": [*state.get("attempts", []), *(a.as_wire() for a in reply.attempts)],
        "finish_reason": reply.finish_reason,
        "reply_text": reply.text,
        "candidate": parse_json_object(reply.text),
        "provider": reply.provider,
        "model": reply.model,
        "usage": add_usage(state.get("usage"), reply.usage),
        "latency_ms": state.get("latency_ms", 0) + reply.latency_ms,
    }


MAX_REPAIRS = 2
Goto = TypeVar("Goto", bound=str)
CUT_OFF = "The reply was cut off at the output token limit: send a shorter, complete answer."


def invalid_output(state: Mapping[str, Any], reason: str) -> dict[str, str]:
    """The wire attempt of a model whose replies stayed invalid after the repairs."""
    repairs = max(0, int(state.get("tries", 0)) - 1)
    times = f"{repairs} repair{'' if repairs == 1 else 's'}"
    message = f"The reply broke the rules after {times}: {reason}"
    provider = str(state.get("provider") or "unknown")
    model = str(state.get("model") or "unknown")
    return Attempt(provider, model, "invalid_output", message[:300]).as_wire()


def next_step(
    state: Mapping[str, Any],
    *,
    candidate: dict[str, Any] | None,
    errors: list[str],
    done: Goto,
    repair: Goto,
    salvage: Callable[[], dict[str, Any] | None] | None = None,
    fallback: Callable[[], dict[str, Any] | None] | None = None,
    give_up: Goto | None = None,
    failure: str = "The answer broke the rules",
) -> Command[Goto]:
    """After validation, the first of these that applies:

    - accept: `candidate` without `errors` becomes the payload and the run goes to `done`;
    - repair: the errors go back to `repair`, at most `MAX_REPAIRS` times (a reply cut at the
      token cap is told so first);
    - salvage: the valid part of the candidate (`salvage()`, None if nothing) goes to `done`;
    - fallback: the offline engine's result (`fallback()`, None if it has none) goes to `done`
      under the offline provider's name, and the model's last try joins `attempts` as
      `invalid_output`: a model that keeps breaking the rules is treated like a dead one;
    - give up: with `give_up`, the run goes there without a payload (also noted in `attempts`);
    - otherwise a `GenerationError` that starts with `failure` and names the first error.

    A reply of the offline engine is neither repaired nor replaced by the fallback: it is
    deterministic, so asking it again would return the same answer.
    """
    tries = state.get("tries", 0)
    report("validate", attempt=tries, errors=len(errors))
    if not errors and candidate is not None:
        return Command(goto=done, update={"payload": candidate, "errors": []})
    if state.get("finish_reason") == "length" and CUT_OFF not in errors:
        errors = [CUT_OFF, *errors]
    reason = errors[0] if errors else "the reply held no result"
    offline = state.get("provider") == OFFLINE_PROVIDER
    if not offline and tries <= MAX_REPAIRS:
        return Command(goto=repair, update={"errors": errors})
    salvaged = salvage() if salvage is not None else None
    if salvaged is not None:
        return Command(goto=done, update={"payload": salvaged, "errors": errors})
    attempts = list(state.get("attempts") or [])
    if not offline:
        attempts.append(invalid_output(state, reason))
        report("attempt_failed", **attempts[-1])
    if fallback is not None and not offline:
        result = fallback()
        report("fallback", reason=reason, found=result is not None)
        if result is not None:
            served: dict[str, Any] = {"payload": result, "provider": OFFLINE_PROVIDER}
            served |= {"model": OFFLINE_MODEL, "errors": errors, "attempts": attempts}
            return Command(goto=done, update=served)
    if give_up is not None:
        empty: dict[str, Any] = {"payload": None, "errors": errors, "attempts": attempts}
        return Command(goto=give_up, update=empty)
    others = len(errors) - 1
    more = f" (and {others} more problem{'s' if others > 1 else ''})" if others else ""
    raise GenerationError(f"{failure}: {reason}{more}")


def final_output(state: Mapping[str, Any]) -> GenerationOutput:
    """The contract's generation output from the run's state."""
    return GenerationOutput(
        payload=state["payload"],
        provider=state["provider"],
        model=state["model"],
        usage=state.get("usage"),
        latency_ms=state.get("latency_ms", 0),
        attempts=list(state.get("attempts") or []),
    )


RETRIEVAL_LIMIT = 40


async def gather_material(
    state: Mapping[str, Any], context: GenerationContext, *, purpose: str
) -> dict[str, Any]:
    """The request's material, or the class's best chunks (`Source N` labelled) when only a
    `class_id` is given; resets the attempt bookkeeping for the generate/validate loop."""
    material = strip_invisible(state.get("material_context") or "").strip()
    class_id = state.get("class_id")
    store = await context.class_store() if class_id and not material else None
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
    return {"context": material, **first_attempt()}


async def class_title(context: GenerationContext, class_id: str | None) -> str:
    """The stored class's title, for a request that named only the class."""
    store = await context.class_store() if class_id else None
    klass = await store.get_class(class_id) if store is not None and class_id else None
    return klass.title if klass is not None else "Class"


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

"""The blueprint graph's nodes."""

from __future__ import annotations

import json
import uuid
from typing import Any, Literal

from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage
from langgraph.runtime import Runtime
from langgraph.types import Command, interrupt

from graphs.blueprint.state import BlueprintState, ReviewRequest
from graphs.shared import budgets
from graphs.shared.context import GenerationOptions, context_of
from graphs.shared.errors import GenerationError
from graphs.shared.progress import report
from graphs.shared.sources import select_chunks
from graphs.shared.state import accepted_payload, first_attempt
from graphs.shared.structured import (
    class_title,
    final_output,
    json_attempt,
    next_step,
    repair_turn,
)
from prompts import blueprint as prompts
from tools.offline.blueprint import offline_blueprint
from tools.payloads.blueprint import material_source_labels, validate_blueprint
from tools.payloads.blueprint import tidy_blueprint as tidy
from tools.store.base import ChunkHit
from tools.text import strip_invisible
from tools.text.injection import fence

MAX_LISTED_ERRORS = 25


class BlueprintRequestError(GenerationError):
    """The request cannot be served as asked (e.g. approval without a class to publish to)."""

    status = 400
    code = "invalid_blueprint_request"


class BlueprintReviewError(GenerationError):
    """The teacher's review decision or edited blueprint was not acceptable."""

    status = 422
    code = "invalid_blueprint_review"


async def prepare(state: BlueprintState, runtime: Runtime[GenerationOptions]) -> dict[str, Any]:
    """Check the request and work out which `Source N` labels the blueprint may cite.

    The server sends the material; a run given only `class_id` (Studio, a script) plans from
    the class's stored chunks under the class's title."""
    context = context_of(runtime)
    material = strip_invisible(state.get("material_text") or "").strip()
    count = max(1, int(state.get("material_count") or 1))
    class_id = state.get("class_id")
    update: dict[str, Any] = {}
    source = "request"
    if not material and class_id and (store := await context.class_store()) is not None:
        material, count = _class_material(select_chunks(await store.class_chunks(class_id)))
        source = "class"
    if not state.get("class_title"):
        update["class_title"] = await class_title(context, class_id)
    if not material:
        raise GenerationError("There is no class material to build a course blueprint from.")
    if state.get("require_approval"):
        if not class_id:
            raise BlueprintRequestError("Approving a blueprint needs the class to publish it to.")
        if await context.class_store() is None:
            raise BlueprintRequestError("Approving a blueprint needs a store to publish it in.")
    labels = material_source_labels(material, material_count=count)
    report("context", source=source, characters=len(material), sources=len(labels))
    return {
        **update,
        "material": material,
        "material_count": count,
        "source_labels": labels,
        **first_attempt(),
        "published": False,
        "blueprint_id": None,
    }


def _class_material(hits: list[ChunkHit]) -> tuple[str, int]:
    """The class's chunks as one `Source N | title | type` block per material, in reading
    order, and the number of materials (the blueprint cites materials, not chunks)."""
    by_material: dict[str, list[ChunkHit]] = {}
    for hit in hits:
        by_material.setdefault(hit.material_id, []).append(hit)
    blocks = []
    for number, chunks in enumerate(by_material.values(), start=1):
        chunks.sort(key=lambda hit: hit.chunk_index)
        first = chunks[0]
        text = "\n\n".join(strip_invisible(hit.content) for hit in chunks)
        blocks.append(f"Source {number} | {first.material_title} | {first.source_type}\n{text}")
    return "\n\n".join(blocks), max(1, len(blocks))


def _messages(state: BlueprintState) -> list[BaseMessage]:
    labels = ", ".join(state["source_labels"])
    messages: list[BaseMessage] = [
        SystemMessage(
            prompts.SYSTEM.format(
                class_title=state["class_title"],
                subject=state.get("subject") or "(not given)",
                level=state.get("level") or "(not given)",
                source_labels=labels,
            )
        ),
        HumanMessage(
            prompts.USER.format(
                class_title=state["class_title"],
                material_count=max(1, int(state.get("material_count") or 1)),
                source_labels=labels,
                material_text=fence(state["material"], "material"),
            )
        ),
    ]
    return [*messages, *repair_turn(state, prompts.REPAIR, max_listed=MAX_LISTED_ERRORS)]


async def generate(state: BlueprintState, runtime: Runtime[GenerationOptions]) -> dict[str, Any]:
    """Ask the model (or the offline engine) for a blueprint; repairs re-ask with the errors."""
    attempt = state.get("tries", 0) + 1
    report("generate", attempt=attempt)

    def offline(_: Any) -> str:
        return json.dumps(_offline(state), ensure_ascii=False)

    options = budgets.BLUEPRINT.options()
    return await json_attempt(state, context_of(runtime), _messages(state), offline, options)


def _offline(state: BlueprintState) -> dict[str, Any]:
    return offline_blueprint(
        state["material"],
        class_title=state["class_title"],
        subject=state.get("subject"),
        level=state.get("level"),
        material_count=max(1, int(state.get("material_count") or 1)),
    )


def _fallback(state: BlueprintState) -> dict[str, Any] | None:
    """The offline engine's blueprint, when it keeps the blueprint rules itself."""
    blueprint = tidy(_offline(state))
    return (
        None if validate_blueprint(blueprint, source_labels=state["source_labels"]) else blueprint
    )


async def validate(state: BlueprintState) -> Command[Literal["generate", "review"]]:
    """Check every contract rule; send errors back for repair at most twice, then fall back to
    the offline engine's blueprint (the teacher reviews a draft either way)."""
    candidate = state.get("candidate")
    if candidate is None:
        errors = ["The reply was not a JSON object holding the blueprint."]
    else:
        candidate = tidy(candidate)
        errors = validate_blueprint(
            candidate, source_labels=state["source_labels"], material=state["material"]
        )
    # No salvage: half a course plan is not a blueprint. The offline plan is a whole one.
    return next_step(
        state,
        candidate=candidate,
        errors=errors,
        done="review",
        repair="generate",
        fallback=lambda: _fallback(state),
        failure=(
            "The course blueprint could not be generated from this material: the answer broke "
            "the blueprint rules"
        ),
    )


def _decision(value: Any, labels: list[str]) -> tuple[bool, dict[str, Any] | None]:
    if not isinstance(value, dict) or not isinstance(value.get("approved", False), bool):
        raise BlueprintReviewError(
            'The review decision must be an object such as {"approved": true, "payload": {...}}.'
        )
    edited = value.get("payload")
    if edited is None:
        return value.get("approved", False), None
    if not isinstance(edited, dict):
        raise BlueprintReviewError("The edited blueprint must be a JSON object.")
    edited = tidy(edited)
    errors = validate_blueprint(edited, source_labels=labels)
    if errors:
        more = f" (and {len(errors) - 1} more problems)" if len(errors) > 1 else ""
        raise BlueprintReviewError(f"The edited blueprint is not valid: {errors[0]}{more}")
    return value.get("approved", False), edited


async def review(state: BlueprintState) -> Command[Literal["publish", "finalize"]]:
    """Pause for the teacher when approval is required; an edited draft is validated again.

    Resuming re-runs this node from the top, so nothing before `interrupt` has side effects.
    """
    if not state.get("require_approval"):
        return Command(goto="finalize", update={"published": False, "blueprint_id": None})
    draft = accepted_payload(state)
    request = ReviewRequest(draft=draft, class_id=state.get("class_id"))
    report("review", waiting=True)
    approved, edited = _decision(interrupt(request), state["source_labels"])
    payload = edited if edited is not None else draft
    report("review", waiting=False, approved=approved, edited=edited is not None)
    update = {"payload": payload, "published": False, "blueprint_id": None}
    return Command(goto="publish" if approved else "finalize", update=update)


async def publish(state: BlueprintState, runtime: Runtime[GenerationOptions]) -> dict[str, Any]:
    """Archive the class's published blueprint and publish this one, in one transaction."""
    store = await context_of(runtime).class_store()
    class_id = state.get("class_id")
    if store is None or not class_id:
        raise BlueprintRequestError("Publishing a blueprint needs a class and a store.")
    blueprint_id = str(uuid.uuid4())
    await store.publish_blueprint(class_id, blueprint_id, accepted_payload(state))
    report("publish", class_id=class_id, blueprint_id=blueprint_id)
    return {"published": True, "blueprint_id": blueprint_id}


async def finalize(state: BlueprintState) -> dict[str, Any]:
    """Return the validated blueprint with the provider that wrote it."""
    output = final_output(state)
    published = state.get("published", False)
    report("done", topics=len(output["payload"]["topics"]), published=published)
    return {
        **output,
        "published": published,
        "blueprint_id": state.get("blueprint_id") if published else None,
    }

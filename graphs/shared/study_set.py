"""Study sets from class material (a quiz's questions, a deck of flashcards): one set of nodes,
parameterised by what differs between them — prompts, validator, offline engine, tidying."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, Literal, Protocol, TypeVar

from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage
from langgraph.runtime import Runtime
from langgraph.types import Command

from graphs.shared.budgets import Budget
from graphs.shared.context import GenerationOptions, context_of
from graphs.shared.progress import report
from graphs.shared.state import GenerationOutput, GenerationState
from graphs.shared.structured import (
    class_title,
    final_output,
    gather_material,
    json_attempt,
    next_step,
    repair_turn,
)
from tools.text import strip_invisible
from tools.text.injection import fence


class Prompts(Protocol):
    """A prompts module: `SYSTEM` and `USER` take the class title, the count field and the
    request's texts; `REPAIR` takes `{errors}`."""

    SYSTEM: str
    USER: str
    REPAIR: str


S = TypeVar("S", bound=GenerationState)


@dataclass(frozen=True, kw_only=True)
class StudySet(Generic[S]):
    """What makes one kind of study set (`S`: its graph's state); its methods are the nodes.

    Annotated with the type variable, a node gets the graph's whole state from LangGraph (a
    concrete TypedDict would narrow its input to that schema's keys); inside, the fields are
    read by name from `count_field` and friends, so the state is read as a mapping.
    """

    what: str
    """Names the set in error messages ("quiz", "flashcards")."""
    purpose: str
    """What is written, for "There is no class material to write {purpose} from."."""
    items_key: str
    """The payload's list (`questions`, `cards`): what is salvaged and counted."""
    count_field: str
    """The input field with the number of items asked for; the prompts, the validator and the
    offline engine take it by this name."""
    prompts: Prompts
    validator: Callable[..., list[str]]
    """`validator(payload, material=…, **{count_field: n})`: every broken rule, empty when
    valid (no item may carry an instruction planted in `material`)."""
    offline: Callable[..., dict[str, Any]]
    """`offline(material, **{count_field: n}, instructions=…, blueprint=…)`: the offline set."""
    tidy: Callable[[dict[str, Any]], dict[str, Any]]
    """Trims what a model adds around the items; validation judges what is left."""
    item_key: Callable[[dict[str, Any]], str]
    """Two valid items with the same key are duplicates (salvage keeps the first)."""
    budget: Budget
    """Temperature and output cap per call; items are counted by `count_field`."""
    default_count: int = 5
    """The number of items when the request names none (a run given only a class id)."""
    material_tag: str | None = None
    """The tag `USER` wraps the material in, which the material must not be able to close."""

    async def gather_context(self, state: S, runtime: Runtime[GenerationOptions]) -> dict[str, Any]:
        """Use the request's material, or retrieve the class's when only `class_id` is set.

        The server always sends the whole request; Studio or a script may send only a class
        id, so a missing count or class title gets its default here."""
        fields: Mapping[str, Any] = state
        context = context_of(runtime)
        update = await gather_material(fields, context, purpose=self.purpose)
        if not fields.get(self.count_field):
            update[self.count_field] = self.default_count
        if not fields.get("class_title"):
            update["class_title"] = await class_title(context, fields.get("class_id"))
        return update

    def _messages(self, state: Mapping[str, Any]) -> list[BaseMessage]:
        count = {self.count_field: state[self.count_field]}
        material: str = state["context"]
        if self.material_tag:
            material = fence(material, self.material_tag)
        blueprint = strip_invisible(state.get("blueprint_context") or "") or "(none)"
        messages: list[BaseMessage] = [
            SystemMessage(self.prompts.SYSTEM.format(class_title=state["class_title"], **count)),
            HumanMessage(
                self.prompts.USER.format(
                    instructions=state.get("instructions") or "(none)",
                    blueprint_context=blueprint,
                    material_context=material,
                    **count,
                )
            ),
        ]
        return [*messages, *repair_turn(state, self.prompts.REPAIR)]

    async def generate(self, state: S, runtime: Runtime[GenerationOptions]) -> dict[str, Any]:
        """Ask the model (or the offline engine) for the set; repairs re-ask with the errors."""
        fields: Mapping[str, Any] = state
        report("generate", attempt=fields.get("tries", 0) + 1)

        def offline(_: Any) -> str:
            return json.dumps(self._offline_set(fields), ensure_ascii=False)

        options = self.budget.options(int(fields[self.count_field]))
        return await json_attempt(
            fields, context_of(runtime), self._messages(fields), offline, options
        )

    def _offline_set(self, fields: Mapping[str, Any]) -> dict[str, Any]:
        return self.offline(
            fields["context"],
            instructions=fields.get("instructions") or "",
            blueprint=fields.get("blueprint_context") or "",
            **{self.count_field: fields[self.count_field]},
        )

    def fallback(self, fields: Mapping[str, Any]) -> dict[str, Any] | None:
        """The offline engine's set for a model that stayed invalid: whole when valid, else
        its valid items, else None."""
        count: int = fields[self.count_field]
        offline = self.tidy(self._offline_set(fields))
        if not self.validator(offline, **{self.count_field: count}):
            return offline
        return self.salvage(offline, count)

    def salvage(
        self, candidate: dict[str, Any] | None, count: int, material: str = ""
    ) -> dict[str, Any] | None:
        """The valid, distinct items of a set that could not be fully repaired, if any."""
        items = candidate.get(self.items_key) if candidate else None
        if not isinstance(items, list):
            return None
        kept: list[dict[str, Any]] = []
        seen: set[str] = set()
        for item in items:
            if self.validator({self.items_key: [item]}, material=material, **{self.count_field: 1}):
                continue
            key = self.item_key(item)
            if key not in seen:
                seen.add(key)
                kept.append(item)
        return {self.items_key: kept[:count]} if kept else None

    async def validate(self, state: S) -> Command[Literal["generate", "finalize"]]:
        """Check every contract rule: repair, salvage the valid items, fall back to the
        offline engine's set, or fail."""
        fields: Mapping[str, Any] = state
        candidate: dict[str, Any] | None = fields.get("candidate")
        count: int = fields[self.count_field]
        if candidate is None:
            shape = f'{{"{self.items_key}": [...]}}'
            errors = [f"The reply was not a JSON object of the form {shape}."]
        else:
            candidate = self.tidy(candidate)
            errors = self.validator(
                candidate, material=fields["context"], **{self.count_field: count}
            )
        return next_step(
            fields,
            candidate=candidate,
            errors=errors,
            done="finalize",
            repair="generate",
            salvage=lambda: self.salvage(candidate, count, fields["context"]),
            fallback=lambda: self.fallback(fields),
            failure=(
                f"The {self.what} could not be generated from this material: the answer broke "
                f"the {self.what} rules"
            ),
        )

    async def finalize(self, state: S) -> GenerationOutput:
        """Publish the validated set with the provider that wrote it."""
        output = final_output(state)
        report("done", **{self.items_key: len(output["payload"][self.items_key])})
        return output

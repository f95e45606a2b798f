"""`next_step`, the one decision after validation, on a tiny generate → validate graph."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

import pytest
from langgraph.graph import END, START, StateGraph
from langgraph.types import Command

from graphs.shared.errors import GenerationError
from graphs.shared.state import GenerationState
from graphs.shared.structured import CUT_OFF, MAX_REPAIRS, final_output, next_step
from tools.models.offline import OFFLINE_MODEL, OFFLINE_PROVIDER

GOOD = {"items": ["valid"]}
BAD = {"items": ["broken"]}
SALVAGED = {"items": ["the valid part"]}
OFFLINE = {"items": ["from the offline engine"]}
Hook = Callable[[], dict[str, Any] | None]


class Loop:
    """A generate → validate loop whose replies are scripted; it counts every hook call."""

    def __init__(
        self,
        *replies: dict[str, Any] | None,
        provider: str = "openai",
        salvage: dict[str, Any] | None = None,
        fallback: dict[str, Any] | None = None,
        hooks: tuple[str, ...] = (),
        give_up: bool = False,
    ) -> None:
        self.replies = list(replies)
        self.provider = provider
        self.results = {"salvage": salvage, "fallback": fallback}
        self.hooks = hooks
        self.give_up = give_up
        self.generated = 0
        self.calls: list[str] = []
        self.asked_to_fix: list[list[str]] = []

    def _hook(self, name: str) -> Hook | None:
        if name not in self.hooks:
            return None

        def hook() -> dict[str, Any] | None:
            self.calls.append(name)
            return self.results[name]

        return hook

    def graph(self) -> Any:
        async def generate(state: GenerationState) -> dict[str, Any]:
            candidate = self.replies[self.generated]
            self.generated += 1
            self.asked_to_fix.append(list(state.get("errors") or []))
            return {
                "tries": state.get("tries", 0) + 1,
                "candidate": candidate,
                "provider": self.provider,
                "model": OFFLINE_MODEL if self.provider == OFFLINE_PROVIDER else "fake",
            }

        async def validate(
            state: GenerationState,
        ) -> Command[Literal["generate", "finalize", "nothing"]]:
            candidate = state.get("candidate")
            errors = [] if candidate == GOOD else ["items[0] is broken.", "items is too short."]
            return next_step(
                state,
                candidate=candidate,
                errors=errors,
                done="finalize",
                repair="generate",
                salvage=self._hook("salvage"),
                fallback=self._hook("fallback"),
                give_up="nothing" if self.give_up else None,
                failure="The test set could not be made",
            )

        async def finalize(state: GenerationState) -> dict[str, Any]:
            return {"latency_ms": 1}

        async def nothing(state: GenerationState) -> dict[str, Any]:
            return {"latency_ms": 2}

        builder = StateGraph(GenerationState)
        for node in (generate, validate, finalize, nothing):
            builder.add_node(node)
        builder.add_edge(START, "generate")
        builder.add_edge("generate", "validate")
        builder.add_edge("finalize", END)
        builder.add_edge("nothing", END)
        return builder.compile()

    async def run(self) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """The final state and the progress events."""
        values: dict[str, Any] = {}
        events: list[dict[str, Any]] = []
        async for mode, data in self.graph().astream(
            {"tries": 0}, stream_mode=["custom", "values"]
        ):
            if mode == "custom":
                events.append(data)
            else:
                values = data
        return values, events


async def test_a_valid_candidate_is_accepted_at_once() -> None:
    loop = Loop(GOOD, hooks=("salvage", "fallback"))
    state, events = await loop.run()
    assert (state["payload"], state["errors"], state["provider"]) == (GOOD, [], "openai")
    assert state["latency_ms"] == 1  # finalize ran
    assert events == [{"stage": "validate", "attempt": 1, "errors": 0}]
    assert loop.generated == 1 and loop.calls == []


async def test_a_model_is_asked_to_repair_at_most_max_repairs_times() -> None:
    assert MAX_REPAIRS == 2
    repaired = Loop(BAD, BAD, GOOD)
    state, events = await repaired.run()
    assert state["payload"] == GOOD and repaired.generated == 3
    assert [e["errors"] for e in events] == [2, 2, 0]

    exhausted = Loop(BAD, BAD, BAD, GOOD)
    with pytest.raises(GenerationError) as failure:
        await exhausted.run()
    assert exhausted.generated == 3
    assert str(failure.value) == (
        "The test set could not be made: items[0] is broken. (and 1 more problem)"
    )


async def test_the_offline_engine_is_never_repaired_nor_replaced_by_itself() -> None:
    loop = Loop(BAD, GOOD, provider=OFFLINE_PROVIDER, hooks=("fallback",))
    with pytest.raises(GenerationError, match="could not be made: items\\[0\\] is broken"):
        await loop.run()
    assert loop.generated == 1 and loop.calls == []


async def test_salvage_keeps_the_valid_part_under_the_writers_name() -> None:
    loop = Loop(BAD, BAD, BAD, salvage=SALVAGED, hooks=("salvage", "fallback"), give_up=True)
    state, _ = await loop.run()
    assert state["payload"] == SALVAGED and state["provider"] == "openai"
    assert state["errors"] == ["items[0] is broken.", "items is too short."]
    assert loop.calls == ["salvage"] and state["latency_ms"] == 1
    # The model's own (partial) work was served: no failed attempt to report.
    assert state.get("attempts", []) == []


async def test_an_offline_reply_may_still_be_salvaged() -> None:
    loop = Loop(BAD, provider=OFFLINE_PROVIDER, salvage=SALVAGED, hooks=("salvage",))
    state, _ = await loop.run()
    assert state["payload"] == SALVAGED and state["provider"] == OFFLINE_PROVIDER


async def test_the_fallback_is_published_as_the_offline_engines() -> None:
    loop = Loop(BAD, BAD, BAD, fallback=OFFLINE, hooks=("salvage", "fallback"))
    state, events = await loop.run()
    assert state["payload"] == OFFLINE
    assert (state["provider"], state["model"]) == (OFFLINE_PROVIDER, OFFLINE_MODEL)
    assert loop.calls == ["salvage", "fallback"]
    assert {"stage": "fallback", "reason": "items[0] is broken.", "found": True} in events
    # The model that stayed invalid is reported like a provider that failed.
    failed = {
        "provider": "openai",
        "model": "fake",
        "error": "invalid_output",
        "message": "The reply broke the rules after 2 repairs: items[0] is broken.",
    }
    assert state["attempts"] == [failed]
    assert {"stage": "attempt_failed", **failed} in events


async def test_without_any_result_the_run_gives_up_where_told() -> None:
    loop = Loop(BAD, BAD, BAD, hooks=("fallback",), give_up=True)
    state, events = await loop.run()
    assert state["payload"] is None and state["latency_ms"] == 2  # `nothing` ran
    assert state["provider"] == "openai"
    assert {"stage": "fallback", "reason": "items[0] is broken.", "found": False} in events
    assert [a["error"] for a in state["attempts"]] == ["invalid_output"]

    offline = Loop(BAD, provider=OFFLINE_PROVIDER, hooks=("fallback",), give_up=True)
    state, _ = await offline.run()
    assert state["payload"] is None and offline.calls == []


async def test_without_a_result_or_a_place_to_give_up_the_run_fails() -> None:
    loop = Loop(None, None, None, hooks=("salvage", "fallback"))
    with pytest.raises(GenerationError, match="^The test set could not be made: items"):
        await loop.run()
    assert loop.calls == ["salvage", "fallback"]


def test_final_output_is_the_contracts_shape() -> None:
    state = {
        "payload": GOOD,
        "provider": "openai",
        "model": "fake",
        "usage": None,
        "latency_ms": 12,
        "tries": 2,
        "attempts": [FAILED],
        "reply_text": "{}",
    }
    assert final_output(state) == {
        "payload": GOOD,
        "provider": "openai",
        "model": "fake",
        "usage": None,
        "latency_ms": 12,
        "attempts": [FAILED],
    }
    bare = final_output({"payload": GOOD, "provider": OFFLINE_PROVIDER, "model": OFFLINE_MODEL})
    assert (bare["usage"], bare["latency_ms"], bare["attempts"]) == (None, 0, [])


FAILED = {"provider": "openrouter", "model": "m", "error": "http_500", "message": "down"}


async def test_a_reply_cut_at_the_token_cap_is_told_so_in_the_repair() -> None:
    loop = Loop(BAD, GOOD)
    graph = loop.graph()
    state = await graph.ainvoke({"tries": 0, "finish_reason": "length"})
    assert state["payload"] == GOOD and loop.generated == 2
    # The repair's errors start with the cut-off notice, then what the reply broke.
    assert loop.asked_to_fix == [[], [CUT_OFF, "items[0] is broken.", "items is too short."]]

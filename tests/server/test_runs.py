"""`start_run` prepares every run; `run_to_completion` and the stream execute it. Tiny inline
graphs stand in for the features' graphs (only the registry names are real)."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime
from langgraph.types import Command, interrupt
from typing_extensions import TypedDict

from graphs.shared.errors import GenerationError
from server.errors import ApiError
from server.registry import GraphRegistry
from server.runs import run_to_completion, start_run


class TextState(TypedDict):
    text: str


@dataclass(frozen=True, kw_only=True)
class Prefix:
    prefix: str = ""


async def shout(state: TextState, runtime: Runtime[Prefix]) -> dict[str, Any]:
    if state["text"] == "fail":
        raise GenerationError("The model's answer broke the rules.")
    return {"text": runtime.context.prefix + state["text"].upper()}


def ask(state: TextState) -> dict[str, Any]:
    answer = interrupt({"question": state["text"]})
    return {"text": f"{state['text']}:{answer}"}


def _one_shot() -> Any:
    builder = StateGraph(TextState, context_schema=Prefix)
    builder.add_node(shout)
    builder.add_edge(START, "shout")
    builder.add_edge("shout", END)
    return builder.compile(name="quiz")


def _review(saver: InMemorySaver) -> Any:
    builder = StateGraph(TextState, context_schema=Prefix)
    builder.add_node(shout)
    builder.add_node(ask)
    builder.add_edge(START, "shout")
    builder.add_edge("shout", "ask")
    builder.add_edge("ask", END)
    return builder.compile(name="blueprint", checkpointer=saver)


@pytest.fixture
def saver() -> InMemorySaver:
    return InMemorySaver()


@pytest.fixture
def graphs(saver: InMemorySaver) -> GraphRegistry:
    return {"quiz": _one_shot(), "blueprint_review": _review(saver)}


async def test_a_one_shot_run_gets_its_own_run_id_thread_and_no_durability(
    graphs: GraphRegistry,
) -> None:
    given = {"text": "newton"}
    first = start_run(graphs, "quiz", input=given, context=Prefix(prefix="> "), error_code="e")
    second = start_run(graphs, "quiz", input=given, context=Prefix(), error_code="e")
    given["text"] = "changed after the run was prepared"
    assert first.run_id != second.run_id
    assert first.thread_id == first.run_id
    assert first.config == {
        "configurable": {"thread_id": first.run_id},
        "run_id": uuid.UUID(first.run_id),
    }
    assert first.durability is None
    assert await run_to_completion(first) == {"text": "> NEWTON"}


async def test_a_checkpointed_run_keeps_one_checkpoint_and_resumes_on_its_thread(
    graphs: GraphRegistry, saver: InMemorySaver
) -> None:
    draft = str(uuid.uuid4())
    waiting = await run_to_completion(
        start_run(
            graphs,
            "blueprint_review",
            input={"text": "draft"},
            thread_id=draft,
            context=Prefix(),
            error_code="e",
        )
    )
    assert waiting["text"] == "DRAFT" and waiting["__interrupt__"][0].value == {"question": "DRAFT"}
    config = {"configurable": {"thread_id": draft}}
    # Durability "exit": one checkpoint when the run ends, none for each step on the way.
    assert len([c async for c in saver.alist(config)]) == 1  # type: ignore[arg-type]

    resumed = start_run(
        graphs,
        "blueprint_review",
        resume="approved",
        thread_id=draft,
        context=Prefix(),
        error_code="e",
    )
    assert isinstance(resumed.input, Command) and resumed.input.resume == "approved"
    assert resumed.durability == "exit" and resumed.thread_id == draft
    assert await run_to_completion(resumed) == {"text": "DRAFT:approved"}


def test_runs_that_cannot_be_what_they_ask_for_are_refused(graphs: GraphRegistry) -> None:
    with pytest.raises(ValueError, match="either new input or a resume value"):
        start_run(graphs, "quiz", context=Prefix(), error_code="e")
    with pytest.raises(ValueError, match="either new input or a resume value"):
        start_run(graphs, "quiz", input={"text": "a"}, resume="b", context=None, error_code="e")
    with pytest.raises(ValueError, match="keeps threads"):
        start_run(graphs, "blueprint_review", input={"text": "a"}, context=None, error_code="e")
    with pytest.raises(ValueError, match="keeps no checkpoints"):
        start_run(graphs, "quiz", input={"text": "a"}, thread_id="t", context=None, error_code="e")
    with pytest.raises(ValueError, match="keeps no checkpoints"):
        start_run(graphs, "quiz", resume="yes", context=None, error_code="e")


async def test_run_to_completion_records_success_then_cleans_up(graphs: GraphRegistry) -> None:
    events: list[Any] = []

    async def on_success(values: Any) -> None:
        events.append(("success", dict(values)))

    async def cleanup(succeeded: bool) -> None:
        events.append(("cleanup", succeeded))

    run = start_run(
        graphs,
        "quiz",
        input={"text": "joule"},
        context=Prefix(),
        error_code="e",
        to_data=lambda values: {"shown": values["text"]},
        on_success=on_success,
        cleanup=cleanup,
    )
    assert await run_to_completion(run) == {"shown": "JOULE"}
    assert events == [("success", {"text": "JOULE"}), ("cleanup", True)]


async def test_run_to_completion_raises_failures_as_raised_and_still_cleans_up(
    graphs: GraphRegistry,
) -> None:
    cleaned: list[bool] = []

    async def cleanup(succeeded: bool) -> None:
        cleaned.append(succeeded)

    async def broken_record(values: Any) -> None:
        raise ConnectionError("the database went away")

    failing = start_run(
        graphs, "quiz", input={"text": "fail"}, context=Prefix(), error_code="e", cleanup=cleanup
    )
    with pytest.raises(GenerationError, match="broke the rules"):
        await run_to_completion(failing)
    unrecorded = start_run(
        graphs,
        "quiz",
        input={"text": "watt"},
        context=Prefix(),
        error_code="e",
        on_success=broken_record,
        cleanup=cleanup,
    )
    with pytest.raises(ConnectionError):
        await run_to_completion(unrecorded)
    assert cleaned == [False, False]


async def test_stream_parts_come_from_the_same_prepared_run(graphs: GraphRegistry) -> None:
    run = start_run(graphs, "quiz", input={"text": "volt"}, context=Prefix(), error_code="e")
    parts = [part async for part in run.astream(["updates", "values"])]
    assert [part["type"] for part in parts] == ["values", "updates", "values"]
    assert parts[-1]["data"] == {"text": "VOLT"}


def test_failures_map_to_the_route_s_envelope_error(
    graphs: GraphRegistry, caplog: pytest.LogCaptureFixture
) -> None:
    run = start_run(graphs, "quiz", input={"text": "a"}, context=None, error_code="quiz_error")

    class Unrepairable(GenerationError):
        status = 422
        code = "payload_invalid"

    plain = run.failure(GenerationError("No model answered."))
    assert (plain.status, plain.code, plain.message) == (502, "quiz_error", "No model answered.")
    own = run.failure(Unrepairable("Still invalid."))
    assert (own.status, own.code) == (422, "payload_invalid")
    already = ApiError(409, "session_busy", "Busy.")
    assert run.failure(already) is already
    with caplog.at_level(logging.ERROR, logger="stemgraph.runs"):
        bug = run.failure(KeyError("payload"))
    assert (bug.status, bug.code) == (500, "internal_error")
    assert "run failed" in caplog.text and "KeyError" in caplog.text

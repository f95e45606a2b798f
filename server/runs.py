"""One way to run a graph: `start_run` prepares every run, the callers below execute it.

A prepared `GraphRun` is executed once, by `run_to_completion` (in-process callers: the teaching
brief, the materials worker), by `streaming.run_json` (the JSON envelope) or by
`streaming.stream_events` (SSE). All of them call the graph through `GraphRun.ainvoke` /
`GraphRun.astream`, so the config, context and durability are decided here and nowhere else.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.types import Command, Durability, StreamMode

from graphs.shared.errors import GenerationError
from server.errors import ApiError
from server.registry import CompiledGraph, GraphName, GraphRegistry

logger = logging.getLogger("stemgraph.runs")

ToData = Callable[[Mapping[str, Any]], Any]
OnSuccess = Callable[[Mapping[str, Any]], Awaitable[None]]
Cleanup = Callable[[bool], Awaitable[None]]
Conclude = Callable[[Mapping[str, Any] | Exception], Awaitable[Any]]

# One checkpoint per run, written when it ends: a chat turn or a draft is resumed only from its
# end, and intermediate checkpoints would only be pruned again.
CHECKPOINTED_DURABILITY: Durability = "exit"


@dataclass(frozen=True, slots=True)
class GraphRun:
    """One prepared run of a compiled graph for one request."""

    name: GraphName
    graph: CompiledGraph
    input: dict[str, Any] | Command[Any]
    context: Any
    run_id: str
    thread_id: str
    error_code: str
    to_data: ToData
    # Set only when the graph has a checkpointer (LangGraph warns about durability without one).
    durability: Durability | None = None
    # Awaited with the final values before they are returned (e.g. record generated content);
    # if it raises, the run counts as failed.
    on_success: OnSuccess | None = None
    # Runs after the run ends however it ends (lease release, checkpoint pruning, guest slot),
    # told whether the caller got a result.
    cleanup: Cleanup | None = None
    # Replaces `to_data` and `on_success` for a run whose answer needs I/O or whose reported
    # failures are ordinary outcomes (the teaching brief stores how its build ended and answers
    # with the stored row): called with the final values or the error the graph raised, it
    # returns the caller's data or raises.
    conclude: Conclude | None = None

    @property
    def config(self) -> RunnableConfig:
        return {"configurable": {"thread_id": self.thread_id}, "run_id": uuid.UUID(self.run_id)}

    async def ainvoke(self) -> Mapping[str, Any]:
        """The graph's final values."""
        result: Mapping[str, Any] = await self.graph.ainvoke(
            self.input, self.config, context=self.context, durability=self.durability
        )
        return result

    def astream(self, stream_mode: Sequence[StreamMode]) -> AsyncIterator[Any]:
        """The graph's v2 stream parts (`{"type", "ns", "data"}`) in `stream_mode`."""
        return self.graph.astream(
            self.input,
            self.config,
            context=self.context,
            stream_mode=list(stream_mode),
            version="v2",
            durability=self.durability,
        )

    async def result(self, outcome: Mapping[str, Any] | Exception) -> Any:
        """The caller's data for how the graph ended (its final values, or the error it raised);
        raises when the run failed."""
        if self.conclude is not None:
            return await self.conclude(outcome)
        if isinstance(outcome, Exception):
            raise outcome
        data = self.to_data(outcome)
        if self.on_success is not None:
            await self.on_success(outcome)
        return data

    def failure(self, error: Exception) -> ApiError:
        """The envelope error for a failed run (model/generation failures are 502s)."""
        if isinstance(error, ApiError):
            return error
        if isinstance(error, GenerationError):
            return ApiError(error.status, error.code or self.error_code, str(error))
        logger.exception(
            "run failed", extra={"run_id": self.run_id, "graph": self.name}, exc_info=error
        )
        return ApiError(500, "internal_error", "Something went wrong on our side.")


def start_run(
    graphs: GraphRegistry,
    name: GraphName,
    *,
    context: Any,
    error_code: str,
    input: Mapping[str, Any] | None = None,
    resume: Any = None,
    thread_id: str | None = None,
    to_data: ToData = dict,
    on_success: OnSuccess | None = None,
    cleanup: Cleanup | None = None,
    conclude: Conclude | None = None,
) -> GraphRun:
    """Prepare a run of `graphs[name]`: a fresh run id, the thread, the config, new `input` or
    `Command(resume=resume)`, and durability when the graph keeps checkpoints.

    A checkpointed graph needs the `thread_id` to keep (a chat session, a blueprint draft); any
    other graph runs on a thread of its own run id and cannot be resumed.
    """
    if (input is None) == (resume is None):
        raise ValueError("A run takes either new input or a resume value.")
    graph = graphs[name]
    checkpointed = graph.checkpointer is not None
    if checkpointed and thread_id is None:
        raise ValueError(f"The {name} graph keeps threads: name the thread to run on.")
    if not checkpointed and (thread_id is not None or resume is not None):
        raise ValueError(f"The {name} graph keeps no checkpoints: it has no thread to resume.")
    run_id = str(uuid.uuid4())
    return GraphRun(
        name=name,
        graph=graph,
        input=Command(resume=resume) if resume is not None else dict(input or {}),
        context=context,
        run_id=run_id,
        thread_id=thread_id or run_id,
        error_code=error_code,
        to_data=to_data,
        durability=CHECKPOINTED_DURABILITY if checkpointed else None,
        on_success=on_success,
        cleanup=cleanup,
        conclude=conclude,
    )


async def run_to_completion(run: GraphRun) -> Any:
    """Run to the end and return the run's data (`GraphRun.result`); `cleanup` runs however
    the run ends. Errors propagate as raised: the caller decides what they mean."""
    succeeded = False
    try:
        outcome: Mapping[str, Any] | Exception
        try:
            outcome = await run.ainvoke()
        except Exception as error:  # noqa: BLE001 - `result` re-raises it unless concluded
            outcome = error
        data = await run.result(outcome)
        succeeded = True
        return data
    finally:
        if run.cleanup is not None:
            await run.cleanup(succeeded)

"""What flows through the data-query graph."""

from __future__ import annotations

from typing import Any, NotRequired

from typing_extensions import TypedDict

from graphs.shared.state import GenerationState


class DataQueryInput(TypedDict):
    class_id: str
    # The teacher's question; at the end the same key carries the structured query that ran.
    query: str
    # The date relative words ("this month") count from, as YYYY-MM-DD; today (UTC) when unset.
    as_of: NotRequired[str | None]


class DataQueryOutput(TypedDict):
    spec: dict[str, Any]
    provider: str
    model: str
    # The validated `DataQuery` that produced the chart; None when the question was unanswerable.
    query: dict[str, Any] | None
    # Calls that did not serve the plan (`Attempt.as_wire()`); empty when the first answered.
    attempts: list[dict[str, str]]


class DataQueryState(DataQueryInput, GenerationState, total=False):
    # `payload` is the accepted structured query (None: unanswerable), `rows` what it read.
    question: str
    catalog: dict[str, Any]
    rows: list[list[Any]]
    spec: dict[str, Any]
